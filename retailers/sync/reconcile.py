"""Reconciliation: read back what each store shows, compare with what we pushed and advertise.

store ≠ last pushed  → drift (someone changed it in the store): forget what we pushed and mark
                       the row dirty, so the drain sets it again;
last pushed ≠ advertised and the row is not dirty → stale (a change was never marked): mark it;
the store has no such item → missing (recorded; the import flow owns re-creating it);
all three equal → confirmed now (freshness restarts).

Reads go in pages of the platform's maximum through the same paced clients as the pushes. A
run that fails part-way records what it saw and the error. Safe to run twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from catalog.inventory import listing_advertised_expression
from integrations.base import (
    InventoryRef,
    StoreAuthError,
    StoreClient,
    StorePermanentError,
    StoreTemporaryError,
)
from integrations.registry import get_store_client
from retailers.models import ListingVariant, Store
from retailers.services.stores import mark_store_needs_reconnect, reconnect_on_auth_error
from retailers.sync.drain import lock_free_rows
from retailers.sync.marking import hold_marking_lock, mark_rows_dirty
from retailers.sync.models import StockReconciliation

MAX_SAMPLES = 50
RECONCILE_EVERY = timedelta(minutes=30)


def _ref(client: StoreClient, row: Mapping[str, Any]) -> InventoryRef | None:
    """Where the row's stock lives in the store; None while the store has no address for it."""
    ref = InventoryRef(
        inventory_item_id=row["inventory_item_id"],
        store_variant_id=row["store_variant_id"],
        store_product_id=row["listing__store_product_id"],
    )
    return ref if client.has_inventory_address(ref) else None


def reconcile_store(*, store_id: int) -> StockReconciliation | None:

    store = Store.objects.select_related("retailer").filter(pk=store_id).first()
    if store is None or store.status != Store.Status.CONNECTED:
        return None
    if store.platform not in (Store.Platform.SHOPIFY, Store.Platform.WOOCOMMERCE):
        return None
    run = StockReconciliation.objects.create(store=store)
    try:
        client = get_store_client(store=store)
    except StoreAuthError as exc:
        mark_store_needs_reconnect(store=store, reason=str(exc))
        return _finish(run, error=str(exc))
    size = int(getattr(client, "inventory_read_batch_size", client.inventory_batch_size))
    rows = (
        ListingVariant.objects.filter(store=store)
        .annotate(advertised=listing_advertised_expression())
        .order_by("id")
        .values(
            "id",
            "inventory_version",
            "is_inventory_dirty",
            "advertised",
            "last_pushed_quantity",
            "inventory_item_id",
            "store_variant_id",
            "listing__store_product_id",
        )
    )
    last_id = 0
    while True:
        page = list(rows.filter(id__gt=last_id)[:size])
        if not page:
            break
        last_id = page[-1]["id"]
        readable = [(row, ref) for row in page if (ref := _ref(client, row)) is not None]
        if not readable:
            continue
        try:
            with reconnect_on_auth_error(store=store):
                answer = client.read_inventory(items=[ref for _row, ref in readable])
        except (StoreTemporaryError, StorePermanentError) as exc:
            return _finish(run, error=str(exc))
        run.calls += answer.calls
        _compare(run, [row for row, _ref in readable], answer.quantities)
    return _finish(run)


def _compare(
    run: StockReconciliation, rows: Sequence[Mapping[str, Any]], shown: tuple[int | None, ...]
) -> None:
    drifted: list[int] = []
    stale: list[int] = []
    confirmed: list[tuple[int, int]] = []
    for row, quantity in zip(rows, shown, strict=True):
        run.checked += 1
        pushed, advertised = row["last_pushed_quantity"], row["advertised"]
        if quantity is None:
            run.missing += 1
            _sample(run, row, quantity, "missing")
        elif pushed is not None and quantity != pushed:
            run.drifted += 1
            drifted.append(row["id"])
            _sample(run, row, quantity, "drift")
        elif pushed != advertised and not row["is_inventory_dirty"]:
            run.stale += 1
            stale.append(row["id"])
            _sample(run, row, quantity, "stale")
        elif pushed is None and quantity != advertised:
            run.drifted += 1
            drifted.append(row["id"])
            _sample(run, row, quantity, "drift")
        else:
            run.matched += 1
            if quantity == advertised:
                confirmed.append((row["id"], row["inventory_version"]))
    with transaction.atomic():  # never wait on a stock change's row locks (no deadlock)
        hold_marking_lock()  # before the rows: a fan-out holding it may wait for them
        free = set(lock_free_rows([row["id"] for row in rows]))
        # What the store shows is what the next push compares against (compare-and-swap).
        read = {row["id"]: quantity for row, quantity in zip(rows, shown, strict=True)}
        if any(pk in free for pk in read):
            ListingVariant.objects.filter(pk__in=[pk for pk in read if pk in free]).update(
                store_quantity=Case(
                    *(When(pk=pk, then=Value(q)) for pk, q in read.items() if pk in free),
                    output_field=IntegerField(),
                )
            )
        run.repaired += mark_rows_dirty(
            listing_variant_ids=[pk for pk in drifted if pk in free], forget_pushed=True
        )
        run.repaired += mark_rows_dirty(listing_variant_ids=[pk for pk in stale if pk in free])
        confirmed = [(pk, version) for pk, version in confirmed if pk in free]
        if confirmed:
            same = Q()
            for pk, version in confirmed:
                same |= Q(pk=pk, inventory_version=version)
            ListingVariant.objects.filter(same).update(inventory_confirmed_at=timezone.now())


def _sample(run: StockReconciliation, row: Mapping[str, Any], shown: int | None, kind: str) -> None:
    if len(run.samples) < MAX_SAMPLES:
        run.samples.append(
            {
                "listing_variant": row["id"],
                "kind": kind,
                "store": shown,
                "pushed": row["last_pushed_quantity"],
                "advertised": row["advertised"],
            }
        )


def _finish(run: StockReconciliation, *, error: str = "") -> StockReconciliation:
    run.status = StockReconciliation.Status.FAILED if error else StockReconciliation.Status.DONE
    run.error = error[:500]
    run.finished_at = timezone.now()
    run.save()
    return run


def schedule_reconciliations() -> int:
    """Beat: reconcile every connected store not reconciled in the last half hour."""
    from retailers.tasks import reconcile_store_task  # local: tasks.py imports the services

    recent = StockReconciliation.objects.filter(
        created_at__gte=timezone.now() - RECONCILE_EVERY
    ).values("store_id")
    store_ids = list(
        Store.objects.filter(
            status=Store.Status.CONNECTED,
            platform__in=[Store.Platform.SHOPIFY, Store.Platform.WOOCOMMERCE],
        )
        .exclude(pk__in=recent)
        .values_list("pk", flat=True)
    )
    for store_id in store_ids:
        reconcile_store_task.delay(store_id)
    return len(store_ids)
