"""Reads of money: balances are sums over ledger rows, never stored totals. Every list is scoped
to its owner; another organisation's invoice is a 404."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from billing.models import (
    BankPayout,
    Charge,
    ConnectedAccount,
    FeeSchedule,
    Invoice,
    LedgerEntry,
    Payout,
    Refund,
    SubscriptionInvoice,
)
from dropship.core.money import ZERO
from orders.models import SupplierOrder
from retailers.models import Retailer
from suppliers.models import Supplier


def account_balance(
    *,
    account: str,
    currency: str,
    retailer: Retailer | None = None,
    supplier: Supplier | None = None,
) -> Decimal:
    filters = Q(account=account, currency=currency)
    if retailer is not None:
        filters &= Q(retailer=retailer)
    if supplier is not None:
        filters &= Q(supplier=supplier)
    return LedgerEntry.objects.filter(filters).aggregate(total=Sum("amount"))["total"] or ZERO


@dataclass(frozen=True)
class FrozenFees:
    platform_fee: Decimal
    commission_percent: Decimal
    currency: str
    # The plan's monthly routed-order limit (None: unlimited) and what each order over it adds
    # to the platform fee (billing/services/usage.py).
    monthly_order_limit: int | None = None
    overage_order_fee: Decimal = ZERO


def get_fees_for_retailer(*, retailer: Retailer) -> FrozenFees:
    """The fee and commission of the retailer's plan, to freeze on a new supplier order."""
    schedule = FeeSchedule.objects.get(plan=retailer.plan)
    return FrozenFees(
        platform_fee=schedule.order_fee,
        commission_percent=schedule.commission_percent,
        currency=schedule.currency,
        monthly_order_limit=schedule.monthly_order_limit,
        overage_order_fee=schedule.overage_order_fee,
    )


def list_invoices_for_retailer(*, retailer: Retailer) -> QuerySet[Invoice]:
    return Invoice.objects.filter(retailer=retailer).order_by("-issued_at", "-id")


def get_invoice_for_retailer(*, retailer: Retailer, number: str) -> Invoice:
    return get_object_or_404(
        Invoice.objects.select_related("retailer"), retailer=retailer, number=number
    )


def list_charges_for_retailer(*, retailer: Retailer) -> QuerySet[Charge]:
    return (
        Charge.objects.filter(retailer=retailer)
        .select_related("supplier_order__order", "supplier_order__supplier", "invoice")
        .order_by("-created_at", "-id")
    )


def list_payment_failures_for_retailer(*, retailer: Retailer) -> QuerySet[SupplierOrder]:
    return (
        SupplierOrder.objects.filter(
            order__retailer=retailer, status=SupplierOrder.Status.PAYMENT_FAILED
        )
        .select_related("order")
        .order_by("created_at")
    )


def list_payouts_for_supplier(*, supplier: Supplier) -> QuerySet[Payout]:
    """Payout statement rows: gross, commission and the supplier's share of refunds per order."""
    refunds = (
        Refund.objects.filter(
            supplier_order=OuterRef("supplier_order"), status=Refund.Status.SUCCEEDED
        )
        .values("supplier_order")
        .annotate(total=Sum("supplier_share") - Sum("commission_returned"))
        .values("total")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    return (
        Payout.objects.filter(supplier=supplier)
        .select_related("supplier_order__order")
        .annotate(
            refunded_share=Coalesce(
                Subquery(refunds, output_field=money), Value(ZERO), output_field=money
            )
        )
        .order_by("-created_at", "-id")
    )


def list_bank_payouts_for_supplier(*, supplier: Supplier) -> QuerySet[BankPayout]:
    return BankPayout.objects.filter(supplier=supplier).order_by("-reported_at", "-id")


def get_connected_account(*, supplier: Supplier) -> ConnectedAccount | None:
    return ConnectedAccount.objects.filter(supplier=supplier).first()


def payout_totals_for_supplier(*, supplier: Supplier) -> dict[str, dict[str, Decimal]]:
    """Per status group and currency: paid (net of reversals) and waiting (scheduled or held)."""
    totals: dict[str, dict[str, Decimal]] = {"paid": {}, "waiting": {}}
    rows = (
        Payout.objects.filter(supplier=supplier)
        .values("status", "currency")
        .annotate(amount=Sum("amount"), reversed=Sum("amount_reversed"))
    )
    for row in rows:
        if row["status"] in (Payout.Status.PAID, Payout.Status.REVERSED):
            group = totals["paid"]
            group[row["currency"]] = (
                group.get(row["currency"], ZERO) + row["amount"] - row["reversed"]
            )
        elif row["status"] in (Payout.Status.SCHEDULED, Payout.Status.HELD):
            group = totals["waiting"]
            group[row["currency"]] = group.get(row["currency"], ZERO) + row["amount"]
    return totals


# --- plans ---------------------------------------------------------------------------------------
def list_plans() -> QuerySet[FeeSchedule]:
    return FeeSchedule.objects.order_by("monthly_price")


def get_plan(*, plan: str) -> FeeSchedule | None:
    return FeeSchedule.objects.filter(plan=plan).first()


def plan_name(plan: str) -> str:
    """Starter, Growth or Pro for a plan key (the key itself for an unknown one)."""
    return str(dict(FeeSchedule._meta.get_field("plan").choices or []).get(plan, plan))


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a retailer's billing history: a plan invoice or a charge for an order."""

    when: datetime
    kind: str
    description: str
    status: str
    status_label: str
    amount: Decimal
    currency: str
    url: str = ""


HISTORY_LIMIT = 500


def list_billing_history_for_retailer(*, retailer: Retailer) -> list[HistoryEntry]:
    """Plan invoices and per-order charges in one list, newest first (the latest
    HISTORY_LIMIT of each)."""
    entries = [
        HistoryEntry(
            when=invoice.issued_at,
            kind="Plan",
            description=f"Plan invoice {invoice.number or invoice.stripe_invoice_id}"
            + (f" ({invoice.description})" if invoice.description else ""),
            status=invoice.status.upper(),
            status_label=invoice.get_status_display(),
            amount=invoice.amount_paid if invoice.status == "paid" else invoice.amount_due,
            currency=invoice.currency,
            url=invoice.hosted_invoice_url,
        )
        for invoice in SubscriptionInvoice.objects.filter(retailer=retailer).order_by(
            "-issued_at", "-id"
        )[:HISTORY_LIMIT]
    ]
    entries += [
        HistoryEntry(
            when=charge.created_at,
            kind="Order",
            description=f"Supplier order {charge.supplier_order.number} "
            f"(order {charge.supplier_order.order.number})",
            status=charge.status,
            status_label=charge.get_status_display(),
            amount=charge.amount,
            currency=charge.currency,
        )
        for charge in list_charges_for_retailer(retailer=retailer)[:HISTORY_LIMIT]
    ]
    return sorted(entries, key=lambda entry: entry.when, reverse=True)
