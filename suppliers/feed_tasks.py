"""Thin tasks for supplier inventory feeds (beat polls; each poll claims its feed first)."""

from celery import shared_task

from suppliers import feeds


@shared_task(bind=True, acks_late=True, ignore_result=True)
def poll_supplier_feeds_task(self) -> int:
    return feeds.poll_due_feeds()


@shared_task(bind=True, acks_late=True, ignore_result=True)
def poll_feed_task(self, feed_id: int) -> str:
    return feeds.poll_feed(feed_id=feed_id).outcome
