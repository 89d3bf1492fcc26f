"""Thin Celery tasks for retailers: ids in, one service call, safe to run twice.
Temporary store failures (timeouts, 429, 5xx) are rescheduled by the one retry policy
(dropship.core.retry), never sooner than the store's retry-after.

The inventory sync's tasks keep the names they had in retailers/sync/tasks.py (`name=`), so
messages already queued, the beat schedule and the `sync` queue route still find them."""

from celery import shared_task

from dropship.core.errors import TemporaryError
from dropship.core.retry import STORE_TASKS, RetryOnTemporaryError
from retailers import services
from retailers.sync import drain, marking, reconcile


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=STORE_TASKS.max_retries)
def run_store_import_task(self, job_id: int) -> None:
    try:
        services.run_store_import(job_id=job_id)
    except TemporaryError as exc:
        if self.request.retries >= self.max_retries:
            services.fail_store_import(job_id=job_id, error=f"The store kept failing: {exc}")
            return
        countdown = STORE_TASKS.delay(self.request.retries, error=exc)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    base=RetryOnTemporaryError,
    retry_policy=STORE_TASKS,
)
def reprice_variants_task(self, variant_ids: list[int]) -> None:
    services.reprice_variants(variant_ids=variant_ids)


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    base=RetryOnTemporaryError,
    retry_policy=STORE_TASKS,
)
def push_listings_task(self, store_id: int, listing_ids: list[int]) -> None:
    services.push_listings(store_id=store_id, listing_ids=listing_ids)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def send_price_digests_task(self) -> int:
    return services.send_price_digests()


@shared_task(bind=True, acks_late=True, ignore_result=True)
def send_notice_digests_task(self) -> int:
    """The daily e-mail of order notices retailers chose to get as a digest."""
    return services.send_notice_digests()


@shared_task(bind=True, acks_late=True, ignore_result=True)
def keep_shopify_tokens_alive_task(self) -> dict[str, int]:
    """Renew idle Shopify stores' tokens before their refresh token runs out, and migrate
    non-expiring ones (a bounded batch per run; safe to run twice)."""
    return services.keep_shopify_tokens_alive()


# --- inventory sync (DESIGN.md flow 5) ------------------------------------------------------------
@shared_task(
    bind=True, acks_late=True, ignore_result=True, name="retailers.sync.tasks.drain_store_task"
)
def drain_store_task(self, store_id: int) -> str:
    return drain.drain_store(store_id=store_id).outcome


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    name="retailers.sync.tasks.fan_out_variant_changes_task",
)
def fan_out_variant_changes_task(self) -> int:
    """Queued after a stock change commits: mark the listings of every queued change."""
    return marking.fan_out_variant_changes().marked


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    name="retailers.sync.tasks.kick_inventory_drains_task",
)
def kick_inventory_drains_task(self) -> int:
    return drain.kick_drains()


@shared_task(
    bind=True, acks_late=True, ignore_result=True, name="retailers.sync.tasks.reconcile_store_task"
)
def reconcile_store_task(self, store_id: int) -> int | None:
    run = reconcile.reconcile_store(store_id=store_id)
    return run.pk if run else None


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    name="retailers.sync.tasks.reconcile_inventory_task",
)
def reconcile_inventory_task(self) -> int:
    return reconcile.schedule_reconciliations()
