"""Reads of money: balances are sums over ledger rows, never stored totals."""

from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from billing.models import Charge, Invoice, LedgerEntry, Payout
from dropship.core.money import ZERO
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


def list_invoices_for_retailer(*, retailer: Retailer) -> QuerySet[Invoice]:
    return Invoice.objects.filter(retailer=retailer).order_by("-issued_at", "-id")


def list_charges_for_retailer(*, retailer: Retailer) -> QuerySet[Charge]:
    return (
        Charge.objects.filter(retailer=retailer)
        .select_related("supplier_order__order", "supplier_order__supplier", "invoice")
        .order_by("-created_at", "-id")
    )


def list_payouts_for_supplier(*, supplier: Supplier) -> QuerySet[Payout]:
    return (
        Payout.objects.filter(supplier=supplier)
        .select_related("supplier_order__order")
        .order_by("-created_at")
    )
