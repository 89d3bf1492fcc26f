"""An order's status is derived from its supplier orders and items, never set by hand."""

from collections.abc import Iterable

from orders.models import Order, OrderItem, SupplierOrder

S = SupplierOrder.Status


def derive_order_status(
    *,
    supplier_order_statuses: Iterable[str],
    item_statuses: Iterable[str],
    is_awaiting_payment: bool = False,
    is_missing_address: bool = False,
    is_held_for_review: bool = False,
    has_delivered_parcel: bool = False,
    is_held_for_account: bool = False,
) -> str:
    """PENDING → CONFIRMED → PARTIALLY_SHIPPED → SHIPPED → PARTIALLY_DELIVERED → DELIVERED, or
    CANCELLED / EXCEPTION;
    AWAITING_PAYMENT while a held order waits for the shopper's payment; ON_HOLD while its
    retailer is suspended (before anything else: nothing moves until it is active);
    HELD_FOR_REVIEW while
    a fraud rule holds it for the retailer (before anything else: the retailer decides first).

    EXCEPTION wins while something needs the retailer's attention (an out-of-stock item, a failed
    payment, a supplier order in exception, a held order without a shipping address) and nothing
    has shipped yet; once parcels are on their way the order reads PARTIALLY_SHIPPED so the
    shopper-facing progress is not hidden. Once a parcel is delivered (`has_delivered_parcel`)
    and not every supplier order is, it reads PARTIALLY_DELIVERED.
    """
    statuses = [status for status in supplier_order_statuses if status != S.CANCELLED]
    items = list(item_statuses)
    live_items = [
        s for s in items if s not in (OrderItem.Status.CANCELLED, OrderItem.Status.NOT_OURS)
    ]
    if not statuses and not live_items:
        return (
            Order.Status.CANCELLED
            if any(s == OrderItem.Status.CANCELLED for s in items)
            else Order.Status.EXCEPTION
        )
    if not statuses and is_held_for_account:
        return Order.Status.ON_HOLD
    if not statuses and is_held_for_review:
        return Order.Status.HELD_FOR_REVIEW
    if not statuses and is_missing_address:
        return Order.Status.EXCEPTION
    if not statuses and is_awaiting_payment:
        return Order.Status.AWAITING_PAYMENT
    needs_attention = any(s == OrderItem.Status.EXCEPTION for s in live_items) or any(
        s in (S.EXCEPTION, S.PAYMENT_FAILED) for s in statuses
    )
    shipped = [s for s in statuses if s in (S.SHIPPED, S.DELIVERED)]
    if statuses and all(s == S.DELIVERED for s in statuses) and not needs_attention:
        return Order.Status.DELIVERED
    if (has_delivered_parcel or S.DELIVERED in statuses) and (
        shipped or any(s == OrderItem.Status.SHIPPED for s in live_items)
    ):
        return Order.Status.PARTIALLY_DELIVERED
    if statuses and len(shipped) == len(statuses) and not needs_attention:
        return Order.Status.SHIPPED
    if shipped or any(s == OrderItem.Status.SHIPPED for s in live_items):
        return Order.Status.PARTIALLY_SHIPPED
    if needs_attention:
        return Order.Status.EXCEPTION
    if statuses and all(s in (S.PAID, S.SENT, S.ACCEPTED) for s in statuses):
        return Order.Status.CONFIRMED
    return Order.Status.PENDING
