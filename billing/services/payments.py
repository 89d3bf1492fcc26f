"""Paying for supplier orders: the one seam the order pipeline calls (`pay_supplier_order`).

A retailer on payment terms (granted by a platform admin) is trusted to pay a monthly invoice:
the supplier order is paid at once and the amount is owed on the retailer's receivable account.
Every other retailer pays by card: an off-session Stripe PaymentIntent for the supplier order's
total (wholesale + shipping + platform fee), in minor units, in the order's currency.

Never a double charge:
- a Charge row is written (PENDING, committed) before Stripe is called, with an idempotency key
  made of the supplier order and the attempt number, and the card it will use; a retry of the
  same attempt (a task run again, a crash, a timeout) sends exactly the same request, which Stripe
  answers with the first answer;
- the Stripe call happens with the supplier order row locked, so concurrent callers wait and
  then find the charge settled;
- the database allows one pending-or-paid charge per supplier order.

A declined card fails the attempt (PAYMENT_FAILED, retailer emailed with a link to fix the card);
the same card is not charged again until the retailer changes it (`retry_failed_payments`) or asks
for a retry from the billing page. Stripe down, rate limiting or a timeout raise
`StripeTemporaryError` (a TemporaryError) with the charge left PENDING, for the caller's task to
retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing.fees import supplier_order_amounts
from billing.models import Charge, LedgerEntry
from billing.services.invoices import issue_charge_invoice
from billing.services.ledger import Leg, Movement, record_movements, record_stripe_fee
from dropship.accounts.models import Notification
from dropship.accounts.services import email_organisation, notify
from dropship.core.errors import DomainError
from dropship.core.money import format_money, from_minor_units, to_minor_units
from integrations.stripe import client as stripe_client
from integrations.stripe.client import CardDeclined, StripeRequestError, StripeTemporaryError
from orders.models import SupplierOrder
from retailers.models import Retailer

logger = logging.getLogger(__name__)
Account = LedgerEntry.Account

__all__ = [
    "PaymentError",
    "PaymentResult",
    "StripeTemporaryError",
    "pay_supplier_order",
    "record_charge_in_ledger",
    "retry_failed_payments",
]


class PaymentError(DomainError):
    pass


@dataclass(frozen=True)
class PaymentResult:
    supplier_order: SupplierOrder
    charge: Charge | None
    is_paid: bool
    message: str = ""
    paid_now: bool = False  # this call took the payment (False: it was paid before)


PAYABLE_STATUSES = {SupplierOrder.Status.PENDING, SupplierOrder.Status.PAYMENT_FAILED}
NO_WAY_TO_PAY = "No way to pay yet: add a card on your billing page, or ask us for payment terms."


def billing_page_url() -> str:
    return settings.SITE_URL + reverse("billing:retailer")


def record_charge_in_ledger(*, charge: Charge, debit_account: str) -> None:
    """Money owed/received for a supplier order, as three movements: the supplier's gross
    (wholesale + shipping) owed to it, the platform fee earned, and the commission the platform
    keeps from the supplier's share."""
    record_movements(movements=_charge_movements(charge=charge, debit_account=debit_account))


def _charge_movements(*, charge: Charge, debit_account: str) -> list[Movement]:
    supplier_order = charge.supplier_order
    amounts = supplier_order_amounts(
        wholesale=supplier_order.wholesale_total,
        shipping=supplier_order.shipping_total,
        platform_fee=supplier_order.platform_fee,
        commission_percent=supplier_order.commission_percent,
    )
    retailer, supplier, currency = charge.retailer, supplier_order.supplier, charge.currency
    gross = amounts.wholesale + amounts.shipping
    movements = [
        Movement(
            kind=LedgerEntry.Kind.CHARGE,
            currency=currency,
            supplier_order=supplier_order,
            memo=f"Charge for {supplier_order.number}",
            legs=[
                Leg(debit_account, gross, retailer=retailer),
                Leg(Account.SUPPLIER_PAYABLE, -gross, supplier=supplier),
            ],
        )
    ]
    if amounts.platform_fee:
        movements.append(
            Movement(
                kind=LedgerEntry.Kind.FEE,
                currency=currency,
                supplier_order=supplier_order,
                memo=f"Platform fee on {supplier_order.number}",
                legs=[
                    Leg(debit_account, amounts.platform_fee, retailer=retailer),
                    Leg(Account.PLATFORM_REVENUE, -amounts.platform_fee),
                ],
            )
        )
    if amounts.commission:
        movements.append(
            Movement(
                kind=LedgerEntry.Kind.COMMISSION,
                currency=currency,
                supplier_order=supplier_order,
                memo=f"Commission {supplier_order.commission_percent}% on {supplier_order.number}",
                legs=[
                    Leg(Account.SUPPLIER_PAYABLE, amounts.commission, supplier=supplier),
                    Leg(Account.PLATFORM_REVENUE, -amounts.commission),
                ],
            )
        )
    return movements


