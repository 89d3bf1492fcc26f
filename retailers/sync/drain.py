"""The per-store drain: push the latest advertised quantity of every dirty listing variant.

One drain at a time per store: a lease on the store's `StoreSyncState` row, taken with a
conditional UPDATE (a real lock in the database, with an expiry so a killed worker cannot hold
it for ever). The drain claims dirty rows in batches of the store API's maximum, reading each
row's version and advertised quantity in the same query, pushes them (the Shopify client paces
itself from the store's own throttle answers; the clients wait out only short pauses, and a
longer 429 or a 5xx ends the drain, which backs off by the one retry policy in
dropship.core.retry), then records the pushed quantity and time and clears the dirty flag only
where the version is still the one it read. A row re-marked meanwhile stays dirty and goes in a later
batch, with its newer value: nothing older ever overwrites something newer, because only one
drain pushes to a store at a time and every batch reads the current values.

A row the store refuses is put aside (`inventory_retry_at`) and does not block the others; a 401
marks the store as needing reconnection and stops; a store that keeps failing backs off.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Case, F, IntegerField, Min, Q, Sum, Value, When
from django.utils import timezone

from catalog.inventory import listing_advertised_expression
from dropship.core.retry import INVENTORY_DRAIN
from integrations.base import (
    InventoryChange,
    StoreAuthError,
    StoreClient,
    StorePermanentError,
    StoreTemporaryError,
)
from integrations.registry import get_store_client
from retailers.models import Listing, ListingVariant, Store
from retailers.services.stores import mark_store_needs_reconnect
from retailers.sync import marking
from retailers.sync.models import StoreSyncState

logger = logging.getLogger(__name__)

LEASE_SECONDS = 120
TIME_BUDGET_SECONDS = 45.0  # then hand over to a fresh task (other stores get workers too)
ITEM_RETRY_AFTER = timedelta(minutes=10)


@dataclass
class DrainResult:
    store_id: int
    outcome: str = "done"  # done | busy | more | skipped | backoff | failed | reconnect
    batches: int = 0
    pushed: int = 0
    coalesced: int = 0  # rows cleared without a call: the store already shows that number
    failed_items: int = 0
    calls: int = 0
    errors: list[str] = field(default_factory=list)


# --- the lease -----------------------------------------------------------------------------------
def _acquire_lease(store_id: int) -> str | None:
    StoreSyncState.objects.get_or_create(store_id=store_id)
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = (
        StoreSyncState.objects.filter(store_id=store_id)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .update(lease_token=token, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))
    )
    return token if taken else None


def _renew_lease(store_id: int, token: str) -> bool:
    return bool(
        StoreSyncState.objects.filter(store_id=store_id, lease_token=token).update(
            lease_expires_at=timezone.now() + timedelta(seconds=LEASE_SECONDS)
        )
    )


def _release_lease(store_id: int, token: str) -> None:
    StoreSyncState.objects.filter(store_id=store_id, lease_token=token).update(
        lease_token="", lease_expires_at=None
    )


# --- claiming ------------------------------------------------------------------------------------
def dirty_rows(*, store_id: int):
    """Dirty rows of a store that may be pushed now (not put aside after a refusal)."""
    return ListingVariant.objects.filter(store_id=store_id, is_inventory_dirty=True).filter(
        Q(inventory_retry_at__isnull=True) | Q(inventory_retry_at__lte=timezone.now())
    )


def _claim(store_id: int, size: int) -> list[dict]:
    return list(
        dirty_rows(store_id=store_id)
        .annotate(advertised=listing_advertised_expression())
        .order_by("inventory_dirty_since", "id")
        .values(
            "id",
            "listing_id",
            "inventory_version",
            "advertised",
            "last_pushed_quantity",
            "store_quantity",
            "inventory_item_id",
            "store_variant_id",
            "listing__store_product_id",
        )[:size]
    )


def _change_for(client: StoreClient, row: dict) -> InventoryChange | None:
    """The row's new quantity, named by its id; None while the store has no address for it."""
    change = InventoryChange(
        reference=str(row["id"]),
        quantity=row["advertised"],
        inventory_item_id=row["inventory_item_id"],
        store_variant_id=row["store_variant_id"],
        store_product_id=row["listing__store_product_id"],
        expected_quantity=row["store_quantity"],
        version=row["inventory_version"],
    )
    return change if client.has_inventory_address(change.item) else None


