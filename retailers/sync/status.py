"""Reads for the sync status page, the API and the dashboard: per store pending changes, last
push, errors and stock freshness (age of the last confirmed push), in a fixed number of queries.

The freshness percentile and the last reconciliation per store have a PostgreSQL query
(`percentile_cont`, `DISTINCT ON`) and a portable one beside it for SQLite, the embedded
`make run` default; both give the same answers (tests/retailers/test_sync_status.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from retailers.models import ListingVariant, Retailer, Store
from retailers.sync.models import StockReconciliation, StoreSyncState


@dataclass
class StoreSyncStatus:
    store: Store
    pending: int = 0
    refused: int = 0
    last_push_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    freshness_p95_seconds: float | None = None
    last_reconciliation: StockReconciliation | None = None
    item_errors: list[str] = field(default_factory=list)

    @property
    def freshness_label(self) -> str:
        return humanise_seconds(self.freshness_p95_seconds)

    @property
    def errors(self) -> list[str]:
        found = [self.last_error] if self.last_error else []
        if self.store.status != Store.Status.CONNECTED:
            found.insert(0, self.store.status_reason or self.store.get_status_display())
        if self.last_reconciliation and self.last_reconciliation.error:
            found.append(f"Reconciliation: {self.last_reconciliation.error}")
        return found + self.item_errors


def _freshness_p95(store_ids: list[int]) -> dict[int, float]:
    """95th percentile, per store, of now − last confirmed push (never confirmed: since dirty)."""
    if not store_ids:
        return {}
    if connection.vendor == "postgresql":
        return _freshness_p95_postgresql(store_ids)
    return _freshness_p95_portable(store_ids)


def _freshness_p95_postgresql(store_ids: list[int]) -> dict[int, float]:
    table = connection.ops.quote_name(ListingVariant._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT store_id, percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM "  # noqa: S608 - our own table name
            "now() - COALESCE(inventory_confirmed_at, inventory_dirty_since))) "
            f"FROM {table} WHERE store_id = ANY(%s) "
            "AND COALESCE(inventory_confirmed_at, inventory_dirty_since) IS NOT NULL "
            "GROUP BY store_id",
            [store_ids],
        )
        return {store_id: float(value) for store_id, value in cursor.fetchall()}


def _freshness_p95_portable(store_ids: list[int]) -> dict[int, float]:
    """The same percentile_cont(0.95), computed here from the rows' timestamps."""
    now = timezone.now()
    ages: dict[int, list[float]] = defaultdict(list)
    for store_id, since in (
        ListingVariant.objects.filter(store_id__in=store_ids)
        .annotate(since=Coalesce("inventory_confirmed_at", "inventory_dirty_since"))
        .filter(since__isnull=False)
        .values_list("store_id", "since")
    ):
        ages[store_id].append((now - since).total_seconds())
    return {store_id: _percentile_cont(values, 0.95) for store_id, values in ages.items()}


