"""Thin tasks: ids in, one service call. Safe to run twice (each service claims its row)."""

from celery import Task, shared_task

from dropship.core.errors import TemporaryError
from integrations import exchange_rates, services


@shared_task(acks_late=True, ignore_result=True)
def process_inbound_webhook_task(webhook_id: int) -> None:
    services.process_inbound_webhook(webhook_id=webhook_id)


@shared_task(ignore_result=True)
def sweep_inbound_webhooks_task() -> int:
    return services.sweep_inbound_webhooks()


@shared_task(acks_late=True, ignore_result=True)
def send_outbound_push_task(push_id: int) -> None:
    services.send_outbound_push(push_id=push_id)


@shared_task(ignore_result=True)
def sweep_outbound_pushes_task() -> int:
    return services.sweep_outbound_pushes()


@shared_task(bind=True, ignore_result=True, max_retries=4)
def load_exchange_rates_task(self: Task[[], int]) -> int:
    """Daily; a provider that timed out or answered 5xx is asked again in 15 minutes."""
    try:
        return exchange_rates.load_exchange_rates()
    except TemporaryError as exc:
        raise self.retry(exc=exc, countdown=15 * 60) from exc
