from celery import shared_task


@shared_task(name="dropship.core.tasks.ping_task")
def ping_task(value: str) -> str:
    """Round-trip check used by the smoke test and by operators (`celery call`)."""
    return f"pong:{value}"
