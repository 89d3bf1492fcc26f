"""Stock changed → the listings showing it are dirty, and each affected store gets one drain soon.

Two ways in:
- a catalog stock change (`catalog_events.stock_changed`, and a reservation's own statement)
  only records a `VariantChange` row in its transaction: one cheap append under the variant's
  row lock, however many stores list the variant. After commit a fan-out task
  (`fan_out_variant_changes`) turns the queued changes into marks, and deletes them, in one
  transaction: a worker killed mid-fan-out rolls back and the rows are fanned out again (beat's
  sweep runs the fan-out too);
- the other markers (product or supplier status, listings paused or re-imported, reconciliation)
  mark in their own transaction, as before.

Every mark bumps the row's `inventory_version`; the per-store drain pushes the latest advertised
quantity later and clears the flag only if the version it read is unchanged, so ten changes
before a push send one value and a change during a push is never lost. `inventory_dirty_since`
keeps the time the row first became dirty (freshness is measured from it).

Marking also flags the stores (`StoreSyncState.pending_since`, bumped `pending_version`) and,
after commit, queues one drain per store to run a short window later (`drain_scheduled_until`,
a database marker, so it works without Redis): changes inside the window join that drain. Beat
only sweeps up what a dead worker left, through the flag's partial index, never the listing
table.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, F, Q, QuerySet, When
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from retailers.models import ListingVariant, Store
from retailers.sync.models import StoreSyncState, VariantChange

# Record a change per row of a statement's result (`FROM changed` follows), for statements that
# change stock and record it in one round trip (catalog.services.reservations on PostgreSQL).
RECORD_CHANGES_SQL = """
    INSERT INTO retailers_variantchange (variant_id, created_at)
    SELECT id, now()
"""

FAN_OUT_BATCH = 10_000  # queued changes per fan-out transaction
FAN_OUT_TIME_BUDGET_SECONDS = 30.0  # then hand over to a fresh task
FAN_OUT_QUEUED_KEY = "inventory-fan-out-queued"
FAN_OUT_QUEUED_SECONDS = 60  # a lost task's key expires; beat's sweep runs the fan-out anyway
# One marker at a time on PostgreSQL (a transaction-level lock: safe behind a pooler): two
# UPDATEs of the same listing rows (a fan-out and a supplier's stock change of the same variant)
# can meet them in different orders and deadlock. Held until the marker's transaction ends.
MARKING_LOCK_KEY = 7_220_020
# A queued drain that never started (its worker died before taking it) stops blocking new ones.
DRAIN_QUEUED_STALE = timedelta(seconds=60)
PUSHED_PLATFORMS = (Store.Platform.SHOPIFY, Store.Platform.WOOCOMMERCE)


def _ids(values: Iterable[int]) -> list[int]:
    return sorted({int(v) for v in values})


def _postgres() -> bool:
    return connection.vendor == "postgresql"


# --- marking -------------------------------------------------------------------------------------
def hold_marking_lock() -> None:
    """Take the marking lock (PostgreSQL; SQLite runs one writer at a time anyway) inside the
    caller's transaction. A transaction that locks listing rows and then marks them takes it
    first: locking rows, then waiting for a fan-out that waits for those rows, would deadlock."""
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MARKING_LOCK_KEY])


@transaction.atomic
def _mark(rows: QuerySet, **also: object) -> int:
    """One UPDATE: dirty, first-dirty time kept, version bumped (and the fields in `also`); the
    stores flagged. Returns the rows marked."""
    hold_marking_lock()
    store_ids = list(rows.order_by().values_list("store_id", flat=True).distinct())
    marked = rows.update(
        is_inventory_dirty=True,
        inventory_dirty_since=Coalesce("inventory_dirty_since", Now()),
        inventory_version=F("inventory_version") + 1,
        **also,
    )
    flag_stores(store_ids=store_ids)
    return marked


def _mark_variants(variant_ids: list[int]) -> int:
    if not _postgres():
        return _mark(ListingVariant.objects.filter(variant_id__in=variant_ids))
    # One statement marks and names the stores (the portable path reads them first), through a
    # hash join with the changed ids rather than `= ANY(array)` on a long array parameter.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MARKING_LOCK_KEY])
        cursor.execute(
            """
            WITH marked AS (
                UPDATE retailers_listingvariant lv
                   SET is_inventory_dirty = true,
                       inventory_dirty_since = COALESCE(lv.inventory_dirty_since, now()),
                       inventory_version = lv.inventory_version + 1
                  FROM unnest(%s::bigint[]) AS changed(id)
                 WHERE lv.variant_id = changed.id
             RETURNING lv.store_id
            )
            SELECT store_id, count(*) FROM marked GROUP BY store_id
            """,
            [variant_ids],
        )
        counts = dict(cursor.fetchall())
    flag_stores(store_ids=list(counts))
    return sum(counts.values())


def mark_variants_dirty(*, variant_ids: Iterable[int]) -> int:
    """Mark every listing variant of these catalog variants for an inventory push, now."""
    ids = _ids(variant_ids)
    return _mark_variants(ids) if ids else 0


def mark_listings_dirty(*, listing_ids: Iterable[int]) -> int:
    """Mark every variant of these listings (paused, unlisted, relisted, re-imported)."""
    ids = _ids(listing_ids)
    if not ids:
        return 0
    return _mark(ListingVariant.objects.filter(listing_id__in=ids))


def mark_products_dirty(*, product_ids: Iterable[int]) -> int:
    """A product was activated, drafted or discontinued: every listing of it shows a new number."""
    ids = _ids(product_ids)
    if not ids:
        return 0
    return _mark(ListingVariant.objects.filter(variant__product_id__in=ids))


def mark_suppliers_dirty(*, supplier_ids: Iterable[int]) -> int:
    """A supplier's buffer or status changed: every listing of its catalog shows a new number."""
    ids = _ids(supplier_ids)
    if not ids:
        return 0
    return _mark(ListingVariant.objects.filter(variant__supplier_id__in=ids))


