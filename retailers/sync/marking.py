"""Stock changed → the listings showing it are dirty, in one statement however many stores list it.

Whatever changes a variant's advertised quantity (supplier page, import, API, feed, reservation,
release, shipment, buffer change, product or supplier status) calls one of these in the same
transaction. Every mark bumps the row's `inventory_version`; the per-store drain pushes the
latest advertised quantity later and clears the flag only if the version it read is unchanged,
so ten changes before a push send one value and a change during a push is never lost.
`inventory_dirty_since` keeps the time the row first became dirty (freshness is measured from it).
"""

from collections.abc import Iterable

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce, Now

from retailers.models import ListingVariant

# `_mark` as SQL, for statements that change stock and mark its listings in one round trip
# (catalog.services.reservations on PostgreSQL). Keep the two the same.
MARK_DIRTY_SQL = """
    UPDATE retailers_listingvariant
       SET is_inventory_dirty = true,
           inventory_dirty_since = COALESCE(inventory_dirty_since, now()),
           inventory_version = inventory_version + 1
"""


def _ids(values: Iterable[int]) -> list[int]:
    return sorted({int(v) for v in values})


def _mark(rows: QuerySet) -> int:
    """One UPDATE: dirty, first-dirty time kept, version bumped. Returns the rows marked."""
    return rows.update(
        is_inventory_dirty=True,
        inventory_dirty_since=Coalesce("inventory_dirty_since", Now()),
        inventory_version=F("inventory_version") + 1,
    )


def mark_variants_dirty(*, variant_ids: Iterable[int]) -> int:
    """Mark every listing variant of these catalog variants for an inventory push."""
    ids = _ids(variant_ids)
    if not ids:
        return 0
    return _mark(ListingVariant.objects.filter(variant_id__in=ids))


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
        return rows.update(
            is_inventory_dirty=True,
            inventory_dirty_since=Coalesce("inventory_dirty_since", Now()),
            inventory_version=F("inventory_version") + 1,
            last_pushed_quantity=None,
            inventory_retry_at=None,
        )
    return _mark(rows)
