"""Reads of orders shared by pages, API, webhooks and tasks, always scoped to their owner.

A retailer reads its own orders (another retailer's order is a 404). A supplier sees its supplier
orders once they are paid (PENDING / PAYMENT_FAILED ones are the retailer's business); another
supplier's order is simply not found (404).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from billing.models import Charge
from dropship.core.money import ZERO, quantize
from orders.models import (
    CaseAttachment,
    CaseStatement,
    Dispute,
    Order,
    OrderEvent,
    OrderItem,
    ReturnLine,
    ReturnRequest,
    Shipment,
    ShipmentItem,
    SupplierOrder,
)
from orders.services.timeline import EventKind
from retailers.models import Retailer, Store
from retailers.pricing import Overhead
from suppliers.models import Supplier


def list_orders_for_retailer(
    *,
    retailer: Retailer,
    status: str = "",
    store_id: int | None = None,
    query: str = "",
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> QuerySet[Order]:
    """The retailer's orders, newest first; `created_from` is inclusive, `created_to` not."""
    orders = (
        Order.objects.filter(retailer=retailer)
        .select_related("store")
        .annotate(
            supplier_order_count=Count("supplier_orders", distinct=True),
            exception_count=Count(
                "items", filter=Q(items__status=OrderItem.Status.EXCEPTION), distinct=True
            ),
        )
        .defer("shopper_name", "shopper_email", "shipping_address")
        .order_by("-created_at", "-id")
    )
    if status:
        orders = orders.filter(status=status)
    if store_id:
        orders = orders.filter(store_id=store_id)
    if query:
        orders = orders.filter(Q(number__icontains=query) | Q(store_order_id=query))
    if created_from is not None:
        orders = orders.filter(created_at__gte=created_from)
    if created_to is not None:
        orders = orders.filter(created_at__lt=created_to)
    return orders


def list_invoice_numbers_for_order(*, order: Order) -> dict[int, str]:
    """{supplier order id: the number of the invoice its charge is on}, for invoiced ones (a
    retailer on payment terms is invoiced monthly, a card charge once it is settled)."""
    return dict(
        Charge.objects.filter(supplier_order__order=order, invoice__isnull=False)
        .order_by("pk")
        .values_list("supplier_order_id", "invoice__number")
    )


def get_order_for_retailer(*, retailer: Retailer, order_id: int) -> Order:
    return get_object_or_404(
        Order.objects.select_related("store", "retailer").prefetch_related(
            Prefetch(
                "supplier_orders",
                queryset=SupplierOrder.objects.select_related("supplier")
                .prefetch_related(
                    Prefetch(
                        "shipments",
                        queryset=Shipment.objects.prefetch_related("items").order_by("pk"),
                    )
                )
                .order_by("pk"),
            ),
            Prefetch(
                "items",
                queryset=OrderItem.objects.select_related(
                    "variant__product", "supplier_order"
                ).order_by("pk"),
            ),
            Prefetch(
                "events",
                queryset=OrderEvent.objects.select_related("supplier_order", "actor").order_by(
                    "created_at", "pk"
                ),
            ),
        ),
        pk=order_id,
        retailer=retailer,
    )


def get_order_item_for_retailer(*, retailer: Retailer, order_id: int, item_id: int) -> OrderItem:
    return get_object_or_404(
        OrderItem.objects.select_related("order", "variant"),
        pk=item_id,
        order_id=order_id,
        order__retailer=retailer,
    )


def list_stores_for_order_filter(*, retailer: Retailer) -> QuerySet[Store]:
    return Store.objects.filter(retailer=retailer).only("pk", "name").order_by("name")


# --- supplier -----------------------------------------------------------------------------------
S = SupplierOrder.Status
VISIBLE = (S.PAID, S.SENT, S.ACCEPTED, S.SHIPPED, S.DELIVERED, S.EXCEPTION, S.CANCELLED)
TABS: dict[str, tuple[str, tuple[str, ...]]] = {
    "new": ("New", (S.PAID, S.SENT)),
    "accepted": ("Accepted", (S.ACCEPTED,)),
    "shipped": ("Shipped", (S.SHIPPED, S.DELIVERED)),
    "exceptions": ("Exceptions", (S.EXCEPTION, S.CANCELLED)),
}
# The API's ?status= takes a tab name or a status.
STATUS_FILTERS = {**{key: statuses for key, (_, statuses) in TABS.items()}} | {
    status.lower(): (status,) for status in VISIBLE
}