def _lock_supplier_order(pk: int) -> SupplierOrder:
    return (
        SupplierOrder.objects.select_for_update(of=("self",))
        .select_related("order__retailer", "supplier")
        .get(pk=pk)
    )


def pay_supplier_order(
    *, supplier_order: SupplierOrder, retry_same_card: bool = False
) -> PaymentResult:
    """Pay for a supplier order; safe to call twice and concurrently (a paid order is returned
    as it is). Call it outside a transaction (from a task) so the pending charge is committed
    before Stripe is called. Raises StripeTemporaryError when Stripe cannot answer now."""
    with transaction.atomic():
        supplier_order = _lock_supplier_order(supplier_order.pk)
        if supplier_order.status not in PAYABLE_STATUSES:
            return _settled_result(supplier_order)
        paid = supplier_order.charges.filter(status__in=Charge.PAID_STATUSES).first()
        if paid is not None:  # the money was taken; only the status lagged behind (never twice)
            logger.warning(
                "%s was %s with a paid charge", supplier_order.number, supplier_order.status
            )
            _mark_paid(supplier_order=supplier_order)
            return PaymentResult(supplier_order=supplier_order, charge=paid, is_paid=True)
        retailer = supplier_order.order.retailer
        if retailer.has_payment_terms:
            return _pay_on_terms(supplier_order=supplier_order, retailer=retailer)
        if not (retailer.stripe_customer_id and retailer.stripe_payment_method_id):
            _mark_payment_failed(supplier_order=supplier_order, reason=NO_WAY_TO_PAY)
            return PaymentResult(
                supplier_order=supplier_order, charge=None, is_paid=False, message=NO_WAY_TO_PAY
            )
        charge = _open_card_charge(
            supplier_order=supplier_order, retailer=retailer, retry_same_card=retry_same_card
        )
        if charge.status != Charge.Status.PENDING:  # declined before on this very card
            return PaymentResult(
                supplier_order=supplier_order,
                charge=charge,
                is_paid=False,
                message=supplier_order.status_reason,
            )
    return _confirm_card_charge(charge_id=charge.pk)


def _settled_result(supplier_order: SupplierOrder) -> PaymentResult:
    paid = supplier_order.charges.filter(status__in=Charge.PAID_STATUSES).first()
    return PaymentResult(
        supplier_order=supplier_order,
        charge=paid,
        is_paid=paid is not None,
        message=supplier_order.status_reason,
    )


def _pay_on_terms(*, supplier_order: SupplierOrder, retailer: Retailer) -> PaymentResult:
    # The caller holds the supplier order's row lock and found no paid charge; a terms charge is
    # born SUCCEEDED (a paid status), so none exists yet. The unique key still guards the row.
    charge = _terms_charge(supplier_order=supplier_order, retailer=retailer, now=timezone.now())
    charge.save(force_insert=True)
    record_charge_in_ledger(charge=charge, debit_account=Account.RETAILER_RECEIVABLE)
    _mark_paid(supplier_order=supplier_order)
    return PaymentResult(supplier_order=supplier_order, charge=charge, is_paid=True, paid_now=True)


