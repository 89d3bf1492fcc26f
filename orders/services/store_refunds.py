"""A store refunded some lines of an order (Shopify refunds/create): what has not shipped yet is
cancelled at the supplier like a cancellation (stock released, the retailer's payment for the
line refunded, the supplier told); what has shipped is left for a return.

A refund of part of a line's quantity cannot be taken off the line (a supplier order line is
sent whole): the retailer is told to cancel the line or let it ship. Receiving the same refund
twice changes nothing more (a cancelled line stays cancelled; the note is written once).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.urls import reverse

from dropship.accounts.models import Notification
from dropship.accounts.services import notify
from integrations.base import RefundedLine
from orders.models import Order, OrderItem
from orders.services.cancellation import lock_store_order
from orders.services.exceptions import cancel_item
from orders.services.timeline import EventKind, record_event
from retailers.models import Store

_DONE = (OrderItem.Status.CANCELLED, OrderItem.Status.NOT_OURS, OrderItem.Status.SHIPPED)


@transaction.atomic
def cancel_refunded_lines(
    *, store: Store, store_order_id: str, lines: Sequence[RefundedLine], refund_id: str = ""
) -> Order | None:
    """Cancel the unshipped lines a store refunded whole; None when we never had the order."""
    order = lock_store_order(store=store, store_order_id=store_order_id)
    if order is None:
        return None
    refunded = {line.store_line_id: line.quantity for line in lines}
    items = list(order.items.filter(store_line_id__in=refunded).order_by("pk"))
    reason = f"Refunded in {store.name}" + (
        f" (refund {refund_id.rsplit('/', 1)[-1]})." if refund_id else "."
    )
    partial: list[str] = []
    for item in items:
        if item.status in _DONE or item.quantity_shipped:
            continue  # not ours, cancelled before, or on its way: a return, not a cancellation
        if refunded[item.store_line_id] >= item.quantity:
            cancel_item(item=item, reason=reason)
        else:
            partial.append(
                f"“{item.title[:80]}” ({refunded[item.store_line_id]} of {item.quantity})"
            )
    if partial:
        message = (
            f"{reason} Part of a line was refunded: {', '.join(partial)}. It still ships whole; "
            "cancel the line if the shopper should not receive it."
        )[:500]
        if not order.events.filter(kind=EventKind.REFUNDED, message=message).exists():
            record_event(order=order, kind=EventKind.REFUNDED, message=message)
            notify(
                organisation=order.retailer,
                kind="orders.partial_refund",
                message=f"Order {order.number}: {message}"[:500],
                level=Notification.Level.WARNING,
                url=reverse("orders:retailer_detail", args=[order.pk]),
            )
    return order