# --- recording -----------------------------------------------------------------------------------
def lock_free_rows(ids: list[int]) -> list[int]:
    """Lock these listing variants without waiting (call inside a transaction); a row another
    transaction holds is being marked again right now, so it is left for the next pass. The
    drain never waits on a stock change's locks, so the two can never deadlock."""
    return list(
        ListingVariant.objects.select_for_update(skip_locked=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def _record_pushed(rows: list[dict], *, confirmed: bool) -> None:
    """Pushed (or already shown): remember the quantity; clear dirty where the version held."""
    if not rows:
        return
    free = set(lock_free_rows([row["id"] for row in rows]))
    rows = [row for row in rows if row["id"] in free]
    if not rows:
        return
    now = timezone.now()
    same_version = Q()
    for row in rows:
        same_version |= Q(pk=row["id"], inventory_version=row["inventory_version"])
    updates = {
        "last_pushed_quantity": Case(
            *(When(pk=row["id"], then=Value(row["advertised"])) for row in rows),
            output_field=IntegerField(),
        ),
        "is_inventory_dirty": Case(When(same_version, then=Value(False)), default=Value(True)),
        "inventory_dirty_since": Case(
            When(same_version, then=Value(None)), default=F("inventory_dirty_since")
        ),
        "inventory_error": Value(""),
        "inventory_retry_at": Value(None),
    }
    if confirmed:
        updates["last_pushed_at"] = Value(now)
        updates["inventory_confirmed_at"] = Value(now)
        updates["store_quantity"] = updates["last_pushed_quantity"]  # the store took it
    ListingVariant.objects.filter(pk__in=[row["id"] for row in rows]).update(**updates)


@transaction.atomic
def _record_refused(
    rows: list[dict], messages: dict[int, str], *, shown: dict[int, int] | None = None
) -> None:
    """Put refused rows aside (they stay dirty); remember what the store showed, where the
    refusal told us (a compare-and-swap that kept failing), for the next push to compare."""
    retry_at = timezone.now() + ITEM_RETRY_AFTER
    free = set(lock_free_rows([row["id"] for row in rows]))
    shown = shown or {}
    for row in rows:
        if row["id"] not in free:
            continue
        extra = {"store_quantity": shown[row["id"]]} if row["id"] in shown else {}
        ListingVariant.objects.filter(pk=row["id"]).update(
            inventory_error=messages.get(row["id"], "The store refused this item.")[:500],
            inventory_retry_at=retry_at,
            **extra,
        )


def _note_store_error(
    store_id: int, message: str, *, backoff: bool, error: StoreTemporaryError | None = None
) -> None:
    state = StoreSyncState.objects.get(store_id=store_id)
    failures = state.consecutive_failures + 1 if backoff else state.consecutive_failures
    fields = {"last_error": message[:500], "last_error_at": timezone.now()}
    if backoff:
        delay = INVENTORY_DRAIN.delay(failures - 1, error=error)
        fields |= {
            "consecutive_failures": failures,
            "next_attempt_at": timezone.now() + timedelta(seconds=delay),
        }
    StoreSyncState.objects.filter(store_id=store_id).update(**fields)


# --- delist and relist ---------------------------------------------------------------------------
def _update_publication(store: Store, client, listing_ids: set[int]) -> list[str]:
    """At advertised 0 unpublish (if the store, else its retailer, wants that); republish when
    stock is back."""
    if not listing_ids:
        return []
    listings = (
        Listing.objects.filter(pk__in=listing_ids, status=Listing.Status.ACTIVE)
        .exclude(store_product_id="")
        .annotate(total=Sum(listing_advertised_expression(from_listing=True)))
    )
    errors: list[str] = []
    unpublish = store.unpublishes_when_out_of_stock
    for listing in listings:
        total = listing.total or 0
        if total == 0 and unpublish and listing.is_published:
            wanted, delisted = False, True
        elif total > 0 and listing.is_delisted_for_stock:
            wanted, delisted = True, False
        else:
            continue
        try:
            client.set_product_published(
                store_product_id=listing.store_product_id, is_published=wanted
            )
        except StoreAuthError:
            raise
        except (StorePermanentError, StoreTemporaryError) as exc:
            errors.append(f"{listing.store_product_id}: {exc}")
            Listing.objects.filter(pk=listing.pk).update(last_error=str(exc)[:2000])
            continue
        Listing.objects.filter(pk=listing.pk).update(
            is_published=wanted, is_delisted_for_stock=delisted, updated_at=timezone.now()
        )
    return errors


# --- the drain -----------------------------------------------------------------------------------
def _push_batch(client: StoreClient, rows: list[dict], result: DrainResult) -> None:
    """Push one claimed batch; record what the store took and what it refused."""
    to_push: list[tuple[dict, InventoryChange]] = []
    already: list[dict] = []
    unpushable: dict[int, str] = {}
    for row in rows:
        if (
            row["last_pushed_quantity"] is not None
            and row["last_pushed_quantity"] == row["advertised"]
        ):
            already.append(row)  # coalesced: the store shows this number already
            continue
        change = _change_for(client, row)
        if change is None:
            unpushable[row["id"]] = "The item has no id in the store yet (not imported)."
            continue
        to_push.append((row, change))
    _record_pushed(already, confirmed=False)
    result.coalesced += len(already)
    if unpushable:
        _record_refused([r for r in rows if r["id"] in unpushable], unpushable)
        result.failed_items += len(unpushable)
    if not to_push:
        return
    # While a push is in flight the store's quantity is unknown: forget what we last pushed
    # first, so a worker killed before recording the answer never lets a later drain believe
    # the store still shows the old number (and skip a push it needs).
    with transaction.atomic():
        free = set(lock_free_rows([row["id"] for row, _c in to_push]))
        to_push = [(row, change) for row, change in to_push if row["id"] in free]
        ListingVariant.objects.filter(pk__in=free).update(last_pushed_quantity=None)
    if not to_push:
        return
    changes = [change for _row, change in to_push]
    calls_before = getattr(client, "calls", 0)
    try:
        answer = client.set_inventory(changes=changes)
    except StoreAuthError:
        raise
    except StorePermanentError as exc:
        # The whole call was refused (bad request): put these rows aside, go on with the rest.
        _record_refused([r for r, _c in to_push], {r["id"]: str(exc) for r, _c in to_push})
        result.failed_items += len(to_push)
        result.errors.append(str(exc))
        return
    finally:
        result.calls += getattr(client, "calls", 0) - calls_before
    row_ids = {change.reference: row["id"] for row, change in to_push}
    refused = {
        row_ids[reference]: message
        for reference, message in answer.refused.items()
        if reference in row_ids
    }
    if answer.unattributed and answer.updated < len(to_push) - len(refused):
        # The store refused something it did not name: nothing in this batch is confirmed.
        for row, _change in to_push:
            refused.setdefault(row["id"], "; ".join(answer.unattributed))
    ok = [row for row, _c in to_push if row["id"] not in refused]
    _record_pushed(ok, confirmed=True)
    if refused:
        shown = {
            row_ids[reference]: quantity
            for reference, quantity in answer.shown.items()
            if reference in row_ids
        }
        _record_refused([r for r, _c in to_push if r["id"] in refused], refused, shown=shown)
        result.errors.extend(sorted(set(refused.values()))[:10])
    result.pushed += len(ok)
    result.failed_items += len(refused)


def drain_store(*, store_id: int, time_budget: float = TIME_BUDGET_SECONDS) -> DrainResult:
    """Push what is dirty for one store until done or out of time. Safe to run twice at once:
    the second one finds the lease taken and returns "busy"."""
    marking.drain_started(store_id=store_id)  # changes from now on queue the next drain
    return _drain(store_id, time_budget)


def _drain(store_id: int, time_budget: float) -> DrainResult:
    result = DrainResult(store_id=store_id)
    store = Store.objects.select_related("retailer").filter(pk=store_id).first()
    if store is None or store.status != Store.Status.CONNECTED:
        result.outcome = "skipped"
        return result
    if store.platform not in (Store.Platform.SHOPIFY, Store.Platform.WOOCOMMERCE):
        result.outcome = "skipped"  # custom stores read stock through our API
        return result
    state = StoreSyncState.objects.filter(store_id=store_id).first()
    if state and state.next_attempt_at and state.next_attempt_at > timezone.now():
        result.outcome = "backoff"
        return result
    token = _acquire_lease(store_id)
    if token is None:
        result.outcome = "busy"
        return result
    # Read before the first claim: a mark committed after this moves it, and is either claimed
    # below or queues the next drain at the end.
    pending_version: int = StoreSyncState.objects.values_list("pending_version", flat=True).get(
        store_id=store_id
    )
    started = time.monotonic()
    try:
        try:
            client = get_store_client(store=store)
        except StoreAuthError as exc:
            mark_store_needs_reconnect(store=store, reason=str(exc))
            _note_store_error(store_id, str(exc), backoff=False)
            result.outcome = "reconnect"
            return result
        size = int(client.inventory_batch_size)
        while True:
            rows = _claim(store_id, size)
            if not rows:
                break
            result.batches += 1
            try:
                _push_batch(client, rows, result)
                publication_errors = _update_publication(
                    store, client, {row["listing_id"] for row in rows}
                )
                result.errors.extend(publication_errors)
            except StoreAuthError as exc:
                mark_store_needs_reconnect(store=store, reason=str(exc))
                _note_store_error(store_id, str(exc), backoff=False)
                result.outcome = "reconnect"
                return result
            except StoreTemporaryError as exc:
                _note_store_error(store_id, str(exc), backoff=True, error=exc)
                result.errors.append(str(exc))
                result.outcome = "backoff"
                return result
            if not _renew_lease(store_id, token):
                result.outcome = "busy"  # the lease expired and another drain took over
                return result
            if time.monotonic() - started > time_budget:
                result.outcome = "more" if _claim(store_id, 1) else "done"
                break
        StoreSyncState.objects.filter(store_id=store_id).update(
            consecutive_failures=0,
            next_attempt_at=None,
            last_push_at=timezone.now() if result.pushed else F("last_push_at"),
            pushed_total=F("pushed_total") + result.pushed,
            calls_total=F("calls_total") + result.calls,
            **({"last_error": "", "last_error_at": None} if not result.errors else {}),
        )
        if result.errors:
            _note_store_error(store_id, result.errors[-1], backoff=False)
        return result
    finally:
        _release_lease(store_id, token)
        if result.outcome == "more":
            transaction.on_commit(lambda: _reschedule(store_id))
        elif result.outcome == "done":
            _settle_pending(store_id, pending_version)


def _reschedule(store_id: int) -> None:
    from retailers.tasks import drain_store_task  # local: tasks.py imports the services

    drain_store_task.apply_async(args=(store_id,), countdown=1)


def _settle_pending(store_id: int, pending_version: int) -> None:
    """After a drain that ran out of work: if nothing was marked since it started, the store's
    flag is cleared, or moved to the first retry time of rows put aside after a refusal (beat
    retries them then, not in a loop); if something was, queue the next drain (its own may have
    found this one busy)."""
    now = timezone.now()
    remaining = ListingVariant.objects.filter(store_id=store_id, is_inventory_dirty=True)
    if remaining.filter(
        Q(inventory_retry_at__isnull=True) | Q(inventory_retry_at__lte=now)
    ).exists():
        due = now
    else:
        due = remaining.aggregate(first=Min("inventory_retry_at"))["first"]
    settled = StoreSyncState.objects.filter(
        store_id=store_id, pending_version=pending_version
    ).update(pending_since=due)
    if not settled:
        marking.queue_drains_for_changes(store_ids=[store_id])


def kick_drains() -> int:
    """Beat, the safety net: fan out changes a dead worker left queued, then start a drain for
    each flagged store with none queued (a running drain just answers "busy")."""
    marking.fan_out_variant_changes()
    return marking.schedule_drains(store_ids=marking.stores_with_work(), countdown=0)
