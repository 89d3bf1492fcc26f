"""Bulk upsert of variants by SKU (the API's door to the catalog import).

The rows go through the spreadsheet import's own checks (catalog.imports.rows.CatalogChecker)
and writer (catalog.imports.writer.CatalogWriter), so a page, a spreadsheet and the API agree on
what a valid row is and what it changes: a row is one variant keyed by SKU (existing SKUs are
updated), variants of a product share its handle, blank values keep what exists.

All or nothing: the rows are checked first and, if any row is wrong, every problem is reported
by row and field and nothing is written; a row refused while writing (stock below a reservation
made meanwhile) rolls the whole call back the same way.
"""

from dataclasses import dataclass
from typing import Literal

from django.db import IntegrityError, transaction

from catalog.imports.rows import (
    PARSE_ORDER,
    CatalogChecker,
    CategoryIndex,
    RowError,
    RowParser,
)
from catalog.imports.writer import CREATED, UNCHANGED, UPDATED, CatalogWriter
from catalog.models import StockMovement
from catalog.services.products import CatalogError
from dropship.accounts.models import User
from dropship.core.errors import Conflict, DomainError
from suppliers.models import Supplier

MAX_UPSERT_ROWS = 1000
Outcome = Literal["created", "updated", "unchanged"]
# A FAILED row never gets here: any refused row rolls the whole call back.
OUTCOMES: dict[str, Outcome] = {CREATED: "created", UPDATED: "updated", UNCHANGED: "unchanged"}
# The columns of a catalog spreadsheet, in the order the row parser reads them; images come by
# URL through their own endpoint, which fetches and checks them (a spreadsheet's are links only).
UPSERT_COLUMNS = tuple(name for name in PARSE_ORDER if name != "image_url")
_MAPPING = {str(index): name for index, name in enumerate(UPSERT_COLUMNS)}


class UpsertRefused(DomainError):
    """Some rows are wrong; `errors` lists each as (row index, column, reason)."""

    status_code = 422
    code = "upsert_refused"

    def __init__(self, errors: list[RowError]) -> None:
        rows = len({error.row for error in errors})
        super().__init__(
            f"{rows} row{'s' if rows != 1 else ''} of the batch "
            f"{'have' if rows != 1 else 'has'} errors; nothing was written.",
        )
        self.errors = sorted(errors, key=lambda error: error.row)


@dataclass(frozen=True)
class UpsertOutcome:
    sku: str
    outcome: Outcome


@dataclass(frozen=True)
class UpsertResult:
    rows: list[UpsertOutcome]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


def upsert_variants(
    *, supplier: Supplier, actor: User | None, rows: list[dict[str, str]], reference: str
) -> UpsertResult:
    """Create or update up to 1,000 variants (and their products) by SKU, all or nothing.

    Each row maps UPSERT_COLUMNS to the text a spreadsheet cell would hold ("" = blank).
    """
    if not rows:
        raise CatalogError("Send at least one item.", field="items")
    if len(rows) > MAX_UPSERT_ROWS:
        raise CatalogError(
            f"Send at most {MAX_UPSERT_ROWS:,} items in one call (got {len(rows):,}).",
            field="items",
        )
    parser = RowParser(headers=list(UPSERT_COLUMNS), mapping=_MAPPING, categories=CategoryIndex())
    checker = CatalogChecker(supplier_id=supplier.pk, parser=parser)
    numbered = [
        (index, [str(row.get(name, "")) for name in UPSERT_COLUMNS])
        for index, row in enumerate(rows)
    ]
    writer = CatalogWriter(
        supplier=supplier,
        actor=actor,
        reference=reference[:120],
        stock_header="stock",
        source=StockMovement.Source.API,
    )
    try:
        with transaction.atomic():
            valid, errors, _invalid = checker.check(numbered)
            if errors:
                raise UpsertRefused(errors)
            result = writer.write(valid)
            if result.errors:  # raising inside the block rolls back what was written
                raise UpsertRefused(result.errors)
    except IntegrityError as exc:  # a concurrent call created the same SKU or handle first
        raise Conflict(
            "Another change to these SKUs or handles was saved at the same moment; "
            "send the batch again.",
            field="items",
        ) from exc
    return UpsertResult(
        rows=[
            UpsertOutcome(sku=row.sku, outcome=OUTCOMES[result.outcomes[row.row]])
            for row in sorted(valid, key=lambda row: row.row)
        ]
    )
