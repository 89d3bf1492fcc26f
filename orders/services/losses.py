"""Orders at a loss are flagged to the retailer: an order whose real result (what the shopper
paid for its Dropship lines, less what its supplier orders cost and the retailer's processing
estimate; orders.selectors.get_order_result) is below zero gets one notice, in the retailer's
daily digest unless the retailer chose otherwise (NoticeKind.ORDER_LOSS), and a line on its
timeline.

A beat job looks at orders placed in the last LOOKBACK (longer than its interval, so a missed
run catches up); the timeline event is the record that an order was flagged, so running it twice
flags nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Notification
from dropship.core.money import format_money
from orders.models import Order, OrderEvent
from orders.selectors import OrderResult, list_loss_orders
from orders.services.timeline import EventKind, record_event
from retailers.models import NoticeKind
from retailers.services.notices import send_retailer_notice

LOOKBACK = timedelta(days=2)


def flag_loss_orders(*, now: datetime | None = None) -> int:
    """Flag each order placed in the last LOOKBACK whose real result is a loss and that was not
    flagged yet; returns how many were flagged."""
    now = now or timezone.now()
    losses = list_loss_orders(since=now - LOOKBACK, until=now)
    done = set(
        OrderEvent.objects.filter(
            kind=EventKind.LOSS, order_id__in=[order.pk for order, _ in losses]
        ).values_list("order_id", flat=True)
    )
    flagged = 0
    for order, result in losses:
        if order.pk not in done:
            flagged += _flag(order=order, result=result)
    return flagged


@transaction.atomic
def _flag(*, order: Order, result: OrderResult) -> int:
    Order.objects.select_for_update().filter(pk=order.pk).first()  # one flag per order
    if OrderEvent.objects.filter(order=order, kind=EventKind.LOSS).exists():
        return 0
    loss = format_money(-result.profit, order.currency)
    message = (
        f"Order {order.number} lost {loss}: the shopper paid "
        f"{format_money(result.revenue, order.currency)} for Dropship products, the supplier "
        f"orders cost {format_money(result.supplier_cost, order.currency)}"
        + (
            f" and payment processing about {format_money(result.processing, order.currency)}"
            if result.processing
            else ""
        )
        + ". Check the pricing rule of its products."
    )
    record_event(order=order, kind=EventKind.LOSS, message=message)
    send_retailer_notice(
        retailer=order.retailer,
        kind=NoticeKind.ORDER_LOSS,
        event="order_loss",
        subject=f"Order {order.number} lost {loss}",
        message=message,
        url=reverse("orders:retailer_detail", args=[order.pk]),
        level=Notification.Level.WARNING,
    )
    return 1
