"""The one door from the layers below (catalog/, suppliers/) into retailers/: what a catalog change
means for the listings that show it.

Catalog and suppliers sit below retailers and otherwise never call it. Four catalog facts matter
to retailers, and each is told here, by name, in the transaction that changes it:

- `stock_changed`: a variant's advertised quantity changed (page, import, API, feed,
  reservation, release, shipment): its listing variants are marked for the next inventory push;
- `products_changed`: a product was activated, drafted or discontinued;
- `suppliers_changed`: a supplier's stock buffer or status changed (its whole catalog);
- `wholesale_prices_changed`: the listings are re-priced after the transaction commits.

Why a call and not a recorded fact that retailers picks up later: marking is one UPDATE in the
same transaction, and the per-store drain already is the asynchronous step, so the stock-sync
latency stays one drain away; a reservation even marks its listings inside its own SQL statement
(`MARK_LISTINGS_DIRTY_SQL`), which keeps the order hot path at a constant number of queries.
The import contract allows catalog/ and suppliers/ to import this module and nothing else of
retailers/ (models aside), so the door stays single and visible.
"""

from collections.abc import Iterable

from retailers.services.listings import reprice_listings_for_variants
from retailers.sync.marking import (
    MARK_DIRTY_SQL,
    mark_products_dirty,
    mark_suppliers_dirty,
    mark_variants_dirty,
)

# The statement `stock_changed` runs, as SQL to end a statement that changes stock (`WHERE
# variant_id IN (...)` follows), for catalog.services.reservations on PostgreSQL.
MARK_LISTINGS_DIRTY_SQL = MARK_DIRTY_SQL


def stock_changed(*, variant_ids: Iterable[int]) -> int:
    """Advertised quantities of these variants changed. Returns the listing variants marked."""
    return mark_variants_dirty(variant_ids=variant_ids)


def products_changed(*, product_ids: Iterable[int]) -> int:
    """These products' status changed: every listing of them shows a new quantity."""
    return mark_products_dirty(product_ids=product_ids)


def suppliers_changed(*, supplier_ids: Iterable[int]) -> int:
    """These suppliers' stock buffer or status changed: every listing of their catalog shows a
    new quantity."""
    return mark_suppliers_dirty(supplier_ids=supplier_ids)


def wholesale_prices_changed(*, variant_ids: Iterable[int]) -> None:
    """These variants' wholesale prices changed: their listings are re-priced once the caller's
    transaction commits."""
    reprice_listings_for_variants(variant_ids=variant_ids)
