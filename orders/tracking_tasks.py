"""Thin Celery tasks for the supplier side: tracking pushes and the watchdog (ids in, one service).

The push itself is a durable OutboundPush (orders/services/tracking.py) that the outbound-push
sweeper retries with backoff; these tasks send one shipment now and run the watchdog on beat.
"""

from celery import shared_task

from orders.services import tracking, watchdog


@shared_task(bind=True, acks_late=True, ignore_result=True)
def push_shipment_tracking_task(self, shipment_id: int) -> None:
    tracking.push_shipment_now(shipment_id=shipment_id)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def run_order_watchdog_task(self) -> int:
    return watchdog.run_watchdog()