def mark_rows_dirty(*, listing_variant_ids: Iterable[int], forget_pushed: bool = False) -> int:
    """Reconciliation: these rows drifted. `forget_pushed` forces a push even when what we
    last pushed equals what we advertise (the store changed behind our back)."""
    ids = _ids(listing_variant_ids)
    if not ids:
        return 0
    rows = ListingVariant.objects.filter(pk__in=ids)
    if forget_pushed:
        return _mark(rows, last_pushed_quantity=None, inventory_retry_at=None)
    return _mark(rows)


# --- the per-store flag and the coalesced drain --------------------------------------------------
def flag_stores(*, store_ids: list[int]) -> None:
    """These stores have rows to push: flag them (in the caller's transaction) and, once it
    commits, queue their drains."""
    ids = _ids(store_ids)
    if not ids:
        return
    with transaction.atomic():
        # Rows locked in primary-key order: two markers flagging the same stores never deadlock.
        known = set(
            StoreSyncState.objects.select_for_update()
            .filter(store_id__in=ids)
            .order_by("store_id")
            .values_list("store_id", flat=True)
        )
        if len(known) < len(ids):
            StoreSyncState.objects.bulk_create(
                [StoreSyncState(store_id=store_id) for store_id in ids if store_id not in known],
                ignore_conflicts=True,
            )
        StoreSyncState.objects.filter(store_id__in=ids).update(
            # Due now (a flag set in the future only waits for rows put aside after a refusal).
            pending_since=Case(
                When(Q(pending_since__isnull=True) | Q(pending_since__gt=Now()), then=Now()),
                default=F("pending_since"),
            ),
            pending_version=F("pending_version") + 1,
        )
    # Robust: a broker hiccup after commit is logged, not raised into the caller; beat catches up.
    transaction.on_commit(partial(queue_drains_for_changes, store_ids=ids), robust=True)


def queue_drains_for_changes(*, store_ids: list[int]) -> int:
    """Event-driven push: these stores' rows were marked (and committed); queue their drains
    for the end of the coalescing window. Off only where a test runs tasks in-line."""
    if not settings.INVENTORY_PUSH_ON_CHANGE:
        return 0
    return schedule_drains(store_ids=store_ids)


def schedule_drains(*, store_ids: list[int], countdown: float | None = None) -> int:
    """Queue one drain per store that has none queued, to run `countdown` seconds from now
    (default: the coalescing window). Returns the drains queued."""
    from retailers.tasks import drain_store_task  # local: tasks.py imports the services

    if not store_ids:
        return 0
    window = settings.INVENTORY_PUSH_WINDOW_SECONDS if countdown is None else countdown
    now = timezone.now()
    queued: list[int] = []
    for start in range(0, len(store_ids), 500):
        chunk = store_ids[start : start + 500]
        pushed = Store.objects.filter(
            pk__in=chunk, status=Store.Status.CONNECTED, platform__in=PUSHED_PLATFORMS
        ).values_list("pk", flat=True)
        queued += _claim_drain_slots(sorted(pushed), now=now, window=window)
    for store_id in queued:
        drain_store_task.apply_async(args=(store_id,), countdown=window)
    return len(queued)


