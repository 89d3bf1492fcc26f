"""Inventory synchronisation, entry point: stock changed → the listings showing it are dirty.

Whatever changes a variant's advertised quantity (supplier page, import, API, feed, reservation,
release, shipment, buffer change) calls `mark_variants_dirty` in the same transaction. One bulk
UPDATE marks every listing variant of those variants, however many stores list them; the
per-store drain pushes the latest advertised quantity later, so ten changes before a push send
one value.
"""

from collections.abc import Iterable

from django.db.models import Q
from django.db.models.functions import Coalesce, Now

from retailers.models import ListingVariant


def mark_variants_dirty(*, variant_ids: Iterable[int]) -> int:
    """Mark every listing variant of these variants for an inventory push; returns rows marked."""
    ids = sorted(set(variant_ids))
    if not ids:
        return 0
    return (
        ListingVariant.objects.filter(variant_id__in=ids)
        .filter(Q(is_inventory_dirty=False) | Q(inventory_dirty_since__isnull=True))
        .update(
            is_inventory_dirty=True, inventory_dirty_since=Coalesce("inventory_dirty_since", Now())
        )
    )


def mark_listings_dirty(*, listing_ids: Iterable[int]) -> int:
    """Mark every variant of these listings for a push (paused, unlisted, relisted, re-imported)."""
    ids = sorted(set(listing_ids))
    if not ids:
        return 0
    return _mark(ListingVariant.objects.filter(listing_id__in=ids))


def _mark(rows) -> int:
    """One UPDATE; keeps the time a row first became dirty (freshness is measured from it)."""
    return rows.filter(Q(is_inventory_dirty=False) | Q(inventory_dirty_since__isnull=True)).update(
        is_inventory_dirty=True, inventory_dirty_since=Coalesce("inventory_dirty_since", Now())
    )
