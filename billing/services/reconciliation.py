"""Daily reconciliation: the ledger, Stripe's balance transactions and the supplier orders must
tell the same story. Every disagreement becomes a ReconciliationMismatch for admins.

Compared, for one day (UTC):
- each Stripe balance transaction of the kinds we cause (charge, refund, refund failure,
  transfer, transfer reversal) against the record we booked for it: missing, or a different
  amount or fee (a `refund_failure` gives a booked refund's money back: we must have reversed it);
- each record we booked that day against Stripe: missing there;
- each supplier order with money movements that day: its status against its charges, the money
  the ledger holds for it against the charge, and the ledger's transfers against its payout;
- every ledger transaction of the day balances.
Dispute withdrawals (Stripe "adjustment" transactions) are not compared: a dispute is booked when
it is lost, not while it is open.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Q, Sum
from django.utils import timezone

from billing.models import (
    Charge,
    LedgerEntry,
    Payout,
    ReconciliationMismatch,
    ReconciliationRun,
    Refund,
    TransferReversal,
)
from dropship.core.money import ZERO, format_money, from_minor_units
from integrations.stripe import client as stripe_client
from integrations.stripe.client import StripeRequestError, StripeTemporaryError
from orders.models import SupplierOrder

logger = logging.getLogger(__name__)
Kind = ReconciliationMismatch.Kind
Account = LedgerEntry.Account
MARGIN = timedelta(hours=1)  # a call at 23:59:59 may be booked after midnight
PAID_ORDER_STATUSES = {
    SupplierOrder.Status.PAID,
    SupplierOrder.Status.SENT,
    SupplierOrder.Status.ACCEPTED,
    SupplierOrder.Status.SHIPPED,
    SupplierOrder.Status.DELIVERED,
}
UNPAID_ORDER_STATUSES = {
    SupplierOrder.Status.PENDING,
    SupplierOrder.Status.PAYMENT_FAILED,
    SupplierOrder.Status.CANCELLED,
}


def reconcile_day(*, day: date) -> ReconciliationRun:
    run = ReconciliationRun.objects.create(day=day)
    start = datetime.combine(day, time.min, tzinfo=UTC)
    end = start + timedelta(days=1)
    try:
        transactions = list(
            stripe_client.iter_balance_transactions(
                created_gte=int((start - MARGIN).timestamp()),
                created_lt=int((end + MARGIN).timestamp()),
            )
        )
    except (StripeTemporaryError, StripeRequestError) as exc:
        run.status = ReconciliationRun.Status.FAILED
        run.error = f"Could not read Stripe's balance transactions: {exc}"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        return run
    found: list[ReconciliationMismatch] = []
    in_day = [
        bt for bt in transactions if start.timestamp() <= int(bt["created"]) < end.timestamp()
    ]
    found += _compare_stripe_to_books(in_day)
    found += _compare_books_to_stripe(transactions, start=start, end=end)
    checked_orders, order_findings = _check_supplier_orders(start=start, end=end)
    found += order_findings
    found += _check_balanced(start=start, end=end)
    for mismatch in found:
        mismatch.run = run
    ReconciliationMismatch.objects.bulk_create(found)
    run.balance_transactions_checked = len(in_day)
    run.supplier_orders_checked = checked_orders
    run.mismatch_count = len(found)
    run.status = ReconciliationRun.Status.MISMATCHES if found else ReconciliationRun.Status.CLEAN
    run.finished_at = timezone.now()
    run.save()
    if found:
        logger.warning("Reconciliation of %s found %d mismatch(es)", day, len(found))
    return run


def _mismatch(
    kind: str,
    reference: object,
    message: str,
    *,
    supplier_order_id: int | None = None,
    expected: object = "",
    actual: object = "",
) -> ReconciliationMismatch:
    return ReconciliationMismatch(
        kind=kind,
        reference=str(reference)[:100],
        supplier_order_id=supplier_order_id,
        expected=str(expected)[:100],
        actual=str(actual)[:100],
        message=message[:500],
    )


def _compare_stripe_to_books(transactions: list[dict[str, Any]]) -> list[ReconciliationMismatch]:
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bt in transactions:
        by_type[bt["type"]].append(bt)
    charges = {
        c.stripe_charge_id: c
        for c in Charge.objects.filter(
            stripe_charge_id__in=[bt["source"] for bt in by_type["charge"] + by_type["payment"]]
        ).exclude(stripe_charge_id="")
    }
    refunds = {
        r.stripe_refund_id: r
        for r in Refund.objects.filter(
            stripe_refund_id__in=[
                bt["source"] for bt in by_type["refund"] + by_type["refund_failure"]
            ]
        )
    }
    payouts = {
        p.stripe_transfer_id: p
        for p in Payout.objects.filter(
            stripe_transfer_id__in=[bt["source"] for bt in by_type["transfer"]]
        )
    }
    reversals = {
        r.stripe_reversal_id: r
        for r in TransferReversal.objects.select_related("payout").filter(
            stripe_reversal_id__in=[bt["source"] for bt in by_type["transfer_refund"]]
        )
    }
    found = []
    for bt in by_type["charge"] + by_type["payment"]:
        currency = bt["currency"].upper()
        amount = from_minor_units(int(bt["amount"]), currency)
        fee = from_minor_units(int(bt["fee"]), currency)
        charge = charges.get(bt["source"])
        if charge is not None and charge.settlement_currency == currency:
            # Settled in the platform's other currency: Stripe's figures are compared with the
            # ones it gave us then (the ledger holds them converted to the charge's currency).
            charge.amount, charge.stripe_fee = charge.settlement_amount, charge.settlement_fee
        if charge is None or not charge.is_paid:
            found.append(
                _mismatch(
                    Kind.MISSING_IN_LEDGER,
                    bt["source"],
                    f"Stripe took a payment of {format_money(amount, currency)} ({bt['source']}) "
                    "that is not booked on any supplier order.",
                    actual=amount,
                )
            )
            continue
        if amount != charge.amount:
            found.append(
                _mismatch(
                    Kind.AMOUNT,
                    bt["source"],
                    f"Stripe charged {format_money(amount, currency)}, we booked "
                    f"{format_money(charge.amount, currency)}.",
                    supplier_order_id=charge.supplier_order_id,
                    expected=charge.amount,
                    actual=amount,
                )
            )
        if fee != charge.stripe_fee:
            found.append(
                _mismatch(
                    Kind.FEE,
                    bt["source"],
                    f"Stripe's fee is {format_money(fee, currency)}, we booked "
                    f"{format_money(charge.stripe_fee, currency)}.",
                    supplier_order_id=charge.supplier_order_id,
                    expected=charge.stripe_fee,
                    actual=fee,
                )
            )
    for bt in by_type["refund"]:
        currency = bt["currency"].upper()
        amount = -from_minor_units(int(bt["amount"]), currency)
        refund = refunds.get(bt["source"])
        if refund is None or refund.refunded_at is None:  # never booked (a reversed one was)
            found.append(
                _mismatch(
                    Kind.MISSING_IN_LEDGER,
                    bt["source"],
                    f"Stripe refunded {format_money(amount, currency)} ({bt['source']}) "
                    "and our books do not have that refund.",
                    actual=amount,
                )
            )
        elif refund.currency == currency and refund.amount != amount:
            found.append(
                _mismatch(
                    Kind.AMOUNT,
                    bt["source"],
                    f"Stripe refunded {format_money(amount, currency)}, we booked "
                    f"{format_money(refund.amount, currency)}.",
                    supplier_order_id=refund.supplier_order_id,
                    expected=refund.amount,
                    actual=amount,
                )
            )
    for bt in by_type["refund_failure"]:
        currency = bt["currency"].upper()
        amount = from_minor_units(int(bt["amount"]), currency)
        refund = refunds.get(bt["source"])
        if refund is None or refund.refunded_at is None:
            continue  # it failed before we booked it: nothing was booked, nothing to reverse
        if refund.reversed_at is None:
            found.append(
                _mismatch(
                    Kind.MISSING_IN_LEDGER,
                    bt["source"],
                    f"Stripe gave back {format_money(amount, currency)} of refund {bt['source']} "
                    "that failed at the bank, and our books still count it refunded.",
                    supplier_order_id=refund.supplier_order_id,
                    actual=amount,
                )
            )
        elif refund.currency == currency and refund.amount != amount:
            found.append(
                _mismatch(
                    Kind.AMOUNT,
                    bt["source"],
                    f"Stripe gave back {format_money(amount, currency)} of a failed refund, we "
                    f"reversed {format_money(refund.amount, currency)}.",
                    supplier_order_id=refund.supplier_order_id,
                    expected=refund.amount,
                    actual=amount,
                )
            )
    for bt in by_type["transfer"]:
        currency = bt["currency"].upper()
        amount = -from_minor_units(int(bt["amount"]), currency)
        payout = payouts.get(bt["source"])
        if payout is not None and payout.transfer_currency == currency:
            payout.amount = payout.transfer_amount  # sent converted: compare what was sent
        if payout is None:
            found.append(
                _mismatch(
                    Kind.MISSING_IN_LEDGER,
                    bt["source"],
                    f"Stripe transferred {format_money(amount, currency)} ({bt['source']}) "
                    "that no payout of ours accounts for.",
                    actual=amount,
                )
            )
        elif payout.amount != amount:
            found.append(
                _mismatch(
                    Kind.AMOUNT,
                    bt["source"],
                    f"Stripe transferred {format_money(amount, currency)}, the payout says "
                    f"{format_money(payout.amount, currency)}.",
                    supplier_order_id=payout.supplier_order_id,
                    expected=payout.amount,
                    actual=amount,
                )
            )
    for bt in by_type["transfer_refund"]:
        currency = bt["currency"].upper()
        amount = from_minor_units(int(bt["amount"]), currency)
        reversal = reversals.get(bt["source"])
        if reversal is None or reversal.status != TransferReversal.Status.SUCCEEDED:
            found.append(
                _mismatch(
                    Kind.MISSING_IN_LEDGER,
                    bt["source"],
                    f"Stripe reversed {format_money(amount, currency)} of a transfer "
                    f"({bt['source']}) and our books do not have it.",
                    actual=amount,
                )
            )
        elif reversal.currency == currency and reversal.amount != amount:
            found.append(
                _mismatch(
                    Kind.AMOUNT,
                    bt["source"],
                    f"Stripe reversed {format_money(amount, currency)}, we booked "
                    f"{format_money(reversal.amount, currency)}.",
                    supplier_order_id=reversal.payout.supplier_order_id,
                    expected=reversal.amount,
                    actual=amount,
                )
            )
    return found


def _compare_books_to_stripe(
    transactions: list[dict[str, Any]], *, start: datetime, end: datetime
) -> list[ReconciliationMismatch]:
    sources = {bt["source"] for bt in transactions}
    failures = {bt["source"] for bt in transactions if bt["type"] == "refund_failure"}
    found = []
    for charge in Charge.objects.filter(
        method=Charge.Method.CARD,
        status__in=Charge.PAID_STATUSES,
        settled_at__gte=start,
        settled_at__lt=end,
    ):
        if charge.stripe_charge_id not in sources:
            found.append(
                _mismatch(
                    Kind.MISSING_IN_STRIPE,
                    charge.stripe_charge_id or f"charge {charge.pk}",
                    f"We booked a card payment of {format_money(charge.amount, charge.currency)} "
                    "that Stripe's balance does not show.",
                    supplier_order_id=charge.supplier_order_id,
                    expected=charge.amount,
                )
            )
    for refund in Refund.objects.filter(
        stripe_refund_id__isnull=False,
        reversed_at__gte=start,
        reversed_at__lt=end,
    ):
        if refund.stripe_refund_id not in failures:
            found.append(
                _mismatch(
                    Kind.MISSING_IN_STRIPE,
                    refund.stripe_refund_id,
                    f"We reversed a failed refund of "
                    f"{format_money(refund.amount, refund.currency)} that Stripe's balance does "
                    "not show given back.",
                    supplier_order_id=refund.supplier_order_id,
                    expected=refund.amount,
                )
            )
    for refund in Refund.objects.filter(
        stripe_refund_id__isnull=False,
        refunded_at__gte=start,
        refunded_at__lt=end,
    ):
        if refund.stripe_refund_id not in sources:
            found.append(
                _mismatch(
                    Kind.MISSING_IN_STRIPE,
                    refund.stripe_refund_id,
                    f"We booked a refund of {format_money(refund.amount, refund.currency)} "
                    "that Stripe's balance does not show.",
                    supplier_order_id=refund.supplier_order_id,
                    expected=refund.amount,
                )
            )
    for payout in Payout.objects.filter(
        stripe_transfer_id__isnull=False, paid_at__gte=start, paid_at__lt=end
    ):
        if payout.stripe_transfer_id not in sources:
            found.append(
                _mismatch(
                    Kind.MISSING_IN_STRIPE,
                    payout.stripe_transfer_id,
                    f"We booked a transfer of {format_money(payout.amount, payout.currency)} "
                    "that Stripe's balance does not show.",
                    supplier_order_id=payout.supplier_order_id,
                    expected=payout.amount,
                )
            )
    for reversal in TransferReversal.objects.select_related("payout").filter(
        status=TransferReversal.Status.SUCCEEDED, reversed_at__gte=start, reversed_at__lt=end
    ):
        if reversal.stripe_reversal_id not in sources:
            found.append(
                _mismatch(
                    Kind.MISSING_IN_STRIPE,
                    reversal.stripe_reversal_id or f"reversal {reversal.pk}",
                    f"We booked a reversal of {format_money(reversal.amount, reversal.currency)} "
                    "that Stripe's balance does not show.",
                    supplier_order_id=reversal.payout.supplier_order_id,
                    expected=reversal.amount,
                )
            )
    return found


def _check_supplier_orders(
    *, start: datetime, end: datetime
) -> tuple[int, list[ReconciliationMismatch]]:
    ids = set(
        LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(supplier_order__isnull=True)
        .values_list("supplier_order_id", flat=True)
    ) | set(
        SupplierOrder.objects.filter(
            updated_at__gte=start, updated_at__lt=end, status__in=PAID_ORDER_STATUSES
        ).values_list("pk", flat=True)
    )
    if not ids:
        return 0, []
    orders = {so.pk: so for so in SupplierOrder.objects.filter(pk__in=ids)}
    charges: defaultdict[int, list[Charge]] = defaultdict(list)
    for paid_charge in Charge.objects.filter(
        supplier_order_id__in=ids, status__in=Charge.PAID_STATUSES
    ):
        charges[paid_charge.supplier_order_id].append(paid_charge)
    payouts = {p.supplier_order_id: p for p in Payout.objects.filter(supplier_order_id__in=ids)}
    pending_reversals = set(
        TransferReversal.objects.filter(
            payout__supplier_order_id__in=ids, status=TransferReversal.Status.PENDING
        ).values_list("payout__supplier_order_id", flat=True)
    )
    money: defaultdict[int, Decimal] = defaultdict(lambda: ZERO)
    transfers: defaultdict[int, Decimal] = defaultdict(lambda: ZERO)
    payable: defaultdict[int, Decimal] = defaultdict(lambda: ZERO)
    rows = (
        LedgerEntry.objects.filter(supplier_order_id__in=ids)
        .values("supplier_order_id", "account", "kind")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        so_id, account, kind, total = (
            row["supplier_order_id"],
            row["account"],
            row["kind"],
            row["total"],
        )
        if account in (Account.STRIPE_CLEARING, Account.RETAILER_RECEIVABLE) and kind in (
            LedgerEntry.Kind.CHARGE,
            LedgerEntry.Kind.FEE,
            LedgerEntry.Kind.REFUND,
            LedgerEntry.Kind.REFUND_FAILED,
        ):
            money[so_id] += total
        if account == Account.SUPPLIER_PAYABLE:
            payable[so_id] += total
            if kind in (LedgerEntry.Kind.TRANSFER, LedgerEntry.Kind.REVERSAL):
                transfers[so_id] += total
    found = []
    for so_id, so in sorted(orders.items()):
        paid = charges.get(so_id, [])
        if len(paid) > 1:
            found.append(
                _mismatch(
                    Kind.ORDER_STATE,
                    so.number,
                    f"{so.number} has {len(paid)} payments; it should have one.",
                    supplier_order_id=so_id,
                    expected=1,
                    actual=len(paid),
                )
            )
        charge = paid[0] if paid else None
        if so.status in PAID_ORDER_STATUSES and charge is None:
            found.append(
                _mismatch(
                    Kind.ORDER_STATE,
                    so.number,
                    f"{so.number} is {so.get_status_display().lower()} but has no payment.",
                    supplier_order_id=so_id,
                )
            )
        if (
            so.status in UNPAID_ORDER_STATUSES
            and charge is not None
            and charge.amount_refunded < charge.amount
        ):
            found.append(
                _mismatch(
                    Kind.ORDER_STATE,
                    so.number,
                    f"{so.number} is {so.get_status_display().lower()} but "
                    f"{format_money(charge.refundable, charge.currency)} of its payment is kept.",
                    supplier_order_id=so_id,
                    actual=charge.refundable,
                )
            )
        held = (charge.amount - charge.amount_refunded) if charge else ZERO
        if money[so_id] != held:
            found.append(
                _mismatch(
                    Kind.AMOUNT,
                    so.number,
                    f"The ledger holds {money[so_id]} for {so.number}; its payment less refunds "
                    f"is {held}.",
                    supplier_order_id=so_id,
                    expected=held,
                    actual=money[so_id],
                )
            )
        payout = payouts.get(so_id)
        paid_out = (
            payout.amount - payout.amount_reversed
            if payout is not None and payout.stripe_transfer_id
            else ZERO
        )
        if transfers[so_id] != paid_out:
            found.append(
                _mismatch(
                    Kind.AMOUNT,
                    so.number,
                    f"The ledger paid {transfers[so_id]} out for {so.number}; its payout says "
                    f"{paid_out}.",
                    supplier_order_id=so_id,
                    expected=paid_out,
                    actual=transfers[so_id],
                )
            )
        if (
            payout is not None
            and payout.stripe_transfer_id
            and so_id not in pending_reversals
            and payable[so_id] != ZERO
        ):
            found.append(
                _mismatch(
                    Kind.AMOUNT,
                    so.number,
                    f"{so.number} was paid out but the supplier's balance on it is "
                    f"{-payable[so_id]} (positive: we owe it, negative: it owes us).",
                    supplier_order_id=so_id,
                    expected=ZERO,
                    actual=-payable[so_id],
                )
            )
    return len(orders), found


def _check_balanced(*, start: datetime, end: datetime) -> list[ReconciliationMismatch]:
    sums: dict[tuple[UUID, str], Decimal] = defaultdict(lambda: ZERO)
    touched = LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end).values(
        "transaction_id"
    )
    for transaction_id, currency, amount in LedgerEntry.objects.filter(
        Q(transaction_id__in=touched)
    ).values_list("transaction_id", "currency", "amount"):
        sums[(transaction_id, currency)] += amount
    return [
        _mismatch(
            Kind.UNBALANCED,
            transaction_id,
            f"Ledger transaction {transaction_id} sums to {total} {currency}, not zero.",
            actual=total,
        )
        for (transaction_id, currency), total in sums.items()
        if total != ZERO
    ]
