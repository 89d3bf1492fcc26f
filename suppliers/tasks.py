"""Thin tasks for supplier inventory feeds (beat polls; each poll claims its feed first).

They keep the names they had in suppliers/feed_tasks.py, so messages already queued and the beat
schedule still find them.
"""

from celery import shared_task

from suppliers import feeds


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    name="suppliers.feed_tasks.poll_supplier_feeds_task",
)
def poll_supplier_feeds_task(self) -> int:
    return feeds.poll_due_feeds()


@shared_task(
    bind=True, acks_late=True, ignore_result=True, name="suppliers.feed_tasks.poll_feed_task"
)
def poll_feed_task(self, feed_id: int) -> str:
    return feeds.poll_feed(feed_id=feed_id).outcome
