"""What a retailer can do with a line that could not be reserved (an EXCEPTION item):

- wait: the reservation is retried automatically (beat job `retry_waiting_items`) until stock
  returns, then the line is routed, paid and dispatched like a new supplier order;
- substitute: another variant (the same product's, or any product listed in that store, possibly
  from another supplier) takes the line's place: reserved, routed, paid and dispatched;
- cancel: the line is dropped (with its stock and its payment when it had been routed).

A line routed after its supplier's first supplier order goes in a new part of that supplier's
orders (`SupplierOrder.part`), so what was already sent is never changed under the supplier.
"""

from __future__ import annotations

import logging

from django.db import transaction

from billing.services import RefundError, RefundPending, refund_supplier_order
from catalog.models import Product, Variant
from catalog.services.reservations import release_stock, reserve_stock
from dropship.accounts.models import User
from dropship.accounts.services import notify
from dropship.core.errors import DomainError
from orders.models import Order, OrderItem, SupplierOrder
from orders.services.cancellation import cancel_supplier_order
from orders.services.intake import RouteLine, cannot_route_reason, route_reserved_items
from orders.services.timeline import EventKind, record_event, refresh_order_status
from retailers.models import ListingVariant
from suppliers.models import Supplier

logger = logging.getLogger(__name__)


class OrderItemActionError(DomainError):
    pass


def _lock_item(item: OrderItem) -> OrderItem:
    return (
        OrderItem.objects.select_for_update(of=("self",))
        .select_related("order__retailer", "order__store", "variant")
        .get(pk=item.pk)
    )


def _require_exception(item: OrderItem) -> None:
    if item.status != OrderItem.Status.EXCEPTION or item.supplier_order_id is not None:
        raise OrderItemActionError(
            f"“{item.title}” is {item.get_status_display().lower()}, not waiting for a decision."
        )


def _cannot_route(*, variant: Variant, order: Order, quantity: int) -> str:
    supplier = Supplier.objects.prefetch_related("shipping_rates").get(pk=variant.supplier_id)
    return cannot_route_reason(
        supplier=supplier,
        country=order.shipping_country,
        lines=[RouteLine(variant=variant, quantity=quantity)],
        currency=order.currency,
    )


@transaction.atomic
def wait_for_stock(*, item: OrderItem, actor: User | None = None) -> OrderItem:
    """The retailer waits: the line is retried now and whenever the beat job runs."""
    item = _lock_item(item)
    _require_exception(item)
    if not item.is_waiting_for_stock:
        item.is_waiting_for_stock = True
        item.save(update_fields=["is_waiting_for_stock"])
        record_event(
            order=item.order,
            kind=EventKind.OUT_OF_STOCK,
            message=f"Waiting for stock for “{item.title}” × {item.quantity}; "
            "it is ordered as soon as the supplier has it.",
            actor=actor,
        )
    retry_waiting_item(item=item, actor=actor)
    item.refresh_from_db()
    return item


@transaction.atomic
def retry_waiting_item(*, item: OrderItem, actor: User | None = None) -> bool:
    """Try the reservation of one waiting line again; True when it was routed."""
    item = _lock_item(item)
    if (
        item.status != OrderItem.Status.EXCEPTION
        or item.supplier_order_id is not None
        or not item.is_waiting_for_stock
        or item.variant is None
    ):
        return False
    if _cannot_route(variant=item.variant, order=item.order, quantity=item.quantity):
        return False
    [reserved] = reserve_stock(
        lines=[item.stock_line()],
        reference=f"Order {item.order.number} (waited for stock)",
        actor=actor,
    )
    if not reserved:
        return False
    item.status = OrderItem.Status.RESERVED
    item.status_reason = ""
    item.is_waiting_for_stock = False
    item.save(update_fields=["status", "status_reason", "is_waiting_for_stock"])
    record_event(
        order=item.order,
        kind=EventKind.RESERVED,
        message=f"Stock is back: “{item.title}” × {item.quantity} reserved.",
        actor=actor,
    )
    route_reserved_items(order=item.order, items=[item], actor=actor)
    return True


def retry_waiting_items(*, limit: int = 200) -> int:
    """Beat job: retry every waiting line whose variant has stock again; returns lines routed."""
    candidates = (
        OrderItem.objects.filter(
            status=OrderItem.Status.EXCEPTION,
            supplier_order__isnull=True,
            is_waiting_for_stock=True,
            variant__isnull=False,
            order__cancelled_at__isnull=True,
        )
        .select_related("variant")
        .order_by("pk")[:limit]
    )
    routed = 0
    for item in candidates:
        if item.catalog_variant.stock_available < item.quantity:
            continue
        try:
            routed += retry_waiting_item(item=item)
        except Exception:  # one bad line must not stop the others; it is retried next run
            logger.exception("Retrying waiting order item %s failed", item.pk)
    return routed


def list_substitutes(*, item: OrderItem) -> list[Variant]:
    """Variants that can take the line's place: the same product's others, and every variant
    listed in the order's store, from active suppliers, with enough stock now."""
    listed = ListingVariant.objects.filter(store_id=item.order.store_id).values("variant_id")
    variants = (
        Variant.objects.filter(supplier__status=Supplier.Status.ACTIVE)
        .filter(product__status=Product.Status.ACTIVE)
        .filter(pk__in=listed)
        .select_related("product", "supplier")
        .order_by("product__title", "position", "pk")
    )
    if item.variant is not None:
        same_product = Variant.objects.filter(product_id=item.variant.product_id).values("pk")
        variants = variants | (
            Variant.objects.filter(pk__in=same_product, supplier__status=Supplier.Status.ACTIVE)
            .select_related("product", "supplier")
            .order_by("product__title", "position", "pk")
        )
    return [
        variant
        for variant in variants.distinct()[:200]
        if variant.pk != item.variant_id and variant.stock_available >= item.quantity
    ]


