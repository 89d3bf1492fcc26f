"""Paying a supplier order: the order pipeline owns its status, billing takes the money.

`pay_supplier_order` locks the supplier order's row and asks billing for the charge: on payment
terms at once; by card in two steps, the pending attempt committed first and Stripe called after,
with the row locked again so concurrent callers wait and then find the charge settled. Billing
answers with a PaymentResult and this module applies it: PAID, or PAYMENT_FAILED with a reason
the retailer is told once (email and dashboard). Stripe's own word on a PaymentIntent (webhooks,
orders/webhooks/stripe.py) is applied the same way. After a retailer's card changes (or it asks),
`retry_failed_payments` pays the held ones for the pipeline to dispatch.

Stripe down, rate limiting or a timeout raise billing's StripeTemporaryError with the charge left
PENDING and the supplier order as it was, for the caller's task to retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing.models import Charge
from billing.services import (
    PaymentError,
    PaymentResult,
    StripeTemporaryError,
    charge_on_terms,
    confirm_card_charge,
    find_card_charge_for_intent,
    find_paid_charge,
    finish_on_session_payment,
    open_card_charge,
    record_payment_intent_failed,
    record_payment_intent_succeeded,
    start_on_session_payment,
    void_card_charge,
)
from dropship.accounts.models import Notification
from dropship.core.money import format_money
from orders.models import SupplierOrder
from retailers.models import NoticeKind, Retailer
from retailers.services.notices import send_retailer_notice

logger = logging.getLogger(__name__)

PAYABLE_STATUSES = {SupplierOrder.Status.PENDING, SupplierOrder.Status.PAYMENT_FAILED}
NO_WAY_TO_PAY = "No way to pay yet: add a card on your billing page, or ask us for payment terms."


@dataclass(frozen=True)
class SupplierOrderPayment:
    """Where paying left the supplier order: `is_paid`, `paid_now` (this call took the money,
    False when it was paid before), its charge, and `message`, why it waits when it is not paid
    (its status reason)."""

    supplier_order: SupplierOrder
    charge: Charge | None
    is_paid: bool
    message: str = ""
    paid_now: bool = False


def _lock_supplier_order(pk: int) -> SupplierOrder:
    return (
        SupplierOrder.objects.select_for_update(of=("self",))
        .select_related("order__retailer", "supplier")
        .get(pk=pk)
    )


def pay_supplier_order(
    *, supplier_order: SupplierOrder, retry_same_card: bool = False
) -> SupplierOrderPayment:
    """Pay for a supplier order; safe to call twice and concurrently (a paid order is returned
    as it is). Call it outside a transaction (from a task) so the pending charge is committed
    before Stripe is called. Raises StripeTemporaryError when Stripe cannot answer now."""
    with transaction.atomic():
        supplier_order = _lock_supplier_order(supplier_order.pk)
        if supplier_order.status not in PAYABLE_STATUSES:
            return _settled(supplier_order)
        paid = find_paid_charge(supplier_order=supplier_order)
        if paid is not None:  # the money was taken; only the status lagged behind (never twice)
            logger.warning(
                "%s was %s with a paid charge", supplier_order.number, supplier_order.status
            )
            _mark_paid(supplier_order=supplier_order)
            return SupplierOrderPayment(supplier_order=supplier_order, charge=paid, is_paid=True)
        retailer = supplier_order.order.retailer
        if retailer.has_payment_terms:
            result = charge_on_terms(supplier_order=supplier_order, retailer=retailer)
            return _apply(supplier_order=supplier_order, result=result)
        if not (retailer.stripe_customer_id and retailer.stripe_payment_method_id):
            _mark_payment_failed(supplier_order=supplier_order, reason=NO_WAY_TO_PAY)
            return SupplierOrderPayment(
                supplier_order=supplier_order, charge=None, is_paid=False, message=NO_WAY_TO_PAY
            )
        charge = open_card_charge(
            supplier_order=supplier_order, retailer=retailer, retry_same_card=retry_same_card
        )
        if charge.status != Charge.Status.PENDING:  # declined before on this very card
            return SupplierOrderPayment(
                supplier_order=supplier_order,
                charge=charge,
                is_paid=False,
                message=supplier_order.status_reason,
            )
    with transaction.atomic():
        supplier_order = _lock_supplier_order(supplier_order.pk)
        if supplier_order.status not in PAYABLE_STATUSES:
            # Cancelled (or paid otherwise) while this attempt waited: never charge it now.
            void_card_charge(
                supplier_order=supplier_order,
                charge_id=charge.pk,
                reason=f"Not charged: {supplier_order.number} is "
                f"{supplier_order.get_status_display().lower()}.",
            )
            return _settled(supplier_order)
        result = confirm_card_charge(supplier_order=supplier_order, charge_id=charge.pk)
        return _apply(supplier_order=supplier_order, result=result)


def _settled(supplier_order: SupplierOrder) -> SupplierOrderPayment:
    paid = find_paid_charge(supplier_order=supplier_order)
    return SupplierOrderPayment(
        supplier_order=supplier_order,
        charge=paid,
        is_paid=paid is not None,
        message=supplier_order.status_reason,
    )


def _apply(*, supplier_order: SupplierOrder, result: PaymentResult) -> SupplierOrderPayment:
    """Move the (locked) supplier order as billing's answer says: PAID when this call took the
    money; PAYMENT_FAILED, the retailer told, when this call's attempt failed on an order still
    waiting for payment. An answer settled before changes nothing."""
    if result.paid_now:
        _mark_paid(supplier_order=supplier_order)
    elif (
        result.needs_authentication and result.charge and supplier_order.status in PAYABLE_STATUSES
    ):
        link = settings.SITE_URL + reverse(
            "orders:retailer_confirm_payment", args=[supplier_order.pk]
        )
        _mark_payment_failed(
            supplier_order=supplier_order,
            reason=f"Your bank asks you to confirm this payment (3-D Secure): {link}",
        )
    elif result.failure and supplier_order.status in PAYABLE_STATUSES:
        _mark_payment_failed(
            supplier_order=supplier_order,
            reason=f"Card payment declined: {result.failure} Update your card; we retry as "
            "soon as you do.",
        )
    return SupplierOrderPayment(
        supplier_order=supplier_order,
        charge=result.charge,
        is_paid=result.is_paid,
        message=supplier_order.status_reason,
        paid_now=result.paid_now,
    )


def _mark_paid(*, supplier_order: SupplierOrder) -> None:
    supplier_order.status = SupplierOrder.Status.PAID
    supplier_order.status_reason = ""
    supplier_order.paid_at = timezone.now()
    supplier_order.save(update_fields=["status", "status_reason", "paid_at", "updated_at"])


def _mark_payment_failed(*, supplier_order: SupplierOrder, reason: str) -> None:
    changed = (
        supplier_order.status != SupplierOrder.Status.PAYMENT_FAILED
        or supplier_order.status_reason != reason
    )
    supplier_order.status = SupplierOrder.Status.PAYMENT_FAILED
    supplier_order.status_reason = reason
    supplier_order.save(update_fields=["status", "status_reason", "updated_at"])
    if changed:
        _tell_retailer_payment_failed(supplier_order=supplier_order, reason=reason)


def _tell_retailer_payment_failed(*, supplier_order: SupplierOrder, reason: str) -> None:
    retailer = supplier_order.order.retailer
    url = settings.SITE_URL + reverse("billing:retailer")
    amount = format_money(supplier_order.total, supplier_order.currency)
    send_retailer_notice(
        retailer=retailer,
        kind=NoticeKind.NEEDS_DECISION,
        event="billing.payment_failed",
        subject=f"Payment needed for order {supplier_order.order.number} ({amount})",
        message=(
            f"We could not take payment for supplier order {supplier_order.number} "
            f"(order {supplier_order.order.number}, {amount}). {reason} "
            f"Fix it on your billing page: {url} "
            "The supplier order is on hold and is sent to the supplier as soon as it is paid."
        ),
        level=Notification.Level.ERROR,
        url=reverse("billing:retailer"),
    )


# --- the retailer confirms, on-session, a payment its bank wants authenticated -------------------
def charge_awaiting_confirmation(supplier_order: SupplierOrder) -> Charge:
    """The card attempt the retailer may confirm on-session; PaymentError saying why not (one
    cancelled at Stripe because a new card or another payment replaced it says so)."""
    charges = list(
        supplier_order.charges.filter(method=Charge.Method.CARD).order_by("-attempt")[:2]
    )
    charge = charges[0] if charges else None
    if (
        supplier_order.status in PAYABLE_STATUSES
        and charge is not None
        and charge.needs_authentication
    ):
        return charge
    cancelled = next((c for c in charges if c.intent_canceled_at is not None), None)
    if cancelled is not None:
        why = cancelled.failure_message.removeprefix("Cancelled: ").rstrip(".")
        raise PaymentError(
            f"The payment for {supplier_order.number} that waited for your bank was cancelled "
            f"at Stripe and can no longer be confirmed: {why}."
        )
    raise PaymentError(f"{supplier_order.number} does not need your confirmation.")


def start_payment_confirmation(
    *, supplier_order: SupplierOrder, return_url: str
) -> tuple[SupplierOrderPayment, str]:
    """The retailer asks to confirm a payment its bank wants authenticated: (where the supplier
    order stands, the bank's page to send the retailer to, "" when none is needed)."""
    with transaction.atomic():
        supplier_order = _lock_supplier_order(supplier_order.pk)
        charge = charge_awaiting_confirmation(supplier_order)
        result = start_on_session_payment(
            supplier_order=supplier_order, charge_id=charge.pk, return_url=return_url
        )
        return _apply_confirmation(supplier_order=supplier_order, result=result), result.action_url


def finish_payment_confirmation(*, supplier_order: SupplierOrder) -> SupplierOrderPayment:
    """The retailer is back from its bank: PAID when it confirmed, else still waiting."""
    with transaction.atomic():
        supplier_order = _lock_supplier_order(supplier_order.pk)
        paid = find_paid_charge(supplier_order=supplier_order)
        if paid is not None:
            return _settled(supplier_order)
        charge = charge_awaiting_confirmation(supplier_order)
        result = finish_on_session_payment(supplier_order=supplier_order, charge_id=charge.pk)
        return _apply_confirmation(supplier_order=supplier_order, result=result)


def _apply_confirmation(
    *, supplier_order: SupplierOrder, result: PaymentResult
) -> SupplierOrderPayment:
    """Apply an on-session confirmation; a supplier order it paid goes to its supplier at once
    (the dispatch sweeper would pick it up a minute later)."""
    from orders.tasks import pay_and_dispatch_order_task  # local: tasks.py imports the services

    applied = _apply(supplier_order=supplier_order, result=result)
    if applied.paid_now:
        transaction.on_commit(partial(pay_and_dispatch_order_task.delay, supplier_order.order_id))
    return applied


def retry_failed_payments(
    *, retailer: Retailer, retry_same_card: bool = False
) -> list[SupplierOrder]:
    """Pay each PAYMENT_FAILED supplier order of the retailer (after its card changed, or when
    it asks); returns the newly paid ones, oldest first, for the pipeline to dispatch.

    A Stripe outage on one order does not stop the others: that order keeps its pending charge
    and PAYMENT_FAILED status, and `has_payments_awaiting_stripe` tells the task to come back."""
    paid: list[SupplierOrder] = []
    waiting = SupplierOrder.objects.filter(
        order__retailer=retailer, status=SupplierOrder.Status.PAYMENT_FAILED
    ).order_by("created_at", "pk")
    for supplier_order in waiting:
        try:
            result = pay_supplier_order(
                supplier_order=supplier_order, retry_same_card=retry_same_card
            )
        except StripeTemporaryError:
            logger.warning("Stripe unavailable while retrying %s", supplier_order.number)
            continue
        if result.paid_now:
            paid.append(result.supplier_order)
    return paid


def has_payments_awaiting_stripe(*, retailer: Retailer) -> bool:
    """A failed supplier order whose new attempt is still pending (Stripe could not answer)."""
    return Charge.objects.filter(
        retailer=retailer,
        status=Charge.Status.PENDING,
        supplier_order__status=SupplierOrder.Status.PAYMENT_FAILED,
    ).exists()


# --- Stripe's word on PaymentIntents (webhooks), for attempts our own call did not settle -------
def apply_payment_intent_succeeded(*, intent: dict[str, Any]) -> Charge | None:
    """Stripe says the PaymentIntent succeeded. Normally our own call already booked it; after a
    crash between Stripe's answer and our commit, billing books it now and the supplier order is
    PAID (idempotent). Runs in the inbox's transaction."""
    found = find_card_charge_for_intent(intent=intent)
    if found is None:
        logger.info("payment_intent.succeeded for %s matches no charge of ours", intent.get("id"))
        return None
    supplier_order = _lock_supplier_order(found.supplier_order_id)
    was_payable = supplier_order.status in PAYABLE_STATUSES
    result = record_payment_intent_succeeded(
        supplier_order=supplier_order, charge_id=found.pk, intent=intent
    )
    if result.paid_now and not was_payable:
        logger.warning(
            "Charge %s succeeded for a %s supplier order", found.pk, supplier_order.status
        )
    return _apply(supplier_order=supplier_order, result=result).charge


def apply_payment_intent_failed(*, intent: dict[str, Any]) -> Charge | None:
    """Stripe says the PaymentIntent failed: a pending attempt fails and its supplier order, when
    it still waits for payment, is held for a new card (retailer told). Runs in the inbox's
    transaction."""
    found = find_card_charge_for_intent(intent=intent)
    if found is None:
        return None
    supplier_order = _lock_supplier_order(found.supplier_order_id)
    result = record_payment_intent_failed(
        supplier_order=supplier_order, charge_id=found.pk, intent=intent
    )
    return _apply(supplier_order=supplier_order, result=result).charge
