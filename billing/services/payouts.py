"""Supplier payouts: a Stripe Connect transfer per shipped supplier order, after the holdback.

A beat job (`settle_payouts`) finds paid supplier orders that shipped and have no payout yet,
schedules one (available_at = shipped_at + PAYOUT_HOLDBACK_DAYS) and transfers the due ones, each
in its own task. The amount is what the ledger says the platform owes the supplier on that order
at transfer time (wholesale + shipping − commission, less its share of refunds), so a refund made
before the payout simply lowers it. A payout waits (HELD, with the reason shown to the supplier)
while the supplier has no connected account that can receive transfers, or while the retailer's
bank disputes the payment, or while support mediates a case on that supplier order (only that
order: the supplier's other payouts go on); it is released when that changes.

Stripe refusing a transfer because the platform's available balance is short
(`balance_insufficient`, a transfer without a source charge: payment terms) is temporary: the
payout stays SCHEDULED with the reason and the next try (backoff from 15 minutes to 12 hours),
never FAILED for it.

Never a double payout: the transfer's idempotency key is the payout's, the supplier order row is
locked while Stripe is called, and the payout is one row per supplier order.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone

from billing.models import Charge, ConnectedAccount, LedgerEntry, Payout, Refund, TransferReversal
from billing.services.ledger import record_reversal, record_transfer
from dropship.accounts.models import Notification
from dropship.accounts.services import notify
from dropship.core.money import ZERO, format_money, from_minor_units, quantize, to_minor_units
from integrations.stripe import client as stripe_client
from integrations.stripe.client import IdempotencyConflict, StripeRequestError
from orders.models import Dispute, SupplierOrder
from suppliers.models import Supplier

logger = logging.getLogger(__name__)
SHIPPED_STATUSES = (SupplierOrder.Status.SHIPPED, SupplierOrder.Status.DELIVERED)
STUCK_AFTER = timedelta(minutes=5)
FIRST_RETRY_AFTER = timedelta(minutes=15)
LONGEST_RETRY_AFTER = timedelta(hours=12)
TEMPORARY_REFUSALS = {"balance_insufficient"}


def supplier_order_payable(*, supplier_order: SupplierOrder) -> Decimal:
    """What the platform owes the supplier on this order now (positive), from the ledger."""
    total = LedgerEntry.objects.filter(
        account=LedgerEntry.Account.SUPPLIER_PAYABLE,
        supplier_order=supplier_order,
        supplier_id=supplier_order.supplier_id,
    ).aggregate(total=Sum("amount"))["total"]
    return -(total or ZERO)


def _lock(supplier_order_id: int) -> SupplierOrder:
    return (
        SupplierOrder.objects.select_for_update(of=("self",))
        .select_related("supplier", "order")
        .get(pk=supplier_order_id)
    )


def payout_available_at(*, shipped_at: datetime, delivered_at: datetime | None) -> datetime:
    """The end of the holdback: PAYOUT_HOLDBACK_DAYS after shipment, or, when
    PAYOUT_DAYS_AFTER_DELIVERY is set and the order was delivered, that many days after delivery
    if it comes sooner."""
    available_at = shipped_at + timedelta(days=settings.PAYOUT_HOLDBACK_DAYS)
    days_after = settings.PAYOUT_DAYS_AFTER_DELIVERY
    if delivered_at is not None and days_after is not None:
        available_at = min(available_at, delivered_at + timedelta(days=days_after))
    return available_at


@transaction.atomic
def shorten_holdback_after_delivery(*, supplier_order: SupplierOrder) -> Payout | None:
    """The supplier order was delivered: its SCHEDULED payout becomes due earlier where
    PAYOUT_DAYS_AFTER_DELIVERY says so (never later). The next settle run transfers it."""
    if supplier_order.delivered_at is None or supplier_order.shipped_at is None:
        return None
    payout = (
        Payout.objects.select_for_update()
        .filter(supplier_order=supplier_order, status=Payout.Status.SCHEDULED)
        .first()
    )
    if payout is None:
        return None
    available_at = payout_available_at(
        shipped_at=supplier_order.shipped_at, delivered_at=supplier_order.delivered_at
    )
    if available_at < payout.available_at:
        payout.available_at = available_at
        payout.save(update_fields=["available_at", "updated_at"])
    return payout


def schedule_payouts(*, now: datetime | None = None) -> list[Payout]:
    """A SCHEDULED payout for each paid supplier order that shipped and has none yet."""
    now = now or timezone.now()
    candidates = (
        SupplierOrder.objects.filter(
            status__in=SHIPPED_STATUSES, shipped_at__isnull=False, payout__isnull=True
        )
        .filter(charges__status__in=Charge.PAID_STATUSES)
        .distinct()
        .order_by("shipped_at", "pk")
        .values_list("pk", "supplier_id", "currency", "shipped_at", "delivered_at", "number")[:1000]
    )
    created = []
    for pk, supplier_id, currency, shipped_at, delivered_at, number in candidates:
        if shipped_at is None:  # excluded by the query; the row's type cannot say so
            continue
        try:
            with transaction.atomic():
                payout = Payout.objects.create(
                    supplier_id=supplier_id,
                    supplier_order_id=pk,
                    amount=supplier_order_payable(
                        supplier_order=SupplierOrder(pk=pk, supplier_id=supplier_id)
                    ),
                    currency=currency,
                    status=Payout.Status.SCHEDULED,
                    available_at=payout_available_at(
                        shipped_at=shipped_at, delivered_at=delivered_at
                    ),
                    transfer_group=number,
                )
        except IntegrityError:  # another run scheduled it first
            continue
        created.append(payout)
    return created


def settle_payouts(*, now: datetime | None = None) -> dict[str, int]:
    """The beat job: schedule new payouts, release held ones that may go, transfer due ones,
    and send again refunds and reversals left pending by a Stripe outage."""
    # local: tasks.py imports the services
    from billing.tasks import reverse_transfer_task, submit_refund_task, transfer_payout_task

    now = now or timezone.now()
    scheduled = schedule_payouts(now=now)
    released = release_held_payouts()
    due = list(
        Payout.objects.filter(status=Payout.Status.SCHEDULED, available_at__lte=now)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .order_by("available_at")
        .values_list("pk", flat=True)[:500]
    )
    for payout_id in due:
        transaction.on_commit(partial(transfer_payout_task.delay, payout_id))
    stuck_before = now - STUCK_AFTER
    refunds = list(
        Refund.objects.filter(
            status=Refund.Status.PENDING, updated_at__lt=stuck_before
        ).values_list("pk", flat=True)[:100]
    )
    for refund_id in refunds:
        transaction.on_commit(partial(submit_refund_task.delay, refund_id))
    reversals = list(
        TransferReversal.objects.filter(
            status=TransferReversal.Status.PENDING, updated_at__lt=stuck_before
        ).values_list("pk", flat=True)[:100]
    )
    for reversal_id in reversals:
        transaction.on_commit(partial(reverse_transfer_task.delay, reversal_id))
    return {
        "scheduled": len(scheduled),
        "released": released,
        "due": len(due),
        "refunds": len(refunds),
        "reversals": len(reversals),
    }


def _hold_reason(*, supplier_order: SupplierOrder) -> str:
    # Only this supplier order's own open cases hold its payout: the supplier's other orders
    # are paid out as usual.
    dispute = (
        Dispute.objects.filter(supplier_order=supplier_order, status__in=Dispute.OPEN_STATUSES)
        .order_by("created_at")
        .first()
    )
    if dispute is not None and dispute.kind == Dispute.Kind.CHARGEBACK:
        return (
            "Frozen while the retailer's bank disputes the payment "
            f"({dispute.stripe_dispute_id}); released when the dispute closes."
        )
    if dispute is not None:
        return (
            f"Held while support mediates case #{dispute.pk} on {supplier_order.number}; "
            "released when the case is decided."
        )
    account = ConnectedAccount.objects.filter(supplier_id=supplier_order.supplier_id).first()
    if account is None:
        return "No Stripe account to pay into: set up payouts on your billing page."
    if not account.is_enabled:
        due = ", ".join(account.requirements_due) or "account details"
        return f"Stripe needs more details before paying you ({due}): finish on your billing page."
    return ""


def _hold(*, payout: Payout, reason: str) -> None:
    if payout.status == Payout.Status.HELD and payout.status_reason == reason:
        return
    payout.status = Payout.Status.HELD
    payout.status_reason = reason
    payout.save(update_fields=["status", "status_reason", "updated_at"])
    notify(
        organisation=payout.supplier,
        kind="billing.payout_held",
        message=f"Payout for {payout.supplier_order.number} is on hold. {reason}",
        level=Notification.Level.WARNING,
        url=reverse("billing:supplier"),
    )


def release_held_payouts(*, supplier: Supplier | None = None) -> int:
    """HELD payouts whose reason has gone go back to SCHEDULED; due ones are transferred."""
    from billing.tasks import transfer_payout_task  # local: tasks.py imports the services

    held = Payout.objects.filter(status=Payout.Status.HELD)
    if supplier is not None:
        held = held.filter(supplier=supplier)
    released = 0
    for payout_id, supplier_order_id in held.values_list("pk", "supplier_order_id")[:500]:
        with transaction.atomic():
            supplier_order = _lock(supplier_order_id)
            payout = Payout.objects.select_for_update().get(pk=payout_id)
            if payout.status != Payout.Status.HELD:
                continue
            reason = _hold_reason(supplier_order=supplier_order)
            if reason:
                if reason != payout.status_reason:
                    payout.status_reason = reason
                    payout.save(update_fields=["status_reason", "updated_at"])
                continue
            payout.status = Payout.Status.SCHEDULED
            payout.status_reason = ""
            payout.save(update_fields=["status", "status_reason", "updated_at"])
            released += 1
            if payout.available_at <= timezone.now():
                transaction.on_commit(partial(transfer_payout_task.delay, payout.pk))
    return released


def freeze_payout(*, supplier_order: SupplierOrder) -> Payout | None:
    """A dispute or case opened: this order's payout, if not transferred yet, waits until it
    closes."""
    payout = Payout.objects.select_for_update().filter(supplier_order=supplier_order).first()
    if payout is None or payout.status not in (Payout.Status.SCHEDULED, Payout.Status.HELD):
        return payout
    payout.supplier_order = supplier_order
    _hold(payout=payout, reason=_hold_reason(supplier_order=supplier_order))
    return payout


def transfer_payout(*, payout_id: int, now: datetime | None = None) -> Payout:
    """Transfer one due payout to the supplier's connected account (safe to run twice)."""
    now = now or timezone.now()
    with transaction.atomic():
        supplier_order_id = Payout.objects.values_list("supplier_order_id", flat=True).get(
            pk=payout_id
        )
        supplier_order = _lock(supplier_order_id)
        payout = Payout.objects.select_for_update().select_related("supplier").get(pk=payout_id)
        payout.supplier_order = supplier_order
        if payout.status != Payout.Status.SCHEDULED or payout.available_at > now:
            return payout
        if payout.retry_at is not None and payout.retry_at > now:
            return payout
        reason = _hold_reason(supplier_order=supplier_order)
        if reason:
            _hold(payout=payout, reason=reason)
            return payout
        amount = supplier_order_payable(supplier_order=supplier_order)
        if amount <= ZERO:
            payout.amount = ZERO
            payout.status = Payout.Status.CANCELLED
            payout.status_reason = "Nothing left to pay: the order was refunded."
            payout.save(update_fields=["amount", "status", "status_reason", "updated_at"])
            return payout
        payout.amount = amount
        account = ConnectedAccount.objects.get(supplier_id=supplier_order.supplier_id)
        charge = supplier_order.charges.filter(
            status__in=Charge.PAID_STATUSES, method=Charge.Method.CARD
        ).first()
        # A transfer funded by a charge is made from the balance that charge settled into, in
        # that currency (https://docs.stripe.com/connect/currencies): the supplier's share is
        # converted at the charge's own rate.
        currency, to_send = payout.currency, amount
        if charge is not None and charge.settlement_currency and charge.exchange_rate:
            currency = charge.settlement_currency
            to_send = quantize(amount * charge.exchange_rate)
        try:
            transfer = stripe_client.create_transfer(
                amount=to_minor_units(to_send, currency),
                currency=currency,
                destination=account.stripe_account_id,
                transfer_group=payout.transfer_group or supplier_order.number,
                source_transaction=charge.stripe_charge_id if charge else None,
                description=f"Dropship payout for {supplier_order.number}",
                metadata={"payout_id": str(payout.pk), "supplier_order": supplier_order.number},
                # Stripe keeps a refusal under its key: after a temporary one (nothing was
                # transferred) the next try needs a key of its own.
                idempotency_key=f"payout-{payout.pk}"
                + (f"-try-{payout.transfer_attempts + 1}" if payout.transfer_attempts else ""),
            )
        except IdempotencyConflict:
            # An earlier attempt reached Stripe with another amount (a refund came in between).
            found = _find_transfer(payout=payout)
            if found is None:
                raise
            transfer = found
        except StripeRequestError as exc:
            if exc.code in TEMPORARY_REFUSALS:
                _retry_later(payout=payout, now=now, message=exc.message)
                return payout
            payout.status = Payout.Status.FAILED
            payout.status_reason = f"Stripe refused the transfer: {exc.message}"[:300]
            payout.save(update_fields=["amount", "status", "status_reason", "updated_at"])
            logger.warning("Payout %s failed: %s", payout.pk, exc.message)
            return payout
        transferred = from_minor_units(int(transfer["amount"]), currency)
        if currency != payout.currency:
            payout.transfer_currency = currency
            payout.transfer_amount = transferred
            # What the supplier was owed, in its order's currency (Stripe sent it converted).
            transferred = amount if transferred == to_send else _converted_back(transferred, charge)
        payout.amount = transferred
        payout.status = Payout.Status.PAID
        payout.status_reason = ""
        payout.stripe_transfer_id = transfer["id"]
        payout.paid_at = now
        payout.retry_at = None
        payout.save(
            update_fields=[
                "amount",
                "status",
                "status_reason",
                "stripe_transfer_id",
                "paid_at",
                "retry_at",
                "transfer_currency",
                "transfer_amount",
                "updated_at",
            ]
        )
        record_transfer(
            supplier_order=supplier_order,
            amount=transferred,
            currency=payout.currency,
            memo=f"Transfer {transfer['id']} for {supplier_order.number}",
        )
        if transferred > amount:  # the earlier, larger transfer stands: take back the difference
            _queue_reversal(payout=payout, amount=transferred - amount, refund=None)
        notify(
            organisation=payout.supplier,
            kind="billing.payout_paid",
            message=f"{format_money(transferred, payout.currency)} transferred for "
            f"{supplier_order.number}.",
            level=Notification.Level.SUCCESS,
            url=reverse("billing:supplier"),
        )
        return payout


