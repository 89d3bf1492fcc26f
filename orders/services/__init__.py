"""Order pipeline services: intake, reservation, routing, dispatch, fulfilment, tracking."""

from orders.services.cancellation import cancel_store_order, cancel_supplier_order
from orders.services.dispatch import dispatch_supplier_order, notify_supplier_of_cancellation
from orders.services.exceptions import (
    OrderItemActionError,
    cancel_item,
    retry_waiting_items,
    substitute_item,
    wait_for_stock,
)
from orders.services.intake import OrderIntakeError, receive_store_order
from orders.services.manual import ManualLine, place_manual_order
from orders.services.payment import (
    SupplierOrderPayment,
    pay_supplier_order,
    retry_failed_payments,
)
from orders.services.routing import (
    pay_and_dispatch_order,
    settle_supplier_orders,
    sweep_undispatched_supplier_orders,
)

__all__ = [
    "ManualLine",
    "OrderIntakeError",
    "OrderItemActionError",
    "SupplierOrderPayment",
    "cancel_item",
    "cancel_store_order",
    "cancel_supplier_order",
    "dispatch_supplier_order",
    "notify_supplier_of_cancellation",
    "pay_and_dispatch_order",
    "pay_supplier_order",
    "place_manual_order",
    "receive_store_order",
    "retry_failed_payments",
    "retry_waiting_items",
    "settle_supplier_orders",
    "substitute_item",
    "sweep_undispatched_supplier_orders",
    "wait_for_stock",
]
