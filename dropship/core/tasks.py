from celery import shared_task

from dropship.core.audit import purge_audit_entries


@shared_task(name="dropship.core.tasks.ping_task")
def ping_task(value: str) -> str:
    """Round-trip check used by the smoke test and by operators (`celery call`)."""
    return f"pong:{value}"


@shared_task(name="dropship.core.tasks.purge_audit_entries_task", ignore_result=True)
def purge_audit_entries_task() -> int:
    """Nightly: entries past AUDIT_RETENTION_DAYS go (safe to run twice: nothing older is left)."""
    return purge_audit_entries()
