"""Inventory synchronisation (DESIGN.md flow 5).

- `marking`: a change of advertised quantity marks the affected listing variants dirty (orders'
  changes through the `VariantChange` queue and its fan-out), flags their stores and queues one
  drain per store after commit.
- `drain`: one drain at a time per store pushes the latest quantities in API-sized batches.
- `reconcile`: reads quantities back from each store and re-marks what drifted.
- `status`: per-store pending changes, last push, errors and freshness for pages and the API.

`from retailers.sync import mark_variants_dirty, mark_listings_dirty` is the stable entry point.
"""

from retailers.sync.marking import (
    mark_listings_dirty,
    mark_products_dirty,
    mark_rows_dirty,
    mark_suppliers_dirty,
    mark_variants_dirty,
)

__all__ = [
    "mark_listings_dirty",
    "mark_products_dirty",
    "mark_rows_dirty",
    "mark_suppliers_dirty",
    "mark_variants_dirty",
]
