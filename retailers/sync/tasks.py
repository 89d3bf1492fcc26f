"""Thin tasks for the inventory sync: ids in, one service call, safe to run twice."""

from celery import shared_task

from retailers.sync import drain, reconcile


@shared_task(bind=True, acks_late=True, ignore_result=True)
def drain_store_task(self, store_id: int) -> str:
    return drain.drain_store(store_id=store_id).outcome


@shared_task(bind=True, acks_late=True, ignore_result=True)
def kick_inventory_drains_task(self) -> int:
    return drain.kick_drains()


@shared_task(bind=True, acks_late=True, ignore_result=True)
def reconcile_store_task(self, store_id: int) -> int | None:
    run = reconcile.reconcile_store(store_id=store_id)
    return run.pk if run else None


@shared_task(bind=True, acks_late=True, ignore_result=True)
def reconcile_inventory_task(self) -> int:
    return reconcile.schedule_reconciliations()
