"""Cancelling: one supplier order (release its stock, refund what was paid, tell the supplier),
or a whole store order (every supplier order not shipped yet; shipped lines are left for returns)."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.services import RefundError, RefundPending, refund_supplier_order
from catalog.services.reservations import release_stock
from dropship.accounts.models import User
from orders.models import Order, OrderItem, SupplierOrder
from orders.services.dispatch import notify_supplier_of_cancellation
from orders.services.timeline import EventKind, record_event, refresh_order_status
from retailers.models import Store

logger = logging.getLogger(__name__)
S = SupplierOrder.Status
PAID_STATUSES = {S.PAID, S.SENT, S.ACCEPTED}
SUPPLIER_KNOWS = {S.SENT, S.ACCEPTED, S.EXCEPTION}
NOT_CANCELLABLE = {S.SHIPPED, S.DELIVERED, S.CANCELLED}


@transaction.atomic
def cancel_supplier_order(
    *, supplier_order: SupplierOrder, reason: str, actor: User | None = None
) -> bool:
    """Cancel what is not shipped of one supplier order; False when there was nothing to cancel.

    Stock of unshipped units is released, the unshipped part of a payment refunded (whole order,
    or line by line when something already left), the supplier told over its channel when it
    had the order, and the timeline records it. Safe to call twice."""
    supplier_order = (
        SupplierOrder.objects.select_for_update(of=("self",))
        .select_related("order__retailer", "supplier")
        .get(pk=supplier_order.pk)
    )
    if supplier_order.status in NOT_CANCELLABLE:
        return False
    previous = supplier_order.status
    items = list(
        OrderItem.objects.select_for_update()
        .filter(supplier_order=supplier_order)
        .exclude(status=OrderItem.Status.CANCELLED)
        .order_by("pk")
    )
    to_release = [
        item
        for item in items
        if item.status == OrderItem.Status.RESERVED and item.quantity > item.quantity_shipped
    ]
    if to_release:
        release_stock(
            lines=[item.stock_line(item.quantity - item.quantity_shipped) for item in to_release],
            reference=f"Cancel {supplier_order.number}",
            actor=actor,
        )
    partly_shipped = any(item.quantity_shipped for item in items)
    for item in to_release:
        if not item.quantity_shipped:
            item.status = OrderItem.Status.CANCELLED
            item.status_reason = reason[:300]
            item.save(update_fields=["status", "status_reason"])
    refund_note = _refund(
        supplier_order=supplier_order,
        previous=previous,
        reason=reason,
        actor=actor,
        lines=[item for item in to_release if not item.quantity_shipped]
        if partly_shipped
        else None,
    )
    now = timezone.now()
    if not partly_shipped:
        supplier_order.status = S.CANCELLED
        supplier_order.cancelled_at = now
    supplier_order.status_reason = reason[:2000]
    supplier_order.save(update_fields=["status", "cancelled_at", "status_reason", "updated_at"])
    told = ""
    if previous in SUPPLIER_KNOWS:
        told = (
            f" {supplier_order.supplier.company_name} told by "
            + notify_supplier_of_cancellation(supplier_order=supplier_order, reason=reason)
            + "."
        )
    released = sum(item.quantity - item.quantity_shipped for item in to_release)
    record_event(
        order=supplier_order.order,
        supplier_order=supplier_order,
        kind=EventKind.CANCELLED,
        message=(
            f"{supplier_order.number} cancelled"
            + (" (shipped lines kept for returns)" if partly_shipped else "")
            + f": {reason} {released} unit{'s' if released != 1 else ''} released."
            + refund_note
            + told
        )[:500],
        actor=actor,
    )
    refresh_order_status(order=supplier_order.order)
    return True


def _refund(
    *,
    supplier_order: SupplierOrder,
    previous: str,
    reason: str,
    actor: User | None,
    lines: list[OrderItem] | None,
) -> str:
    if previous not in PAID_STATUSES:
        return ""

    try:
        if lines is None:
            refund = refund_supplier_order(
                supplier_order=supplier_order, reason=reason, actor=actor
            )
            return f" Refund {refund.amount} {refund.currency} ({refund.get_status_display()})."
        total = Decimal("0")
        for item in lines:
            refund = refund_supplier_order(
                supplier_order=supplier_order, reason=reason, actor=actor, order_item=item
            )
            total += refund.amount
        return (
            f" Refund {total} {supplier_order.currency} for the unshipped lines." if lines else ""
        )
    except RefundPending as exc:
        return f" {exc.message}"
    except RefundError as exc:
        logger.warning("No refund on cancelling %s: %s", supplier_order.number, exc.message)
        return f" No refund: {exc.message}"


def lock_store_order(*, store: Store, store_order_id: str) -> Order | None:
    """The store's order by its id, its row locked for the caller's transaction."""
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("retailer", "store")
        .filter(store=store, store_order_id=store_order_id)
        .first()
    )


@transaction.atomic
def cancel_store_order(
    *,
    store: Store,
    store_order_id: str,
    reason: str,
    actor: User | None = None,
    cancelled_by: str = "the store",
) -> Order | None:
    """The store (or the retailer, reviewing a held order) cancelled the order: cancel every
    unshipped supplier order and every line not yet routed. None when we never had the order."""
    order = lock_store_order(store=store, store_order_id=store_order_id)
    if order is None:
        return None
    for supplier_order in order.supplier_orders.exclude(status__in=NOT_CANCELLABLE).order_by("pk"):
        cancel_supplier_order(supplier_order=supplier_order, reason=reason, actor=actor)
    # A held order's lines are reserved without a supplier order: their stock goes back.
    held = list(
        order.items.select_for_update()
        .filter(supplier_order__isnull=True, status=OrderItem.Status.RESERVED)
        .order_by("pk")
    )
    if held:
        release_stock(
            lines=[item.stock_line() for item in held],
            reference=f"Cancel order {order.number}",
            actor=actor,
        )
    unrouted = order.items.filter(
        supplier_order__isnull=True,
        status__in=[
            OrderItem.Status.EXCEPTION,
            OrderItem.Status.RESERVED,
            OrderItem.Status.HELD,
        ],
    ).update(
        status=OrderItem.Status.CANCELLED, status_reason=reason[:300], is_waiting_for_stock=False
    )
    if order.cancelled_at is None:
        order.cancelled_at = timezone.now()
        order.is_awaiting_payment = order.is_missing_address = order.is_held_for_review = False
        order.held_since = None
        order.save(
            update_fields=[
                "cancelled_at",
                "is_awaiting_payment",
                "is_missing_address",
                "is_held_for_review",
                "held_since",
                "updated_at",
            ]
        )
        record_event(
            order=order,
            kind=EventKind.CANCELLED,
            message=f"Order {order.number} cancelled by {cancelled_by}: {reason}"
            + (f" {unrouted} line(s) not sent to a supplier dropped." if unrouted else ""),
            actor=actor,
        )
    refresh_order_status(order=order)
    return order
