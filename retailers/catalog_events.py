"""The one door from the layers below (catalog/, suppliers/) into retailers/: what a catalog change
means for the listings that show it.

Catalog and suppliers sit below retailers and otherwise never call it. Four catalog facts matter
to retailers, and each is told here, by name, in the transaction that changes it:

- `stock_changed`: a variant's advertised quantity changed (page, import, API, feed): its
  listing variants are marked for the next inventory push, and each affected store's drain is
  queued after commit (one per store per short window);
- `stock_changed_by_orders`: the same for a reservation, release or shipment, recorded as a
  change that retailers' sync fans out to the listings after commit;
- `products_changed`: a product was activated, drafted or discontinued;
- `suppliers_changed`: a supplier's stock buffer or status changed (its whole catalog);
- `wholesale_prices_changed`: the listings are re-priced after the transaction commits.

Orders' stock changes are a recorded fact (`retailers.sync.models.VariantChange`) that
retailers' sync fans out after commit: marking a variant listed in 5,000 stores inside the
reservation's transaction held the variant's row lock for the whole UPDATE and capped a popular
product at a few dozen orders a second. A reservation records its changes inside its own SQL
statement (`RECORD_STOCK_CHANGES_SQL`), which keeps the order hot path at a constant number of
queries. The rarer supplier-side changes (page, import, API, feed, status, buffer) hold no
order's lock and still mark in their own transaction, one UPDATE.
The import contract allows catalog/ and suppliers/ to import this module and nothing else of
retailers/ (models aside), so the door stays single and visible.
"""

from collections.abc import Iterable

from retailers.services.listings import reprice_listings_for_variants
from retailers.sync.marking import (
    RECORD_CHANGES_SQL,
    changes_recorded,
    mark_products_dirty,
    mark_suppliers_dirty,
    mark_variants_dirty,
    record_variant_changes,
)

# What `stock_changed` records, as SQL to end a statement that changes stock (`FROM changed`
# follows: a relation with the variants' `id`), for catalog.services.reservations on PostgreSQL;
# the statement's caller then calls `stock_changes_recorded()`.
RECORD_STOCK_CHANGES_SQL = RECORD_CHANGES_SQL


def stock_changed(*, variant_ids: Iterable[int]) -> int:
    """Advertised quantities of these variants changed. Returns the listing variants marked."""
    return mark_variants_dirty(variant_ids=variant_ids)


def stock_changed_by_orders(*, variant_ids: Iterable[int]) -> int:
    """Orders reserved, released or shipped these variants' stock (under their row locks):
    record the changes; their listings are marked after commit. Returns the changes recorded."""
    return record_variant_changes(variant_ids=variant_ids)


def stock_changes_recorded() -> None:
    """A statement recorded changes with `RECORD_STOCK_CHANGES_SQL`: fan them out after commit."""
    changes_recorded()


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
