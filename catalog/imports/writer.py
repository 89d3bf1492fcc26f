"""Write one batch of checked import rows: a handful of queries per batch, whatever its size.

Products are upserted by handle and variants by SKU with bulk_create / bulk_update; stock goes
through the stock service like every other stock change (source IMPORT), so it is locked,
checked against reservations and recorded. Each row ends up created, updated, unchanged or
failed; importing the same file twice reports everything unchanged.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import TypeVar

from django.db.models import Max
from django.utils import timezone

from catalog.imports.rows import ParsedRow, RowError
from catalog.models import Product, ProductImage, StockMovement, Variant
from catalog.services.stock import set_stock_levels
from dropship.accounts.models import User
from retailers import catalog_events
from suppliers.models import Supplier

CREATED, UPDATED, UNCHANGED, FAILED = "created", "updated", "unchanged", "failed"
VARIANT_FIELDS = ("options", "wholesale_price", "msrp", "weight_grams", "shipping_class")

_T = TypeVar("_T")


def _checked(value: _T | None, name: str) -> _T:
    """A value the row checkers require before a row reaches a writer (a missing wholesale price
    or an unknown SKU fails the row), so None here is a bug, not a user's mistake."""
    if value is None:
        raise ValueError(f"an import row reached the writer without its {name}")
    return value


@dataclass
class BatchResult:
    counts: Counter = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    outcomes: dict[int, str] = field(default_factory=dict)  # row number -> CREATED, UPDATED...


class BatchWriterBase:
    """What every catalog batch writer is told: whose catalog, who imports, the job's reference
    for stock movements, the column stock came from and the movements' source."""

    def __init__(
        self,
        *,
        supplier: Supplier,
        actor: User | None,
        reference: str,
        stock_header: str,
        source: str = StockMovement.Source.IMPORT,
    ):
        self.supplier = supplier
        self.actor = actor
        self.reference = reference
        self.stock_header = stock_header
        self.source = source