def pay_new_supplier_orders_on_terms(
    *, supplier_orders: list[SupplierOrder], retailer: Retailer
) -> list[Charge]:
    """Pay, on payment terms, supplier orders the caller created in its still-open transaction.

    The order pipeline's hot path: one TERMS charge each (one INSERT) and every ledger movement
    of them (one INSERT). No row lock and no look for an earlier charge: nobody can see these
    supplier orders before the caller commits, and each charge's idempotency key is unique, so
    a second payment could not be written anyway. The caller creates them already paid
    (`paid_at` set, status PAID or beyond), which is what they are once this returns."""
    if not retailer.has_payment_terms:
        raise PaymentError(f"{retailer.business_name} is not on payment terms.")
    now = timezone.now()
    charges = [
        _terms_charge(supplier_order=supplier_order, retailer=retailer, now=now)
        for supplier_order in supplier_orders
    ]
    Charge.objects.bulk_create(charges)
    record_movements(
        movements=[
            movement
            for charge in charges
            for movement in _charge_movements(
                charge=charge, debit_account=Account.RETAILER_RECEIVABLE
            )
        ]
    )
    return charges


def _terms_charge(*, supplier_order: SupplierOrder, retailer: Retailer, now) -> Charge:
    """A payment-terms charge, born SUCCEEDED (nothing can refuse it); unique per supplier order."""
    return Charge(
        idempotency_key=f"supplier-order-{supplier_order.pk}-terms",
        supplier_order=supplier_order,
        retailer=retailer,
        method=Charge.Method.TERMS,
        status=Charge.Status.SUCCEEDED,
        amount=supplier_order.total,
        currency=supplier_order.currency,
        settled_at=now,
    )


def _open_card_charge(
    *, supplier_order: SupplierOrder, retailer: Retailer, retry_same_card: bool
) -> Charge:
    """The pending attempt, or a new one; the last failed attempt when its card is still the
    retailer's card (a declined card is not charged again unless the retailer asks)."""
    card_charges = supplier_order.charges.filter(method=Charge.Method.CARD)
    pending = card_charges.filter(status=Charge.Status.PENDING).first()
    if pending is not None:
        return pending
    last = card_charges.order_by("-attempt").first()
    if (
        last is not None
        and last.status == Charge.Status.FAILED
        and last.stripe_payment_method_id == retailer.stripe_payment_method_id
        and not retry_same_card
    ):
        return last
    attempt = (last.attempt if last else 0) + 1
    return Charge.objects.create(
        supplier_order=supplier_order,
        retailer=retailer,
        method=Charge.Method.CARD,
        status=Charge.Status.PENDING,
        amount=supplier_order.total,
        currency=supplier_order.currency,
        attempt=attempt,
        idempotency_key=f"supplier-order-{supplier_order.pk}-attempt-{attempt}",
        stripe_payment_method_id=retailer.stripe_payment_method_id,
        card_label=_card_label(retailer),
    )


def _card_label(retailer: Retailer) -> str:
    if not retailer.card_last4:
        return ""
    return f"{(retailer.card_brand or 'card').title()} •••• {retailer.card_last4}"


