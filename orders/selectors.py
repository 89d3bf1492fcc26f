"""Reads of orders shared by the retailer pages and the API; always scoped to the retailer
(another retailer's order is a 404)."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from orders.models import Order, OrderEvent, OrderItem, Shipment, SupplierOrder
from retailers.models import Retailer, Store


def list_orders_for_retailer(
    *, retailer: Retailer, status: str = "", store_id: int | None = None, query: str = ""
) -> QuerySet[Order]:
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
    return orders


def get_order_for_retailer(*, retailer: Retailer, order_id: int) -> Order:
    return get_object_or_404(
        Order.objects.select_related("store", "retailer").prefetch_related(
            Prefetch(
                "supplier_orders",
                queryset=SupplierOrder.objects.select_related("supplier")
                .prefetch_related(Prefetch("shipments", queryset=Shipment.objects.order_by("pk")))
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