class CatalogWriter(BatchWriterBase):
    """The row-wise writer: ORM statements per batch (imports on SQLite, the API's bulk upsert)."""

    def write(self, rows: list[ParsedRow]) -> BatchResult:
        """Call inside a transaction: the batch is written whole or not at all."""
        now = timezone.now()
        outcome: dict[int, str] = {}
        products = self._upsert_products(rows, outcome, now)
        variants = self._upsert_variants(rows, products, outcome, now)
        result = BatchResult()
        self._set_stock(rows, variants, outcome, result)
        self._add_images(rows, products, outcome)
        for row in rows:
            result.outcomes[row.row] = outcome.get(row.row, UNCHANGED)
            result.counts[result.outcomes[row.row]] += 1
        return result

    def _upsert_products(
        self, rows: list[ParsedRow], outcome: dict[int, str], now
    ) -> dict[str, Product]:
        handles = {row.handle for row in rows}
        products = {
            p.handle: p
            for p in Product.objects.filter(supplier=self.supplier, handle__in=handles).only(
                "id", "handle", "title", "description", "category_id", "status", "option_names"
            )
        }
        new: list[Product] = []
        changed: list[Product] = []
        for row in rows:
            if not row.defines_product:
                continue
            product = products.get(row.handle)
            if product is None:
                product = Product(
                    supplier=self.supplier,
                    handle=row.handle,
                    title=row.title,
                    description=row.description,
                    category_id=row.category_id,
                    status=row.status or Product.Status.DRAFT,
                    option_names=row.option_names,
                )
                products[row.handle] = product
                new.append(product)
                outcome[row.row] = UPDATED  # its variant row says CREATED below
                continue
            before = (
                product.title,
                product.description,
                product.category_id,
                product.status,
                product.option_names,
            )
            if row.title:
                product.title = row.title
            if row.description:
                product.description = row.description
            if row.category_id is not None:
                product.category_id = row.category_id
            if row.status:
                product.status = row.status
            product.option_names = row.option_names
            after = (
                product.title,
                product.description,
                product.category_id,
                product.status,
                product.option_names,
            )
            if after != before:
                product.updated_at = now
                changed.append(product)
                outcome[row.row] = UPDATED
        if new:
            Product.objects.bulk_create(new, batch_size=1000)
        if changed:
            Product.objects.bulk_update(
                changed,
                ["title", "description", "category", "status", "option_names", "updated_at"],
                batch_size=1000,
            )
        return products

    def _upsert_variants(
        self, rows: list[ParsedRow], products: dict[str, Product], outcome: dict[int, str], now
    ) -> dict[str, Variant]:
        variants = {
            v.sku: v
            for v in Variant.objects.filter(
                supplier=self.supplier, sku__in=[row.sku for row in rows]
            ).only("id", "sku", "product_id", *VARIANT_FIELDS)
        }
        new: list[Variant] = []
        changed: list[Variant] = []
        repriced: list[int] = []
        for row in rows:
            product = products[row.handle]
            options = dict(zip(product.option_names, row.option_values, strict=False))
            variant = variants.get(row.sku)
            if variant is None:
                variant = Variant(
                    product_id=product.pk,
                    supplier=self.supplier,
                    sku=row.sku,
                    options=options,
                    wholesale_price=_checked(row.wholesale_price, "wholesale price"),
                    msrp=row.msrp,
                    currency=self.supplier.currency,
                    weight_grams=row.weight_grams or 0,
                    shipping_class=row.shipping_class or "standard",
                )
                variants[row.sku] = variant
                new.append(variant)
                outcome[row.row] = CREATED
                continue
            before = tuple(getattr(variant, name) for name in VARIANT_FIELDS)
            old_wholesale_price = variant.wholesale_price
            if options:
                variant.options = options
            variant.wholesale_price = _checked(row.wholesale_price, "wholesale price")
            if row.msrp is not None:
                variant.msrp = row.msrp
            if row.weight_grams is not None:
                variant.weight_grams = row.weight_grams
            if row.shipping_class:
                variant.shipping_class = row.shipping_class
            if tuple(getattr(variant, name) for name in VARIANT_FIELDS) != before:
                variant.updated_at = now
                changed.append(variant)
                outcome[row.row] = UPDATED
                if variant.wholesale_price != old_wholesale_price:
                    repriced.append(variant.pk)
        if new:
            Variant.objects.bulk_create(new, batch_size=1000)
        if changed:
            Variant.objects.bulk_update(changed, [*VARIANT_FIELDS, "updated_at"], batch_size=1000)
        catalog_events.wholesale_prices_changed(variant_ids=repriced)
        return variants

    def _set_stock(
        self,
        rows: list[ParsedRow],
        variants: dict[str, Variant],
        outcome: dict[int, str],
        result: BatchResult,
    ) -> None:
        levels = {}
        row_by_variant = {}
        for row in rows:
            if row.stock is None:
                continue
            variant = variants[row.sku]
            if outcome.get(row.row) == CREATED and row.stock == 0:
                continue
            levels[variant.pk] = row.stock
            row_by_variant[variant.pk] = row
        if not levels:
            return
        stock = set_stock_levels(
            supplier=self.supplier,
            levels=levels,
            source=self.source,
            actor=self.actor,
            reference=self.reference,
            skip_refused=True,
        )
        for change in stock.changes:
            row = row_by_variant[change.variant_id]
            if outcome.get(row.row) != CREATED:
                outcome[row.row] = UPDATED
        for variant_id, message in stock.refused.items():
            row = row_by_variant[variant_id]
            outcome[row.row] = FAILED
            result.errors.append(RowError(row.row, self.stock_header, message))

    def _add_images(
        self, rows: list[ParsedRow], products: dict[str, Product], outcome: dict[int, str]
    ) -> None:
        wanted = [(row, products[row.handle].pk) for row in rows if row.image_url]
        if not wanted:
            return
        product_ids = {product_id for _, product_id in wanted}
        existing = set(
            ProductImage.objects.filter(product_id__in=product_ids).values_list(
                "product_id", "source_url"
            )
        )
        positions = dict(
            ProductImage.objects.filter(product_id__in=product_ids)
            .values("product_id")
            .annotate(last=Max("position"))
            .values_list("product_id", "last")
        )
        new = []
        for row, product_id in wanted:
            if (product_id, row.image_url) in existing:
                continue
            existing.add((product_id, row.image_url))
            position = positions.get(product_id, -1) + 1
            positions[product_id] = position
            new.append(
                ProductImage(product_id=product_id, source_url=row.image_url, position=position)
            )
            if outcome.get(row.row) not in (CREATED, FAILED):
                outcome[row.row] = UPDATED
        ProductImage.objects.bulk_create(new, batch_size=1000)


class StockWriter:
    """A stock-only file: quantities by SKU, straight through the stock service."""

    def __init__(
        self, *, supplier: Supplier, actor: User | None, reference: str, stock_header: str
    ):
        self.supplier = supplier
        self.actor = actor
        self.reference = reference
        self.stock_header = stock_header

    def write(self, rows: list[ParsedRow]) -> BatchResult:
        result = BatchResult()
        if not rows:
            return result
        by_variant = {_checked(row.variant_id, "variant"): row for row in rows}
        stock = set_stock_levels(
            supplier=self.supplier,
            levels={
                variant_id: _checked(row.stock, "stock") for variant_id, row in by_variant.items()
            },
            source=StockMovement.Source.IMPORT,
            actor=self.actor,
            reference=self.reference,
            skip_refused=True,
        )
        result.counts[UPDATED] += len(stock.changes)
        result.counts[UNCHANGED] += len(stock.unchanged)
        for variant_id, message in stock.refused.items():
            result.counts[FAILED] += 1
            result.errors.append(RowError(by_variant[variant_id].row, self.stock_header, message))
        return result