def _confirm_card_charge(*, charge_id: int) -> PaymentResult:
    with transaction.atomic():
        charge = Charge.objects.only("supplier_order_id").get(pk=charge_id)
        supplier_order = _lock_supplier_order(charge.supplier_order_id)
        charge = Charge.objects.select_for_update().select_related("retailer").get(pk=charge_id)
        charge.supplier_order = supplier_order
        if charge.status != Charge.Status.PENDING:
            return PaymentResult(
                supplier_order=supplier_order,
                charge=charge,
                is_paid=charge.is_paid,
                message=supplier_order.status_reason,
            )
        if supplier_order.status not in PAYABLE_STATUSES:
            # Cancelled (or paid otherwise) while this attempt waited: never charge it now.
            _fail_charge(
                charge=charge,
                message=f"Not charged: {supplier_order.number} is "
                f"{supplier_order.get_status_display().lower()}.",
            )
            return _settled_result(supplier_order)
        order = supplier_order.order
        try:
            intent = stripe_client.create_off_session_payment(
                amount=to_minor_units(charge.amount, charge.currency),
                currency=charge.currency,
                customer_id=charge.retailer.stripe_customer_id,
                payment_method_id=charge.stripe_payment_method_id,
                description=f"Dropship {supplier_order.number} (order {order.number})",
                metadata={
                    "charge_id": str(charge.pk),
                    "supplier_order_id": str(supplier_order.pk),
                    "supplier_order": supplier_order.number,
                    "retailer_id": str(charge.retailer_id),
                },
                transfer_group=supplier_order.number,
                idempotency_key=charge.idempotency_key,
            )
        except CardDeclined as exc:
            record_decline(
                charge=charge,
                message=exc.message,
                payment_intent_id=exc.payment_intent_id,
                stripe_charge_id=exc.charge_id,
            )
            return PaymentResult(
                supplier_order=supplier_order,
                charge=charge,
                is_paid=False,
                message=supplier_order.status_reason,
            )
        except StripeRequestError as exc:
            record_decline(charge=charge, message=f"Stripe refused the payment: {exc.message}")
            return PaymentResult(
                supplier_order=supplier_order,
                charge=charge,
                is_paid=False,
                message=supplier_order.status_reason,
            )
        if intent.get("status") != "succeeded":
            record_decline(
                charge=charge,
                message="Your bank asks you to confirm this payment; please add the card again.",
                payment_intent_id=intent.get("id"),
            )
            return PaymentResult(
                supplier_order=supplier_order,
                charge=charge,
                is_paid=False,
                message=supplier_order.status_reason,
            )
        record_card_success(charge=charge, intent=intent)
        return PaymentResult(
            supplier_order=supplier_order, charge=charge, is_paid=True, paid_now=True
        )


def record_card_success(*, charge: Charge, intent: dict) -> None:
    """Book a succeeded PaymentIntent on its (locked, PENDING) charge. `intent["latest_charge"]`
    is the expanded Charge with its balance transaction (Stripe's fee)."""
    supplier_order = charge.supplier_order
    latest = intent.get("latest_charge") or {}
    if isinstance(latest, str):
        latest = stripe_client.retrieve_charge(latest)
    balance = latest.get("balance_transaction") or {}
    if isinstance(balance, str):
        balance = {}
    fee = from_minor_units(int(balance.get("fee") or 0), charge.currency)
    charge.status = Charge.Status.SUCCEEDED
    charge.stripe_payment_intent_id = intent["id"]
    charge.stripe_charge_id = latest.get("id") or ""
    charge.stripe_fee = fee
    charge.failure_message = ""
    charge.settled_at = timezone.now()
    card = (latest.get("payment_method_details") or {}).get("card") or {}
    if card.get("last4"):
        charge.card_label = f"{str(card.get('brand') or 'card').title()} •••• {card['last4']}"
    charge.save(
        update_fields=[
            "status",
            "stripe_payment_intent_id",
            "stripe_charge_id",
            "stripe_fee",
            "failure_message",
            "settled_at",
            "card_label",
            "updated_at",
        ]
    )
    record_charge_in_ledger(charge=charge, debit_account=Account.STRIPE_CLEARING)
    record_stripe_fee(
        supplier_order=supplier_order,
        fee=fee,
        currency=charge.currency,
        memo=f"Stripe fee on {charge.stripe_charge_id or supplier_order.number}",
    )
    _mark_paid(supplier_order=supplier_order)
    issue_charge_invoice(charge=charge)


def record_decline(
    *,
    charge: Charge,
    message: str,
    payment_intent_id: str | None = None,
    stripe_charge_id: str | None = None,
) -> None:
    """The attempt failed (locked, PENDING charge): the supplier order waits for a new card and
    the retailer is told, once, by email and on its dashboard."""
    _fail_charge(
        charge=charge,
        message=message,
        payment_intent_id=payment_intent_id,
        stripe_charge_id=stripe_charge_id,
    )
    supplier_order = charge.supplier_order
    if supplier_order.status not in PAYABLE_STATUSES:
        return
    reason = f"Card payment declined: {message} Update your card; we retry as soon as you do."
    _mark_payment_failed(supplier_order=supplier_order, reason=reason)


