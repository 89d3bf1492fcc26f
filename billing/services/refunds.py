"""Refunds and chargebacks.

A support agent refunds a line or a whole supplier order (or an amount) from the admin, with a
reason. The refund is split (billing.fees.split_refund) between the supplier's share and the
platform fee, written as a PENDING row with its idempotency key, sent to Stripe, then booked: the
charge's refunded amount, the ledger (refund and the commission returned), and, when the supplier
was already paid out, a reversal of its net share from its transfer. A refund larger than what is
left of the payment is refused with the numbers, and nothing is written.

Refunds made in the Stripe dashboard are booked the same way, once, when Stripe says they
succeeded: a Charge no longer embeds its refunds (API 2022-11-15,
https://docs.stripe.com/changelog/2022-11-15/deprecates-charges-auto-expand), so they come as
refund.created / refund.updated, and charge.refunded makes us list the charge's refunds. A pending
refund (ours or the dashboard's) waits as PENDING until refund.updated says how it ended; the
settle-payouts sweeper reads a pending one back from Stripe if that event is lost. One that
fails at the bank after it was booked is reversed once (new ledger rows, the refund FAILED).
A dispute opened by the retailer's bank freezes the supplier order's payout until it closes;
a lost dispute is booked like a refund of the disputed amount.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from billing.fees import RefundSplit, split_refund, supplier_order_amounts
from billing.models import Charge, Refund
from billing.services.ledger import (
    RefundAmounts,
    money_account_for,
    record_refund,
    record_refund_failure,
    record_stripe_fee,
)
from billing.services.payouts import freeze_payout, release_held_payouts, take_back_from_payout
from dropship.accounts.models import Notification, User
from dropship.accounts.services import email_organisation, notify
from dropship.core.audit import record_audit
from dropship.core.errors import DomainError, TemporaryError
from dropship.core.money import ZERO, format_money, from_minor_units, quantize, to_minor_units
from integrations.stripe import client as stripe_client
from integrations.stripe.client import StripeRequestError, StripeTemporaryError
from integrations.stripe.mappers import RefundData
from orders.models import Dispute, OrderItem, SupplierOrder

logger = logging.getLogger(__name__)


class RefundError(DomainError):
    pass


class RefundPending(DomainError):
    """Stripe did not answer: the refund is recorded as pending and is sent again."""

    status_code = 503


def _lock(pk: int) -> SupplierOrder:
    return (
        SupplierOrder.objects.select_for_update(of=("self",))
        .select_related("order__retailer", "supplier")
        .get(pk=pk)
    )


def _paid_charge(supplier_order: SupplierOrder) -> Charge | None:
    return (
        Charge.objects.select_for_update()
        .filter(supplier_order=supplier_order, status__in=Charge.PAID_STATUSES)
        .first()
    )


def refunded_so_far(*, charge: Charge) -> RefundSplit:
    totals = Refund.objects.filter(charge=charge, status=Refund.Status.SUCCEEDED).aggregate(
        supplier=Sum("supplier_share"),
        fee=Sum("platform_fee_share"),
        commission=Sum("commission_returned"),
    )
    return RefundSplit(
        supplier_share=totals["supplier"] or ZERO,
        platform_fee_share=totals["fee"] or ZERO,
        commission_returned=totals["commission"] or ZERO,
    )


def _split(*, supplier_order: SupplierOrder, charge: Charge, amount: Decimal) -> RefundSplit:
    amounts = supplier_order_amounts(
        wholesale=supplier_order.wholesale_total,
        shipping=supplier_order.shipping_total,
        platform_fee=supplier_order.platform_fee,
        commission_percent=supplier_order.commission_percent,
    )
    return split_refund(
        amounts=amounts,
        commission_percent=supplier_order.commission_percent,
        refunded=refunded_so_far(charge=charge),
        amount=amount,
    )


def refund_supplier_order(
    *,
    supplier_order: SupplierOrder,
    reason: str,
    actor: User | None = None,
    amount: Decimal | None = None,
    order_item: OrderItem | None = None,
) -> Refund:
    """Refund a line (`order_item`: its wholesale value), an `amount`, or everything left.
    Raises RefundError with the numbers when it cannot be done (nothing is written), and
    RefundPending when Stripe did not answer (the refund is sent again by a task)."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundError("Give a reason for the refund.", field="reason")
    with transaction.atomic():
        supplier_order = _lock(supplier_order.pk)
        charge = _paid_charge(supplier_order)
        currency = supplier_order.currency
        if charge is None:
            raise RefundError(f"{supplier_order.number} has not been paid: nothing to refund.")
        if Refund.objects.filter(charge=charge, status=Refund.Status.PENDING).exists():
            raise RefundError(
                f"A refund on {supplier_order.number} is still being processed by Stripe; "
                "try again in a minute."
            )
        if order_item is not None:
            if order_item.supplier_order_id != supplier_order.pk:
                raise RefundError("That line is not part of this supplier order.", field="line")
            if order_item.wholesale_unit_price is None:
                raise RefundError("That line has no wholesale price to refund.", field="line")
            if (
                Refund.objects.filter(order_item=order_item)
                .exclude(status=Refund.Status.FAILED)
                .exists()
            ):
                raise RefundError(f"“{order_item.title}” was already refunded.", field="line")
            amount = quantize(order_item.wholesale_unit_price * order_item.quantity)
        elif amount is None:
            amount = charge.refundable
        amount = quantize(Decimal(amount))
        remaining = charge.refundable
        if amount <= ZERO:
            raise RefundError("A refund must be more than zero.", field="amount")
        if amount > remaining:
            raise RefundError(
                f"A refund of {format_money(amount, currency)} is more than the "
                f"{format_money(remaining, currency)} left to refund on {supplier_order.number} "
                f"({format_money(charge.amount, currency)} paid, "
                f"{format_money(charge.amount_refunded, currency)} already refunded).",
                field="amount",
            )
        split = _split(supplier_order=supplier_order, charge=charge, amount=amount)
        number = Refund.objects.filter(charge=charge).count() + 1
        refund = Refund.objects.create(
            charge=charge,
            supplier_order=supplier_order,
            order_item=order_item,
            source=Refund.Source.SUPPORT,
            amount=amount,
            supplier_share=split.supplier_share,
            platform_fee_share=split.platform_fee_share,
            commission_returned=split.commission_returned,
            currency=currency,
            reason=reason,
            idempotency_key=f"charge-{charge.pk}-refund-{number}",
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
    try:
        return submit_refund(refund_id=refund.pk)
    except StripeTemporaryError as exc:
        # The row stays PENDING with its key; the settle-payouts beat job sends it again.
        raise RefundPending(
            f"Stripe did not answer ({exc}). The refund of {format_money(amount, currency)} is "
            "recorded as pending and is sent again automatically within a few minutes."
        ) from exc


def submit_refund(*, refund_id: int) -> Refund:
    """Send a pending refund to Stripe and book it once Stripe says it succeeded (safe to run
    twice: same idempotency key). One Stripe already knows (pending at the bank) is read back
    instead of being sent again."""
    with transaction.atomic():
        refund = Refund.objects.only("supplier_order_id").get(pk=refund_id)
        supplier_order = _lock(refund.supplier_order_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        charge = Charge.objects.select_for_update().get(pk=refund.charge_id)
        if refund.status != Refund.Status.PENDING:
            return refund
        if charge.method != Charge.Method.CARD:
            _settle_refund(refund=refund, charge=charge, supplier_order=supplier_order)
            return refund
        try:
            if refund.stripe_refund_id:
                result = stripe_client.retrieve_refund(refund.stripe_refund_id)
            else:
                result = stripe_client.create_refund(
                    charge_id=charge.stripe_charge_id,
                    amount=to_minor_units(refund.amount, refund.currency),
                    metadata={
                        "refund_id": str(refund.pk),
                        "supplier_order": supplier_order.number,
                    },
                    idempotency_key=refund.idempotency_key,
                )
        except StripeRequestError as exc:
            _fail_refund(refund, message=f"Stripe refused the refund: {exc.message}")
            return refund
        _follow_stripe(refund=refund, charge=charge, supplier_order=supplier_order, data=result)
        return refund


def _follow_stripe(
    *, refund: Refund, charge: Charge, supplier_order: SupplierOrder, data: RefundData
) -> None:
    """Our PENDING refund (all rows locked) as Stripe reports it: booked when it succeeded,
    failed with the bank's reason, or left pending with its Stripe id."""
    refund.stripe_refund_id = data.id
    if data.is_succeeded:
        _settle_refund(refund=refund, charge=charge, supplier_order=supplier_order)
    elif data.is_failed:
        _fail_refund(refund, message=f"The refund failed at the bank: {data.failure_reason}")
    else:
        refund.save(update_fields=["stripe_refund_id", "updated_at"])


def _fail_refund(refund: Refund, *, message: str) -> None:
    refund.status = Refund.Status.FAILED
    refund.failure_message = message[:500]
    refund.save(update_fields=["status", "failure_message", "stripe_refund_id", "updated_at"])
    logger.warning("Refund %s failed: %s", refund.pk, message)


def _amounts(refund: Refund) -> RefundAmounts:
    return RefundAmounts(
        amount=refund.amount,
        supplier_share=refund.supplier_share,
        platform_fee_share=refund.platform_fee_share,
        commission_returned=refund.commission_returned,
        currency=refund.currency,
    )


def _settle_refund(*, refund: Refund, charge: Charge, supplier_order: SupplierOrder) -> None:
    refund.status = Refund.Status.SUCCEEDED
    refund.refunded_at = timezone.now()
    refund.failure_message = ""
    refund.save(
        update_fields=["status", "refunded_at", "failure_message", "stripe_refund_id", "updated_at"]
    )
    charge.amount_refunded += refund.amount
    charge.status = (
        Charge.Status.REFUNDED
        if charge.amount_refunded >= charge.amount
        else Charge.Status.PARTIALLY_REFUNDED
    )
    charge.save(update_fields=["amount_refunded", "status", "updated_at"])
    labels: dict[str, str] = {
        Refund.Source.SUPPORT: "Refund",
        Refund.Source.STRIPE: "Refund made in Stripe",
        Refund.Source.CHARGEBACK: "Chargeback lost",
    }
    label = labels[refund.source]
    record_refund(
        supplier_order=supplier_order,
        money_account=money_account_for(charge.method),
        refund=_amounts(refund),
        memo=f"{label} {refund.stripe_refund_id or refund.pk} on {supplier_order.number}",
    )
    take_back_from_payout(supplier_order=supplier_order, refund=refund)
    record_audit(
        actor=refund.created_by,
        action="billing.refund",
        target=refund,
        summary=f"{label} of {format_money(refund.amount, refund.currency)} on "
        f"{supplier_order.number}: {refund.reason}"[:500],
        data={
            "supplier_share": str(refund.supplier_share),
            "platform_fee_share": str(refund.platform_fee_share),
            "commission_returned": str(refund.commission_returned),
        },
    )
    amount = format_money(refund.amount, refund.currency)
    retailer = supplier_order.order.retailer
    notify(
        organisation=retailer,
        kind="billing.refund",
        message=f"{amount} refunded on {supplier_order.number}: {refund.reason}"[:500],
        level=Notification.Level.INFO,
    )
    if refund.supplier_net > ZERO:
        notify(
            organisation=supplier_order.supplier,
            kind="billing.refund",
            message=f"{format_money(refund.supplier_net, refund.currency)} of a {amount} refund "
            f"on {supplier_order.number} comes out of your payout: {refund.reason}"[:500],
            level=Notification.Level.WARNING,
        )


def _book_outside_refund(
    *,
    supplier_order: SupplierOrder,
    charge: Charge,
    amount: Decimal,
    source: str,
    reason: str,
    stripe_refund_id: str | None,
    key: str,
    is_settled: bool = True,
) -> Refund | None:
    """A refund we did not ask for (dashboard, lost chargeback): split, and booked at once when
    `is_settled` (else left PENDING until Stripe says how it ended)."""
    amount = min(amount, charge.refundable)
    if amount <= ZERO:
        return None
    split = _split(supplier_order=supplier_order, charge=charge, amount=amount)
    refund = Refund.objects.create(
        charge=charge,
        supplier_order=supplier_order,
        source=source,
        amount=amount,
        supplier_share=split.supplier_share,
        platform_fee_share=split.platform_fee_share,
        commission_returned=split.commission_returned,
        currency=charge.currency,
        reason=reason,
        idempotency_key=key,
        stripe_refund_id=stripe_refund_id,
    )
    if is_settled:
        _settle_refund(refund=refund, charge=charge, supplier_order=supplier_order)
    return refund


def apply_charge_refunded(*, charge_id: str) -> int:
    """charge.refunded: the charge no longer lists its refunds, so they are read from Stripe and
    each is applied like its own refund event. Returns how many refunds were booked now."""
    if not charge_id:
        return 0
    booked = 0
    for data in sorted(
        stripe_client.list_charge_refunds(charge_id), key=lambda r: (r.created, r.id)
    ):
        was_booked = Refund.objects.filter(
            stripe_refund_id=data.id, status=Refund.Status.SUCCEEDED
        ).exists()
        refund = apply_refund(refund=data)
        if refund is not None and refund.status == Refund.Status.SUCCEEDED and not was_booked:
            booked += 1
    return booked


def apply_refund(*, refund: RefundData) -> Refund | None:
    """refund.created / refund.updated: Stripe's word on one refund of a card charge, applied
    once. Ours in flight is completed (or failed); one made in the dashboard is split and booked
    when it succeeded, recorded PENDING while the bank has not answered. Runs in the inbox's
    transaction; raises TemporaryError while the payment itself is not booked yet."""
    found = Charge.objects.filter(
        method=Charge.Method.CARD, stripe_charge_id=refund.charge_id or "-"
    ).first()
    if found is None:
        # Our payment may be waiting for its own event (a crash after Stripe charged): the refund
        # is booked after it. Stripe's charge names our charge in its metadata.
        ours_id = stripe_client.our_charge_id_of(refund.charge_id) if refund.charge_id else ""
        waiting = Charge.objects.filter(status=Charge.Status.PENDING).filter(
            Q(stripe_payment_intent_id=refund.payment_intent_id or "-")
            | Q(pk=int(ours_id) if ours_id.isdigit() else None)
        )
        if waiting.exists():
            raise TemporaryError("The payment is not booked yet; the refund is booked after it.")
        return None
    supplier_order = _lock(found.supplier_order_id)
    charge = Charge.objects.select_for_update().get(pk=found.pk)
    ours = Refund.objects.select_for_update().filter(stripe_refund_id=refund.id).first()
    if ours is None and refund.our_refund_id.isdigit():
        ours = (
            Refund.objects.select_for_update()
            .filter(pk=int(refund.our_refund_id), charge=charge)
            .first()
        )
    if ours is not None:
        if ours.status == Refund.Status.PENDING:
            _follow_stripe(refund=ours, charge=charge, supplier_order=supplier_order, data=refund)
        elif ours.status == Refund.Status.SUCCEEDED and refund.is_failed:
            reverse_failed_refund(
                refund=ours, charge=charge, supplier_order=supplier_order, data=refund
            )
        return ours
    if refund.is_failed:
        return None  # a dashboard refund that never gave anything back: nothing to book
    if not refund.is_succeeded and (
        Refund.objects.filter(charge=charge, status=Refund.Status.PENDING).exists()
    ):
        raise TemporaryError("Another refund of this payment is in flight; this one waits for it.")
    return _book_outside_refund(
        supplier_order=supplier_order,
        charge=charge,
        amount=from_minor_units(refund.amount, charge.currency),
        source=Refund.Source.STRIPE,
        reason=DASHBOARD_REFUND,
        stripe_refund_id=refund.id,
        key=f"stripe-{refund.id}",
        is_settled=refund.is_succeeded,
    )


DASHBOARD_REFUND = "Refunded in the Stripe dashboard"


def reverse_failed_refund(
    *, refund: Refund, charge: Charge, supplier_order: SupplierOrder, data: RefundData
) -> None:
    """Stripe says a refund we booked failed at the bank (refund.updated to `failed`, with a
    `refund_failure` balance transaction giving the money back to the platform,
    https://docs.stripe.com/refunds#failed-refunds). It is reversed once, all rows locked by the
    caller: the refund becomes FAILED (a duplicate event then finds nothing to do), the charge
    keeps the money again, and the ledger gets the reversing movement. The retailer is told, and
    staff see it on the refund (and on the supplier's balance when its share was taken back from
    a transfer already: that is not paid again by itself)."""
    if refund.status != Refund.Status.SUCCEEDED:
        return
    reason = data.failure_reason or "no reason given"
    reversals = refund.reversals.exclude(status="FAILED").exists()
    message = f"The refund failed at the bank after it was booked ({reason}); it was reversed."
    if reversals:
        message += (
            " The supplier's share had been taken back from its transfer: it is owed again, "
            "pay it by hand."
        )
    refund.status = Refund.Status.FAILED
    refund.failure_message = message[:500]
    refund.reversed_at = timezone.now()
    refund.save(update_fields=["status", "failure_message", "reversed_at", "updated_at"])
    charge.amount_refunded -= refund.amount
    if charge.amount_refunded <= ZERO:
        charge.status = Charge.Status.SUCCEEDED
    else:
        charge.status = Charge.Status.PARTIALLY_REFUNDED
    charge.save(update_fields=["amount_refunded", "status", "updated_at"])
    record_refund_failure(
        supplier_order=supplier_order,
        money_account=money_account_for(charge.method),
        refund=_amounts(refund),
        memo=f"Refund {data.id} failed at the bank ({reason}) on {supplier_order.number}",
    )
    record_audit(
        actor=None,
        action="billing.refund_failed",
        target=refund,
        summary=f"Refund of {format_money(refund.amount, refund.currency)} on "
        f"{supplier_order.number} failed at the bank ({reason}); reversed in the ledger"[:500],
        data={"stripe_refund_id": data.id, "supplier_owed_again": reversals},
    )
    notify(
        organisation=supplier_order.order.retailer,
        kind="billing.refund_failed",
        message=f"The refund of {format_money(refund.amount, refund.currency)} on "
        f"{supplier_order.number} was sent back by your bank ({reason}); contact support to "
        "receive it another way."[:500],
        level=Notification.Level.WARNING,
    )
    logger.warning("Refund %s (%s) failed after it was booked: reversed", refund.pk, data.id)


# --- disputes ------------------------------------------------------------------------------------
DISPUTE_STATUS = {"won": Dispute.Status.WON, "lost": Dispute.Status.LOST}


def _charge_for_dispute(dispute: dict[str, Any]) -> Charge:
    charge = (
        Charge.objects.filter(
            method=Charge.Method.CARD, stripe_charge_id=dispute.get("charge") or "-"
        ).first()
        or Charge.objects.filter(stripe_payment_intent_id=dispute.get("payment_intent") or "-")
        .exclude(status=Charge.Status.FAILED)
        .first()
    )
    if charge is None or not charge.is_paid:
        raise TemporaryError(
            f"Dispute {dispute.get('id')} is on a payment not booked yet; it is retried later."
        )
    return charge


def _dispute_fee(dispute: dict[str, Any]) -> int:
    return sum(int(bt.get("fee") or 0) for bt in dispute.get("balance_transactions") or [])


def apply_dispute(*, dispute: dict[str, Any]) -> Dispute:
    """charge.dispute.created / .closed, in either order: keep the dispute, freeze or release
    the payout, book Stripe's dispute fee once, and a lost dispute like a refund."""
    found = _charge_for_dispute(dispute)
    supplier_order = _lock(found.supplier_order_id)
    charge = Charge.objects.select_for_update().get(pk=found.pk)
    currency = charge.currency
    closed = dispute.get("status") in DISPUTE_STATUS
    row = Dispute.objects.select_for_update().filter(stripe_dispute_id=dispute["id"]).first()
    is_new = row is None
    if row is None:
        row = Dispute.objects.create(
            supplier_order=supplier_order,
            stripe_dispute_id=dispute["id"],
            reason=str(dispute.get("reason") or "")[:100],
            amount=from_minor_units(int(dispute.get("amount") or 0), currency),
            currency=currency,
            status=Dispute.Status.OPEN,
        )
        record_stripe_fee(
            supplier_order=supplier_order,
            fee=from_minor_units(_dispute_fee(dispute), currency),
            currency=currency,
            memo=f"Stripe dispute fee on {dispute['id']}",
        )
    was_open = row.status == Dispute.Status.OPEN
    if closed and was_open:
        row.status = DISPUTE_STATUS[dispute["status"]]
        row.closed_at = timezone.now()
        row.save(update_fields=["status", "closed_at", "updated_at"])
        if row.status == Dispute.Status.LOST:
            _book_outside_refund(
                supplier_order=supplier_order,
                charge=charge,
                amount=row.amount,
                source=Refund.Source.CHARGEBACK,
                reason=f"Chargeback {dispute['id']} lost ({row.reason or 'no reason given'})",
                stripe_refund_id=None,
                key=f"chargeback-{dispute['id']}",
            )
        transaction.on_commit(lambda: release_held_payouts(supplier=supplier_order.supplier))
    elif not closed and is_new:
        freeze_payout(supplier_order=supplier_order)
        message = (
            f"The retailer's bank disputes the payment for {supplier_order.number} "
            f"({format_money(row.amount, currency)}, {row.reason or 'no reason given'}). "
            "Its payout is frozen until the dispute closes."
        )
        notify(
            organisation=supplier_order.supplier,
            kind="billing.dispute",
            message=message,
            level=Notification.Level.WARNING,
        )
        email_organisation(
            organisation=supplier_order.supplier,
            subject=f"Payment disputed on {supplier_order.number}",
            message=message,
        )
    return row