def _converted_back(amount: Decimal, charge: Charge | None) -> Decimal:
    rate = charge.exchange_rate if charge is not None else None
    return quantize(amount / rate) if rate else amount


def _retry_later(*, payout: Payout, now: datetime, message: str) -> None:
    """A temporary refusal: the payout stays SCHEDULED and says when it is tried again."""
    payout.transfer_attempts += 1
    wait = min(FIRST_RETRY_AFTER * 2 ** (payout.transfer_attempts - 1), LONGEST_RETRY_AFTER)
    payout.retry_at = now + wait
    payout.status_reason = (
        f"Waiting for funds in the platform's Stripe balance; next try at "
        f"{payout.retry_at:%Y-%m-%d %H:%M} UTC (try {payout.transfer_attempts}). Stripe said: "
        f"{message}"
    )[:300]
    payout.save(
        update_fields=["amount", "transfer_attempts", "retry_at", "status_reason", "updated_at"]
    )
    logger.warning("Payout %s waits for funds (try %s)", payout.pk, payout.transfer_attempts)


def _find_transfer(*, payout: Payout) -> dict[str, Any] | None:
    for transfer in stripe_client.find_transfers(transfer_group=payout.transfer_group):
        if (transfer.get("metadata") or {}).get("payout_id") == str(payout.pk):
            return transfer
    return None