def _fail_charge(
    *,
    charge: Charge,
    message: str,
    payment_intent_id: str | None = None,
    stripe_charge_id: str | None = None,
) -> None:
    charge.status = Charge.Status.FAILED
    charge.failure_message = message[:500]
    charge.settled_at = timezone.now()
    fields = ["status", "failure_message", "settled_at", "updated_at"]
    if (
        payment_intent_id
        and not Charge.objects.filter(stripe_payment_intent_id=payment_intent_id)
        .exclude(pk=charge.pk)
        .exists()
    ):
        charge.stripe_payment_intent_id = payment_intent_id
        fields.append("stripe_payment_intent_id")
    if stripe_charge_id:
        charge.stripe_charge_id = stripe_charge_id
        fields.append("stripe_charge_id")
    charge.save(update_fields=fields)


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
    url = billing_page_url()
    amount = format_money(supplier_order.total, supplier_order.currency)
    notify(
        organisation=retailer,
        kind="billing.payment_failed",
        message=f"{supplier_order.number} ({amount}) is waiting for payment. {reason}",
        level=Notification.Level.ERROR,
        url=reverse("billing:retailer"),
    )
    email_organisation(
        organisation=retailer,
        subject=f"Payment needed for order {supplier_order.order.number} ({amount})",
        message=(
            f"We could not take payment for supplier order {supplier_order.number} "
            f"(order {supplier_order.order.number}, {amount}).\n\n{reason}\n\n"
            f"Fix it on your billing page: {url}\n\n"
            "The supplier order is on hold and is sent to the supplier as soon as it is paid."
        ),
    )


def retry_failed_payments(
    *, retailer: Retailer, retry_same_card: bool = False
) -> list[SupplierOrder]:
    """Pay each PAYMENT_FAILED supplier order of the retailer (after its card changed, or when
    it asks); returns the newly paid ones, oldest first, for the order pipeline to dispatch.

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
def _charge_for_intent(intent: dict) -> Charge | None:
    charge_id = (intent.get("metadata") or {}).get("charge_id")
    query = Charge.objects.filter(method=Charge.Method.CARD)
    if charge_id and str(charge_id).isdigit():
        found = query.filter(pk=int(charge_id)).first()
        if found is not None:
            return found
    return query.filter(stripe_payment_intent_id=intent.get("id")).first()


def apply_payment_intent_succeeded(*, intent: dict) -> Charge | None:
    """Stripe says the PaymentIntent succeeded. Normally our own call already booked it; after a
    crash between Stripe's answer and our commit this books it (idempotent)."""
    found = _charge_for_intent(intent)
    if found is None:
        logger.info("payment_intent.succeeded for %s matches no charge of ours", intent.get("id"))
        return None
    supplier_order = _lock_supplier_order(found.supplier_order_id)
    charge = Charge.objects.select_for_update().select_related("retailer").get(pk=found.pk)
    charge.supplier_order = supplier_order
    if charge.status == Charge.Status.PENDING:
        if supplier_order.status not in PAYABLE_STATUSES:
            logger.warning(
                "Charge %s succeeded for a %s supplier order", charge.pk, supplier_order.status
            )
        record_card_success(charge=charge, intent=intent)
    return charge


def apply_payment_intent_failed(*, intent: dict) -> Charge | None:
    found = _charge_for_intent(intent)
    if found is None:
        return None
    supplier_order = _lock_supplier_order(found.supplier_order_id)
    charge = Charge.objects.select_for_update().select_related("retailer").get(pk=found.pk)
    charge.supplier_order = supplier_order
    if charge.status == Charge.Status.PENDING:
        error = intent.get("last_payment_error") or {}
        record_decline(
            charge=charge,
            message=error.get("message") or "Your card was declined.",
            payment_intent_id=intent.get("id"),
            stripe_charge_id=error.get("charge"),
        )
    return charge
