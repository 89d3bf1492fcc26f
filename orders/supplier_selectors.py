"""Reads for the supplier's order pages, API and webhook: always scoped to one supplier.

A supplier sees its supplier orders once they are paid (PENDING / PAYMENT_FAILED ones are the
retailer's business); another supplier's order is simply not found (404).
"""

from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from orders.models import OrderEvent, OrderItem, Shipment, ShipmentItem, SupplierOrder

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


def _base(supplier) -> QuerySet[SupplierOrder]:
    return SupplierOrder.objects.filter(supplier=supplier, status__in=VISIBLE)


def list_supplier_orders_for_supplier(*, supplier, statuses=None) -> QuerySet[SupplierOrder]:
    queryset = _base(supplier)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    return (
        queryset.select_related("order", "order__retailer")
        .annotate(line_count=Count("items", distinct=True))
        .order_by("-created_at", "-id")
    )


def count_supplier_orders_by_tab(*, supplier) -> dict[str, int]:
    counts = dict(
        _base(supplier).values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {key: sum(counts.get(s, 0) for s in statuses) for key, (_, statuses) in TABS.items()}


def get_supplier_order_for_supplier(*, supplier, supplier_order_id: int) -> SupplierOrder:
    return get_object_or_404(
        _base(supplier).select_related("order", "order__retailer", "order__store"),
        pk=supplier_order_id,
    )


def get_supplier_order_detail(*, supplier, supplier_order_id: int) -> SupplierOrder:
    """The order with its lines, parcels and timeline, in a fixed number of queries."""
    return get_object_or_404(
        _base(supplier)
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
    """Order-wide events (received ...) and this supplier order's own; never another supplier's."""
    from django.db.models import Q

    return (
        OrderEvent.objects.filter(order_id=supplier_order.order_id)
        .filter(Q(supplier_order__isnull=True) | Q(supplier_order=supplier_order))
        .select_related("actor")
        .order_by("created_at", "pk")
    )


def list_shipments_for_order(*, order) -> QuerySet[Shipment]:
    """Every parcel of an order (all suppliers) with its push state, for the retailer's page."""
    return (
        Shipment.objects.filter(supplier_order__order=order)
        .prefetch_related(
            Prefetch("items", queryset=ShipmentItem.objects.select_related("order_item"))
        )
        .order_by("shipped_at", "pk")
    )
