"""Order pipeline tasks: ids in, one service call, safe to run twice (each service claims its
rows with a conditional UPDATE or a row lock). Temporary failures are rescheduled by the one
retry policy (dropship.core.retry).

A tracking push is a durable OutboundPush (orders/services/tracking.py) that the outbound-push
sweeper retries with backoff; `push_shipment_tracking_task` sends one shipment now. The tracking
and watchdog tasks keep the names they had in orders/tracking_tasks.py, so messages already queued
and the beat schedule still find them.
"""

import logging

from celery import shared_task

from dropship.core.errors import TemporaryError
from dropship.core.retry import PAYMENT_TASKS, STORE_TASKS, RetryOnTemporaryError
from integrations.base import StorePermanentError, StoreTemporaryError
from orders.services import (
    delivery,
    dispatch,
    exceptions,
    holds,
    losses,
    payment,
    reconciliation,
    returns,
    routing,
    scorecard,
    shopper_purge,
    tracking,
    watchdog,
)
from retailers.models import Retailer, Store

logger = logging.getLogger(__name__)


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
    max_retries=PAYMENT_TASKS.max_retries,
    ignore_result=True,
    name="billing.tasks.retry_failed_payments_task",
)
def retry_failed_payments_task(self, retailer_id: int, retry_same_card: bool = False) -> list[int]:
    """After a retailer's card changed (or it asked): pay its supplier orders that were waiting.
    Billing enqueues it (billing.services.request_payment_retry; registered in OrdersConfig.ready())
    and it keeps the name it had in billing/tasks.py, so queued messages and the billing queue's
    route still find it.

    Returns the ids of the supplier orders this run paid and hands their orders to dispatch,
    which sends them to their suppliers at once (its sweeper would, a minute later). A Stripe
    outage on some of them brings the task back later."""
    retailer = Retailer.objects.get(pk=retailer_id)
    paid = payment.retry_failed_payments(retailer=retailer, retry_same_card=retry_same_card)
    for order_id in sorted({supplier_order.order_id for supplier_order in paid}):
        pay_and_dispatch_order_task.delay(order_id)
    if payment.has_payments_awaiting_stripe(retailer=retailer):
        raise self.retry(countdown=PAYMENT_TASKS.delay(self.request.retries))
    return [supplier_order.pk for supplier_order in paid]


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


@shared_task(bind=True, acks_late=True, ignore_result=True)
def settle_return_refunds_task(self) -> int:
    return returns.settle_return_refunds()


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    base=RetryOnTemporaryError,
    retry_policy=STORE_TASKS,
)
def fetch_shipping_address_task(self, order_id: int) -> bool:
    """Ask the store for the address a held order came without (safe twice)."""
    return holds.fetch_missing_address(order_id=order_id)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def lapse_held_reservations_task(self) -> int:
    return holds.lapse_held_reservations()


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


@shared_task(bind=True, acks_late=True, ignore_result=True)
def flag_loss_orders_task(self) -> int:
    """Orders whose real result is a loss, flagged to the retailer (its daily digest)."""
    return losses.flag_loss_orders()


# --- carrier tracking (orders/services/delivery.py) -----------------------------------------------
@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    base=RetryOnTemporaryError,
    retry_policy=STORE_TASKS,
)
def register_tracker_task(self, shipment_id: int) -> None:
    """Register the parcel with the tracking provider (a shipment that has a tracker is left
    alone; the provider answers the same tracker for the same code)."""
    delivery.register_tracker(shipment_id=shipment_id)


@shared_task(ignore_result=True)
def poll_quiet_parcels_task() -> dict[str, int]:
    """Beat: read back parcels whose webhooks went quiet, in one bounded batch."""
    return delivery.poll_quiet_parcels()


# --- order reconciliation (nothing lost when webhooks are) ---------------------------------------
@shared_task(ignore_result=True)
def poll_all_store_orders_task() -> int:
    """Beat: one poll task per connected Shopify or WooCommerce store."""
    store_ids = reconciliation.list_polled_store_ids()
    for store_id in store_ids:
        poll_store_orders_task.delay(store_id)
    return len(store_ids)


@shared_task(acks_late=True, ignore_result=True)
def poll_store_orders_task(store_id: int) -> None:
    """Safe to run twice: one poll per store at a time, and the inbox keeps each change once."""
    store = Store.objects.filter(pk=store_id, status=Store.Status.CONNECTED).first()
    if store is not None:
        reconciliation.poll_store_orders(store=store)


@shared_task(ignore_result=True)
def check_all_store_webhooks_task() -> int:
    """Beat, daily: one webhook check per connected Shopify or WooCommerce store."""
    store_ids = reconciliation.list_polled_store_ids()
    for store_id in store_ids:
        check_store_webhooks_task.delay(store_id)
    return len(store_ids)


@shared_task(acks_late=True, ignore_result=True)
def check_store_webhooks_task(store_id: int) -> None:
    """Safe to run twice: a second check finds every subscription in place."""
    store = Store.objects.filter(pk=store_id, status=Store.Status.CONNECTED).first()
    if store is None:
        return
    try:
        reconciliation.check_store_webhooks(store=store)
    except (StorePermanentError, StoreTemporaryError):
        # Recorded on the store (NEEDS_RECONNECT) or tried again tomorrow; logged by the client.
        logger.warning("Webhook check of store %s failed", store_id, exc_info=True)


@shared_task(acks_late=True, ignore_result=True)
def purge_shopper_data_task() -> None:
    """Beat, daily: erase the shopper data of finished orders past their retention (batched)."""
    result = shopper_purge.purge_expired_shopper_data()
    if result.orders or result.webhooks:
        logger.info(
            "Shopper data purged from %d order(s) and %d webhook body(ies)",
            result.orders,
            result.webhooks,
        )


@shared_task(ignore_result=True)
def release_account_holds_task(retailer_id: int | None = None) -> int:
    """Route the orders held while a retailer was suspended (one retailer when it is activated
    again, or every active one from beat)."""
    return holds.release_account_holds(retailer_id=retailer_id)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def refresh_supplier_scorecards_task(self) -> int:
    """Nightly: every active supplier's scorecard row rewritten (an upsert, safe to run twice)."""
    return scorecard.refresh_supplier_scorecards()