def _percentile_cont(values: list[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont: interpolated between the two nearest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _last_reconciliations(store_ids: list[int]) -> dict[int, StockReconciliation]:
    """Each store's latest reconciliation run."""
    if connection.vendor == "postgresql":
        runs = _last_reconciliations_postgresql(store_ids)
    else:
        runs = _last_reconciliations_portable(store_ids)
    return {run.store_id: run for run in runs}


def _last_reconciliations_postgresql(store_ids: list[int]) -> QuerySet[StockReconciliation]:
    return (
        StockReconciliation.objects.filter(store_id__in=store_ids)
        .order_by("store_id", "-created_at", "-id")
        .distinct("store_id")
    )


def _last_reconciliations_portable(store_ids: list[int]) -> QuerySet[StockReconciliation]:
    latest = StockReconciliation.objects.filter(store_id=OuterRef("store_id")).order_by(
        "-created_at", "-id"
    )
    return StockReconciliation.objects.filter(
        store_id__in=store_ids, pk=Subquery(latest.values("pk")[:1])
    )


def list_store_sync_status(*, retailer: Retailer) -> list[StoreSyncStatus]:
    # A custom store is never pushed to (its shop reads our API), so it has no sync to show.
    stores = list(
        Store.objects.filter(retailer=retailer)
        .exclude(status=Store.Status.DISCONNECTED)
        .exclude(platform=Store.Platform.CUSTOM)
    )
    ids = [s.pk for s in stores]
    counts: dict[int, Mapping[str, Any]] = {
        row["store_id"]: row
        for row in ListingVariant.objects.filter(store_id__in=ids)
        .values("store_id")
        .annotate(
            pending=Count("id", filter=Q(is_inventory_dirty=True)),
            refused=Count("id", filter=~Q(inventory_error="")),
        )
    }
    states = StoreSyncState.objects.in_bulk(ids)
    runs = _last_reconciliations(ids)
    refused_samples: dict[int, list[str]] = {}
    for row in (
        ListingVariant.objects.filter(store_id__in=ids)
        .exclude(inventory_error="")
        .order_by("store_id", "id")
        .values("store_id", "variant__sku", "inventory_error")[:200]
    ):
        samples = refused_samples.setdefault(row["store_id"], [])
        if len(samples) < 5:
            samples.append(f"{row['variant__sku']}: {row['inventory_error']}")
    freshness = _freshness_p95(ids)
    result = []
    for store in stores:
        state = states.get(store.pk)
        count = counts.get(store.pk, {})
        result.append(
            StoreSyncStatus(
                store=store,
                pending=count.get("pending", 0),
                refused=count.get("refused", 0),
                last_push_at=state.last_push_at if state else None,
                last_error=state.last_error if state else "",
                last_error_at=state.last_error_at if state else None,
                freshness_p95_seconds=freshness.get(store.pk),
                last_reconciliation=runs.get(store.pk),
                item_errors=refused_samples.get(store.pk, []),
            )
        )
    return result


def retailer_sync_summary(*, retailer: Retailer) -> dict:
    """For the dashboard: pending changes, stores with errors, worst freshness p95."""
    statuses = list_store_sync_status(retailer=retailer)
    freshness = [s.freshness_p95_seconds for s in statuses if s.freshness_p95_seconds is not None]
    pushes = [s.last_push_at for s in statuses if s.last_push_at]
    return {
        "pending": sum(s.pending for s in statuses),
        "stores_with_errors": sum(1 for s in statuses if s.errors),
        "freshness_p95_seconds": max(freshness) if freshness else None,
        "freshness_label": humanise_seconds(max(freshness) if freshness else None),
        "last_push_at": max(pushes) if pushes else None,
        "now": timezone.now(),
    }


def humanise_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def freshness_by_listing(*, listing_ids) -> dict[int, float | None]:
    """Per listing: age in seconds of its least fresh variant (None: never confirmed)."""
    now = timezone.now()
    rows = (
        ListingVariant.objects.filter(listing_id__in=list(listing_ids))
        .values("listing_id")
        .annotate(oldest=Min(Coalesce("inventory_confirmed_at", "inventory_dirty_since")))
    )
    return {
        row["listing_id"]: (now - row["oldest"]).total_seconds() if row["oldest"] else None
        for row in rows
    }


def list_stalest_listings(*, retailer: Retailer, limit: int = 10) -> list[dict]:
    """The listings whose stock was confirmed longest ago (pending ones first), for the page."""
    now = timezone.now()
    rows = (
        ListingVariant.objects.filter(store__retailer=retailer)
        .exclude(store__status=Store.Status.DISCONNECTED)
        .values("listing_id", "listing__title", "listing__product__title", "store__name")
        .annotate(
            oldest=Min(Coalesce("inventory_confirmed_at", "inventory_dirty_since")),
            pending=Count("id", filter=Q(is_inventory_dirty=True)),
        )
        .filter(oldest__isnull=False)
        .order_by("oldest")[:limit]
    )
    return [
        {
            "title": row["listing__title"] or row["listing__product__title"],
            "store": row["store__name"],
            "pending": row["pending"],
            "age": humanise_seconds((now - row["oldest"]).total_seconds()),
        }
        for row in rows
    ]