def _visible_to_supplier(supplier: Supplier) -> QuerySet[SupplierOrder]:
    return SupplierOrder.objects.filter(supplier=supplier, status__in=VISIBLE)


def list_supplier_orders_for_supplier(
    *, supplier: Supplier, statuses: Collection[str] | None = None
) -> QuerySet[SupplierOrder]:
    queryset = _visible_to_supplier(supplier)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    return (
        queryset.select_related("order", "order__retailer")
        .annotate(line_count=Count("items", distinct=True))
        .order_by("-created_at", "-id")
    )


def count_supplier_orders_by_tab(*, supplier: Supplier) -> dict[str, int]:
    counts = dict(
        _visible_to_supplier(supplier)
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {key: sum(counts.get(s, 0) for s in statuses) for key, (_, statuses) in TABS.items()}


def get_supplier_order_for_retailer(*, retailer: Retailer, supplier_order_id: int) -> SupplierOrder:
    """One of the retailer's supplier orders (404 for anyone else's)."""
    return get_object_or_404(
        SupplierOrder.objects.select_related("order", "supplier"),
        pk=supplier_order_id,
        order__retailer=retailer,
    )


def get_supplier_order_for_supplier(*, supplier: Supplier, supplier_order_id: int) -> SupplierOrder:
    return get_object_or_404(
        _visible_to_supplier(supplier).select_related("order", "order__retailer", "order__store"),
        pk=supplier_order_id,
    )


def get_supplier_order_detail(*, supplier: Supplier, supplier_order_id: int) -> SupplierOrder:
    """The order with its lines, parcels and timeline, in a fixed number of queries."""
    return get_object_or_404(
        _visible_to_supplier(supplier)
        .select_related("order", "order__retailer", "order__store")
        .prefetch_related(
            Prefetch("items", queryset=OrderItem.objects.select_related("variant").order_by("pk")),
            Prefetch(
                "shipments",
                queryset=Shipment.objects.prefetch_related(
                    Prefetch("items", queryset=ShipmentItem.objects.select_related("order_item"))
                ).order_by("shipped_at", "pk"),
            ),
            Prefetch(
                "events",
                queryset=OrderEvent.objects.select_related("actor").order_by("created_at", "pk"),
            ),
        ),
        pk=supplier_order_id,
    )


def list_timeline_for_supplier_order(*, supplier_order: SupplierOrder) -> QuerySet[OrderEvent]:
    """Order-wide events (received ...) and this supplier order's own; never another supplier's,
    nor the retailer's own result (a loss line names the retail price and the profit)."""
    return (
        OrderEvent.objects.filter(order_id=supplier_order.order_id)
        .filter(Q(supplier_order__isnull=True) | Q(supplier_order=supplier_order))
        .exclude(kind=EventKind.LOSS)
        .select_related("actor")
        .order_by("created_at", "pk")
    )


def list_shipments_for_order(*, order: Order) -> QuerySet[Shipment]:
    """Every parcel of an order (all suppliers) with its push state, for the retailer's page."""
    return (
        Shipment.objects.filter(supplier_order__order=order)
        .prefetch_related(
            Prefetch("items", queryset=ShipmentItem.objects.select_related("order_item"))
        )
        .order_by("shipped_at", "pk")
    )


# --- the real result of one order ----------------------------------------------------------------
@dataclass(frozen=True)
class OrderResult:
    """What one order earned the retailer: what the shopper paid for its Dropship lines, less
    what the supplier orders cost (wholesale + shipping + platform fee) and the retailer's own
    processing estimate. Lines of other products and cancelled lines count on neither side."""

    revenue: Decimal
    supplier_cost: Decimal
    processing: Decimal

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.supplier_cost - self.processing

    @property
    def is_loss(self) -> bool:
        return self.profit < ZERO


def get_order_result(
    *,
    retailer: Retailer,
    items: Iterable[OrderItem],
    supplier_orders: Iterable[SupplierOrder],
) -> OrderResult:
    revenue = sum(
        (
            item.retail_unit_price * item.quantity
            for item in items
            if item.variant_id is not None and item.status != OrderItem.Status.CANCELLED
        ),
        ZERO,
    )
    # A supplier order is in the supplier's currency; in another currency than the order it
    # carries the rate frozen at routing, so the cost is counted in the order's currency.
    supplier_cost = sum(
        (
            so.total * (so.exchange_rate or 1)
            for so in supplier_orders
            if so.status != SupplierOrder.Status.CANCELLED
        ),
        ZERO,
    )
    overhead = Overhead(
        processing_percent=retailer.processing_fee_percent,
        processing_fixed=retailer.processing_fee_fixed,
    )
    return OrderResult(
        revenue=quantize(revenue),
        supplier_cost=quantize(supplier_cost),
        processing=overhead.processing(revenue) if revenue else ZERO,
    )


def list_loss_orders(*, since: datetime, until: datetime) -> list[tuple[Order, OrderResult]]:
    """Orders placed in [since, until) and routed to suppliers whose real result (as
    get_order_result computes it) is a loss, with that result: three grouped reads whatever the
    number of orders, then the losing orders with their retailer."""
    cancelled = OrderItem.Status.CANCELLED
    placed = (
        Order.objects.annotate(placed=Coalesce("placed_at", "created_at"))
        .filter(placed__gte=since, placed__lt=until)
        .exclude(status=Order.Status.CANCELLED)
        .values("pk")
    )
    cost = {
        row["order_id"]: Decimal(str(row["charged"]))
        for row in SupplierOrder.objects.filter(order_id__in=placed)
        .exclude(status=SupplierOrder.Status.CANCELLED)
        .values("order_id")
        .annotate(charged=Sum(F("wholesale_total") + F("shipping_total") + F("platform_fee")))
    }
    revenue = {
        row["order_id"]: Decimal(str(row["paid"]))
        for row in OrderItem.objects.filter(order_id__in=list(cost), variant__isnull=False)
        .exclude(status=cancelled)
        .values("order_id")
        .annotate(paid=Sum(F("retail_unit_price") * F("quantity")))
    }
    losses: dict[int, OrderResult] = {}
    for order_id, percent, fixed in Order.objects.filter(pk__in=list(cost)).values_list(
        "pk", "retailer__processing_fee_percent", "retailer__processing_fee_fixed"
    ):
        sold = revenue.get(order_id, ZERO)
        result = OrderResult(
            revenue=quantize(sold),
            supplier_cost=quantize(cost[order_id]),
            processing=Overhead(processing_percent=percent, processing_fixed=fixed).processing(sold)
            if sold
            else ZERO,
        )
        if result.is_loss:
            losses[order_id] = result
    orders = Order.objects.filter(pk__in=list(losses)).select_related("retailer").order_by("pk")
    return [(order, losses[order.pk]) for order in orders]


# --- cases (mediation and chargebacks) ------------------------------------------------------------
def _cases() -> QuerySet[Dispute]:
    return Dispute.objects.select_related(
        "supplier_order__order__retailer", "supplier_order__supplier", "assigned_to"
    ).annotate(statement_count=Count("statements", distinct=True))


def list_cases_for_retailer(*, retailer: Retailer, open_only: bool = False) -> QuerySet[Dispute]:
    """The retailer's cases, mediation and chargebacks together, newest first."""
    queryset = _cases().filter(supplier_order__order__retailer=retailer)
    if open_only:
        queryset = queryset.filter(status__in=Dispute.OPEN_STATUSES)
    return queryset.order_by("-created_at", "-pk")


def list_cases_for_supplier(*, supplier: Supplier, open_only: bool = False) -> QuerySet[Dispute]:
    queryset = _cases().filter(supplier_order__supplier=supplier)
    if open_only:
        queryset = queryset.filter(status__in=Dispute.OPEN_STATUSES)
    return queryset.order_by("-created_at", "-pk")


def list_case_queue(*, open_only: bool = True) -> QuerySet[Dispute]:
    """Support's queue: oldest first (the SLA clock runs from opening)."""
    queryset = _cases()
    if open_only:
        queryset = queryset.filter(status__in=Dispute.OPEN_STATUSES)
    return queryset.order_by("created_at", "pk")


def _with_statements(queryset: QuerySet[Dispute]) -> QuerySet[Dispute]:
    return queryset.prefetch_related(
        Prefetch(
            "statements",
            queryset=CaseStatement.objects.select_related("author")
            .prefetch_related("attachments")
            .order_by("created_at", "pk"),
        )
    )


def get_case_for_retailer(*, retailer: Retailer, case_id: int) -> Dispute:
    """One of the retailer's cases with its statements (404 for anyone else's)."""
    return get_object_or_404(
        _with_statements(list_cases_for_retailer(retailer=retailer)), pk=case_id
    )


def get_case_for_supplier(*, supplier: Supplier, case_id: int) -> Dispute:
    return get_object_or_404(
        _with_statements(list_cases_for_supplier(supplier=supplier)), pk=case_id
    )


def get_case_for_staff(*, case_id: int) -> Dispute:
    return get_object_or_404(_with_statements(list_case_queue(open_only=False)), pk=case_id)


def get_case_attachment(*, case: Dispute, attachment_id: int) -> CaseAttachment:
    """An attachment of a case the caller may already see (404 otherwise)."""
    return get_object_or_404(CaseAttachment, pk=attachment_id, statement__case=case)


def sla_clock(case: Dispute, *, now: datetime | None = None) -> tuple[str, bool]:
    """('due in 5 h' | 'overdue by 3 h' | 'closed', overdue?) against CASE_RESPONSE_SLA_HOURS."""
    if not case.is_open:
        return "closed", False
    now = now or timezone.now()
    hours = (now - case.created_at).total_seconds() / 3600
    left = settings.CASE_RESPONSE_SLA_HOURS - hours
    if left >= 0:
        return f"due in {int(left)} h", False
    return f"overdue by {int(-left)} h", True


# --- returns -------------------------------------------------------------------------------------
def _returns() -> QuerySet[ReturnRequest]:
    return ReturnRequest.objects.select_related(
        "supplier_order__supplier", "supplier_order__order__retailer", "refund"
    )


def _with_lines(queryset: QuerySet[ReturnRequest]) -> QuerySet[ReturnRequest]:
    return queryset.prefetch_related(
        Prefetch(
            "lines",
            queryset=ReturnLine.objects.select_related("order_item").order_by("pk"),
        ),
        "photos",
    )


def list_returns_for_retailer(*, retailer: Retailer, status: str = "") -> QuerySet[ReturnRequest]:
    returns = _with_lines(_returns().filter(supplier_order__order__retailer=retailer))
    return returns.filter(status=status) if status else returns


def get_return_for_retailer(*, retailer: Retailer, return_id: int) -> ReturnRequest:
    return get_object_or_404(
        _with_lines(_returns()), pk=return_id, supplier_order__order__retailer=retailer
    )


def list_returns_for_supplier(*, supplier: Supplier, status: str = "") -> QuerySet[ReturnRequest]:
    returns = _with_lines(_returns().filter(supplier_order__supplier=supplier))
    return returns.filter(status=status) if status else returns


def get_return_for_supplier(*, supplier: Supplier, return_id: int) -> ReturnRequest:
    return get_object_or_404(
        _with_lines(_returns()), pk=return_id, supplier_order__supplier=supplier
    )


def list_returns_for_order(*, order: Order) -> list[ReturnRequest]:
    return list(
        _with_lines(_returns().filter(supplier_order__order=order)).order_by("-created_at", "-pk")
    )


def list_return_events(*, return_request: ReturnRequest) -> list[OrderEvent]:
    """The timeline lines of this return (each names its number)."""
    return list(
        OrderEvent.objects.filter(
            supplier_order_id=return_request.supplier_order_id,
            kind__startswith="return_",
            message__contains=return_request.number,
        )
        .select_related("actor")
        .order_by("created_at", "pk")
    )
