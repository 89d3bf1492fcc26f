"""Order pipeline tasks: ids in, one service call, safe to run twice (each service claims its
rows with a conditional UPDATE or a row lock). Temporary failures are rescheduled by the one
retry policy (dropship.core.retry).

A tracking push is a durable OutboundPush (orders/services/tracking.py) that the outbound-push
sweeper retries with backoff; `push_shipment_tracking_task` sends one shipment now. The tracking
and watchdog tasks keep the names they had in orders/tracking_tasks.py, so messages already queued
and the beat schedule still find them.
"""

from celery import shared_task

from dropship.core.errors import TemporaryError
from dropship.core.retry import PAYMENT_TASKS, RetryOnTemporaryError
from orders.services import dispatch, exceptions, routing, tracking, watchdog


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    base=RetryOnTemporaryError,
    retry_policy=PAYMENT_TASKS,
)
def pay_and_dispatch_order_task(self, order_id: int) -> None:
    """Pay (card) and dispatch the order's supplier orders waiting for it."""
    routing.pay_and_dispatch_order(order_id=order_id)


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    base=RetryOnTemporaryError,
    retry_policy=PAYMENT_TASKS,
)
def email_supplier_order_task(self, supplier_order_id: int, kind: str) -> None:
    """The EMAIL channel: the order (with its packing slip) or its cancellation."""
    try:
        dispatch.email_supplier_order(supplier_order_id=supplier_order_id, kind=kind)
    except OSError as exc:  # SMTP unreachable: try again later
        raise TemporaryError(f"Could not send the email: {exc}") from exc


@shared_task(bind=True, acks_late=True, ignore_result=True)
def sweep_undispatched_supplier_orders_task(self) -> int:
    return routing.sweep_undispatched_supplier_orders()


@shared_task(bind=True, acks_late=True, ignore_result=True)
def retry_waiting_items_task(self) -> int:
    return exceptions.retry_waiting_items()


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    name="orders.tracking_tasks.push_shipment_tracking_task",
)
def push_shipment_tracking_task(self, shipment_id: int) -> None:
    tracking.push_shipment_now(shipment_id=shipment_id)


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    name="orders.tracking_tasks.run_order_watchdog_task",
)
def run_order_watchdog_task(self) -> int:
    return watchdog.run_watchdog()
