"""The order timeline: one OrderEvent per thing that happened, shown to retailer and supplier."""

from django.db.models import Max

from dropship.accounts.models import User
from orders.models import Order, OrderEvent, Shipment, SupplierOrder, TrackingStatus
from orders.status import derive_order_status


class EventKind:
    RECEIVED = "received"
    RESERVED = "reserved"
    OUT_OF_STOCK = "out_of_stock"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SHIPPED = "shipped"
    TRACKING_PUSHED = "tracking_pushed"
    TRACKING_FAILED = "tracking_failed"
    TRACKING_HELD = "tracking_held"
    DELIVERED = "delivered"
    CARRIER_SCAN = "carrier_scan"  # a carrier event of a parcel (or the supplier's delivery report)
    CANCELLED = "cancelled"
    SUBSTITUTED = "substituted"
    FLAGGED = "flagged"
    HELD = "held"  # waiting for the shopper's payment, the shipping address or a fraud review
    RELEASED = "released"  # the hold ended: the order is routed
    REVIEWED = "reviewed"  # the retailer released an order a fraud rule held
    REFUNDED = "refunded"  # the store refunded lines
    LOSS = "loss"  # the order's real result is a loss; the retailer was told (services/losses.py)


def record_event(
    *,
    order: Order,
    kind: str,
    message: str,
    supplier_order: SupplierOrder | None = None,
    actor: User | None = None,
) -> OrderEvent:
    """Append a line to the order's timeline (messages are cut to the column's 500 characters)."""
    return OrderEvent.objects.create(
        order=order,
        supplier_order=supplier_order,
        kind=kind,
        message=message[:500],
        actor=actor,
    )


def refresh_order_status(*, order: Order) -> str:
    """Re-derive the order's status from its supplier orders, items and parcels; saves only a
    change. A DELIVERED order gets `delivered_at`: its last supplier order's delivery."""
    supplier_order_statuses = list(order.supplier_orders.values_list("status", flat=True))
    status = derive_order_status(
        supplier_order_statuses=supplier_order_statuses,
        item_statuses=order.items.values_list("status", flat=True),
        is_awaiting_payment=order.is_awaiting_payment,
        is_missing_address=order.is_missing_address,
        is_held_for_review=order.is_held_for_review,
        has_delivered_parcel=any(
            s
            in (
                SupplierOrder.Status.SHIPPED,
                SupplierOrder.Status.ACCEPTED,
                SupplierOrder.Status.DELIVERED,
            )
            for s in supplier_order_statuses
        )
        and Shipment.objects.filter(
            supplier_order__order=order, tracking_status=TrackingStatus.DELIVERED
        ).exists(),
        is_held_for_account=order.is_held_for_account,
    )
    if status != order.status:
        order.status = status
        fields = ["status", "updated_at"]
        if status == Order.Status.DELIVERED and order.delivered_at is None:
            order.delivered_at = order.supplier_orders.aggregate(at=Max("delivered_at"))["at"]
            fields.append("delivered_at")
        order.save(update_fields=fields)
    return status
