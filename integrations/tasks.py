"""Thin tasks: ids in, one service call. Safe to run twice (each service claims its row)."""

from celery import shared_task

from integrations import services


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