@transaction.atomic
def substitute_item(*, item: OrderItem, variant_id: int, actor: User | None = None) -> OrderItem:
    """Replace the line's variant with another and route it; nothing changes when it cannot
    be reserved or shipped."""
    item = _lock_item(item)
    _require_exception(item)
    allowed = {variant.pk: variant for variant in list_substitutes(item=item)}
    variant = allowed.get(variant_id)
    if variant is None:
        raise OrderItemActionError(
            "Choose a variant listed in this store that has enough stock.", field="variant"
        )
    reason = _cannot_route(variant=variant, order=item.order, quantity=item.quantity)
    if reason:
        raise OrderItemActionError(reason, field="variant")
    [reserved] = reserve_stock(
        lines=[(variant.pk, item.quantity)],
        reference=f"Order {item.order.number} (substitute)",
        actor=actor,
    )
    if not reserved:
        raise OrderItemActionError(
            f"{variant.sku} no longer has {item.quantity} available; choose another.",
            field="variant",
        )
    old = item.variant.sku if item.variant else item.sku or item.title
    item.variant = variant
    item.listing_variant = ListingVariant.objects.filter(
        store_id=item.order.store_id, variant=variant
    ).first()
    item.wholesale_unit_price = variant.wholesale_price
    item.status = OrderItem.Status.RESERVED
    item.status_reason = f"Substituted for {old}."[:300]
    item.is_waiting_for_stock = False
    item.save(
        update_fields=[
            "variant",
            "listing_variant",
            "wholesale_unit_price",
            "status",
            "status_reason",
            "is_waiting_for_stock",
        ]
    )
    record_event(
        order=item.order,
        kind=EventKind.SUBSTITUTED,
        message=f"“{item.title}”: {old} replaced by {variant.sku} "
        f"({variant.product.title}, {variant.supplier.company_name}).",
        actor=actor,
    )
    route_reserved_items(order=item.order, items=[item], actor=actor)
    return item


@transaction.atomic
def cancel_item(*, item: OrderItem, reason: str = "", actor: User | None = None) -> OrderItem:
    """Drop a line. An unrouted exception line is simply cancelled; a routed one that has not
    shipped gives back its stock and its payment, and its supplier is told."""
    reason = (reason or "").strip() or "Cancelled by the retailer."
    item = _lock_item(item)
    if item.status in (OrderItem.Status.CANCELLED, OrderItem.Status.NOT_OURS):
        raise OrderItemActionError(
            f"“{item.title}” is already {item.get_status_display().lower()}."
        )
    if item.status == OrderItem.Status.SHIPPED or item.quantity_shipped:
        raise OrderItemActionError(
            f"“{item.title}” has shipped; ask for a return instead of cancelling it."
        )
    supplier_order = item.supplier_order
    if supplier_order is None and item.status == OrderItem.Status.RESERVED:
        # a line of a held order: reserved, not routed yet
        release_stock(
            lines=[item.stock_line()],
            reference=f"Cancel line of order {item.order.number}",
            actor=actor,
        )
    if supplier_order is not None:
        live = supplier_order.items.exclude(status=OrderItem.Status.CANCELLED).exclude(pk=item.pk)
        if not live.exists():
            cancel_supplier_order(supplier_order=supplier_order, reason=reason, actor=actor)
            item.refresh_from_db()
            return item
        if supplier_order.status in (SupplierOrder.Status.SHIPPED, SupplierOrder.Status.DELIVERED):
            raise OrderItemActionError(f"{supplier_order.number} has shipped.")
        if item.status == OrderItem.Status.RESERVED:
            release_stock(
                lines=[item.stock_line()],
                reference=f"Cancel line of {supplier_order.number}",
                actor=actor,
            )
        if supplier_order.status in (
            SupplierOrder.Status.PAID,
            SupplierOrder.Status.SENT,
            SupplierOrder.Status.ACCEPTED,
        ):
            try:
                refund_supplier_order(
                    supplier_order=supplier_order, reason=reason, actor=actor, order_item=item
                )
            except (RefundError, RefundPending) as exc:
                logger.warning("Line refund on %s: %s", supplier_order.number, exc.message)
    was_waiting = item.is_waiting_for_stock
    item.status = OrderItem.Status.CANCELLED
    item.status_reason = reason[:300]
    item.is_waiting_for_stock = False
    item.save(update_fields=["status", "status_reason", "is_waiting_for_stock"])
    if supplier_order is not None and supplier_order.status in (
        SupplierOrder.Status.SENT,
        SupplierOrder.Status.ACCEPTED,
    ):
        notify(
            organisation=supplier_order.supplier,
            kind="orders.line_cancelled",
            message=f"{supplier_order.number}: do not ship “{item.title}” × {item.quantity}. "
            f"{reason}"[:500],
            level="WARNING",
        )
    record_event(
        order=item.order,
        supplier_order=supplier_order,
        kind=EventKind.CANCELLED,
        message=f"Line “{item.title}” × {item.quantity} cancelled"
        + (" (it was waiting for stock)" if was_waiting else "")
        + f": {reason}",
        actor=actor,
    )
    refresh_order_status(order=item.order)
    return item