def _queue_reversal(*, payout: Payout, amount: Decimal, refund: Refund | None) -> TransferReversal:
    from billing.tasks import reverse_transfer_task  # local: tasks.py imports the services

    pending = (
        TransferReversal.objects.filter(payout=payout)
        .exclude(status=TransferReversal.Status.FAILED)
        .aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    amount = min(amount, payout.amount - pending)
    if amount <= ZERO:
        raise ValueError(f"Payout {payout.pk} has nothing left to reverse.")
    number = TransferReversal.objects.filter(payout=payout).count() + 1
    reversal = TransferReversal.objects.create(
        payout=payout,
        refund=refund,
        amount=amount,
        currency=payout.currency,
        idempotency_key=f"payout-{payout.pk}-reversal-{number}",
    )
    transaction.on_commit(partial(reverse_transfer_task.delay, reversal.pk))
    return reversal


def take_back_from_payout(*, supplier_order: SupplierOrder, refund: Refund) -> None:
    """After a refund: the supplier's net share comes back from its transfer if it was paid."""
    payout = Payout.objects.select_for_update().filter(supplier_order=supplier_order).first()
    if payout is None or payout.status not in (Payout.Status.PAID, Payout.Status.REVERSED):
        return  # not transferred yet: the payout will be computed from the ledger
    if refund.supplier_net > ZERO:
        _queue_reversal(payout=payout, amount=refund.supplier_net, refund=refund)


def reverse_transfer(*, reversal_id: int) -> TransferReversal:
    """Send one pending reversal to Stripe (safe to run twice)."""
    with transaction.atomic():
        reversal = TransferReversal.objects.select_related("payout").get(pk=reversal_id)
        supplier_order = _lock(reversal.payout.supplier_order_id)
        reversal = TransferReversal.objects.select_for_update().get(pk=reversal_id)
        payout = (
            Payout.objects.select_for_update().select_related("supplier").get(pk=reversal.payout_id)
        )
        if reversal.status != TransferReversal.Status.PENDING:
            return reversal
        if not payout.stripe_transfer_id:
            return _fail_reversal(
                reversal, message=f"Payout {payout.pk} has no Stripe transfer to reverse."
            )
        amount, currency = reversal.amount, reversal.currency
        if payout.transfer_currency and payout.amount:
            # The transfer left in another currency: it is reversed in that one, pro rata.
            currency = payout.transfer_currency
            amount = quantize(reversal.amount * payout.transfer_amount / payout.amount)
        try:
            result = stripe_client.create_transfer_reversal(
                transfer_id=payout.stripe_transfer_id,
                amount=to_minor_units(amount, currency),
                metadata={
                    "reversal_id": str(reversal.pk),
                    "refund_id": str(reversal.refund_id or ""),
                    "supplier_order": supplier_order.number,
                },
                idempotency_key=reversal.idempotency_key,
            )
        except StripeRequestError as exc:
            return _fail_reversal(reversal, message=exc.message)
        _settle_reversal(
            reversal=reversal, payout=payout, supplier_order=supplier_order, stripe_id=result["id"]
        )
        return reversal


def _fail_reversal(reversal: TransferReversal, *, message: str) -> TransferReversal:
    reversal.status = TransferReversal.Status.FAILED
    reversal.failure_message = message[:500]
    reversal.save(update_fields=["status", "failure_message", "updated_at"])
    logger.warning("Reversal %s failed: %s", reversal.pk, message)
    return reversal


def _settle_reversal(
    *,
    reversal: TransferReversal,
    payout: Payout,
    supplier_order: SupplierOrder,
    stripe_id: str,
) -> None:
    reversal.status = TransferReversal.Status.SUCCEEDED
    reversal.stripe_reversal_id = stripe_id
    reversal.reversed_at = timezone.now()
    reversal.failure_message = ""
    reversal.save(
        update_fields=[
            "status",
            "stripe_reversal_id",
            "reversed_at",
            "failure_message",
            "updated_at",
        ]
    )
    payout.amount_reversed += reversal.amount
    if payout.amount_reversed >= payout.amount:
        payout.status = Payout.Status.REVERSED
    payout.save(update_fields=["amount_reversed", "status", "updated_at"])
    record_reversal(
        supplier_order=supplier_order,
        amount=reversal.amount,
        currency=reversal.currency,
        memo=f"Reversal {stripe_id} of {payout.stripe_transfer_id}",
    )


def apply_transfer_reversed(*, transfer: dict[str, Any]) -> int:
    """transfer.reversed: book every reversal of the transfer we have not booked yet (ours still
    in flight, or one made in the Stripe dashboard). Returns how many were booked."""
    payout_row = Payout.objects.filter(stripe_transfer_id=transfer.get("id") or "-").first()
    if payout_row is None:
        return 0
    supplier_order = _lock(payout_row.supplier_order_id)
    payout = Payout.objects.select_for_update().select_related("supplier").get(pk=payout_row.pk)
    booked = 0
    reversals = (transfer.get("reversals") or {}).get("data") or []
    for item in sorted(reversals, key=lambda r: (r.get("created") or 0, r["id"])):
        if TransferReversal.objects.filter(stripe_reversal_id=item["id"]).exists():
            continue
        amount = from_minor_units(int(item["amount"]), payout.currency)
        ours_id = (item.get("metadata") or {}).get("reversal_id")
        reversal = None
        if ours_id and str(ours_id).isdigit():
            reversal = (
                TransferReversal.objects.select_for_update()
                .filter(pk=int(ours_id), payout=payout, status=TransferReversal.Status.PENDING)
                .first()
            )
        if reversal is None:
            reversal = TransferReversal.objects.create(
                payout=payout,
                amount=amount,
                currency=payout.currency,
                idempotency_key=f"stripe-{item['id']}",
            )
        _settle_reversal(
            reversal=reversal, payout=payout, supplier_order=supplier_order, stripe_id=item["id"]
        )
        booked += 1
    return booked
