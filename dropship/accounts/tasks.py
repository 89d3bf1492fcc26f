from celery import shared_task

from dropship.accounts import services


@shared_task(name="dropship.accounts.tasks.purge_idempotency_records_task")
def purge_idempotency_records_task() -> int:
    """Hourly: forget the API's idempotency keys past their 24 hours."""
    return services.purge_idempotency_records()