def _claim_drain_slots(store_ids: list[int], *, now, window: float) -> list[int]:
    """The stores among these with no drain queued; marks each as queued (one conditional
    UPDATE: two schedulers never both queue a store)."""
    if not store_ids:
        return []
    adapt = connection.ops.adapt_datetimefield_value
    placeholders = ", ".join(["%s"] * len(store_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE retailers_storesyncstate
               SET drain_scheduled_until = %s
             WHERE store_id IN ({placeholders})
               AND (drain_scheduled_until IS NULL OR drain_scheduled_until < %s)
         RETURNING store_id
            """,  # noqa: S608 - only placeholders are formatted in
            [adapt(now + timedelta(seconds=window)), *store_ids, adapt(now - DRAIN_QUEUED_STALE)],
        )
        return sorted(row[0] for row in cursor.fetchall())


def drain_started(*, store_id: int) -> None:
    """A drain of this store starts: changes from now on queue the next one."""
    StoreSyncState.objects.filter(store_id=store_id).exclude(
        drain_scheduled_until__isnull=True
    ).update(drain_scheduled_until=None)


# --- the queue of catalog changes ----------------------------------------------------------------
def record_variant_changes(*, variant_ids: Iterable[int]) -> int:
    """In the caller's transaction: these variants' advertised quantities changed. Their
    listings are marked by the fan-out after commit. Returns the changes recorded."""
    ids = _ids(variant_ids)
    if not ids:
        return 0
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                f"{RECORD_CHANGES_SQL} FROM unnest(%s::bigint[]) AS changed(id)",
                [ids],
            )
    else:
        now = timezone.now()
        VariantChange.objects.bulk_create(
            [VariantChange(variant_id=variant_id, created_at=now) for variant_id in ids],
            batch_size=2000,
        )
    changes_recorded()
    return len(ids)


def changes_recorded() -> None:
    """Changes were recorded in the current transaction: fan them out once it commits."""
    transaction.on_commit(queue_fan_out, robust=True)  # beat sweeps what a hiccup leaves


def queue_fan_out() -> None:
    """Queue a fan-out unless one is queued already (it will see these changes too)."""
    from retailers.tasks import fan_out_variant_changes_task  # local: tasks import services

    if cache.add(FAN_OUT_QUEUED_KEY, 1, timeout=FAN_OUT_QUEUED_SECONDS):
        fan_out_variant_changes_task.delay()


@dataclass
class FanOutResult:
    changes: int = 0
    variants: int = 0
    marked: int = 0
    more: bool = False


def fan_out_variant_changes(
    *, batch_size: int = FAN_OUT_BATCH, time_budget: float = FAN_OUT_TIME_BUDGET_SECONDS
) -> FanOutResult:
    """Mark the listing variants of every queued change and delete the changes, a batch per
    transaction. Safe to run twice at once (the second waits for the first's batch)."""
    cache.delete(FAN_OUT_QUEUED_KEY)  # changes committed from now on queue another fan-out
    result = FanOutResult()
    started = time.monotonic()
    while True:
        with transaction.atomic():
            variant_ids, changes = _take_changes(batch_size)
            if changes:
                result.changes += changes
                result.variants += len(variant_ids)
                result.marked += _mark_variants(variant_ids)
        if changes < batch_size:
            return result
        if time.monotonic() - started > time_budget:
            result.more = True
            queue_fan_out()
            return result


def _take_changes(limit: int) -> tuple[list[int], int]:
    """Delete up to `limit` of the oldest queued changes (inside the caller's transaction);
    returns their distinct variant ids and how many changes there were."""
    with connection.cursor() as cursor:
        if _postgres():
            cursor.execute(
                """
                DELETE FROM retailers_variantchange
                 WHERE id IN (SELECT id FROM retailers_variantchange ORDER BY id LIMIT %s)
             RETURNING variant_id
                """,
                [limit],
            )
            variant_ids = [row[0] for row in cursor.fetchall()]
        else:
            rows = list(
                VariantChange.objects.order_by("id").values_list("id", "variant_id")[:limit]
            )
            VariantChange.objects.filter(id__in=[pk for pk, _v in rows]).delete()
            variant_ids = [variant_id for _pk, variant_id in rows]
    return _ids(variant_ids), len(variant_ids)


def stores_with_work() -> list[int]:
    """Connected, pushed-to store ids flagged with rows to push, with no drain running and no
    backoff in force: read from the stores' flag (a partial index), never the listing table."""
    now = timezone.now()
    return sorted(
        StoreSyncState.objects.filter(pending_since__isnull=False, pending_since__lte=now)
        .exclude(Q(next_attempt_at__gt=now) | Q(lease_expires_at__gt=now))
        .filter(store__status=Store.Status.CONNECTED, store__platform__in=PUSHED_PLATFORMS)
        .values_list("store_id", flat=True)
    )
