from celery import shared_task

from dropship.accounts import services


@shared_task(name="dropship.accounts.tasks.purge_idempotency_records_task")
def purge_idempotency_records_task() -> int:
    """Hourly: forget the API's idempotency keys past their 24 hours."""
    return services.purge_idempotency_records()


@shared_task(name="dropship.accounts.tasks.end_expired_view_as_task")
def end_expired_view_as_task() -> int:
    """Beat: close support's views that expired unattended, so the audit trail shows their end."""
    return services.end_expired_view_as()
