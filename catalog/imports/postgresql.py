"""The catalog import's writer on PostgreSQL: each checked batch is streamed into a staging table
with COPY and applied with a handful of set-based statements, whatever the batch size.

Same rules and the same outcome per row as the row-wise `writer.CatalogWriter` (which SQLite
runs): products are upserted by handle and variants by SKU, blank cells keep existing values,
stock goes through the stock service (source IMPORT), an image is added once per product and
URL, and each row ends up created, updated, unchanged or failed.

The search rows (catalog.ProductSearch, kept by triggers) are refreshed once per batch for the
products the batch touched: the triggers stand aside while `catalog.search_deferred` is on in
this transaction (migration 0006), instead of refreshing a product once per statement.

The staging table is temporary and dropped at commit, so nothing outlives the transaction (a
transaction-mode pooler may hand the next one to another session).
"""

from datetime import datetime

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from psycopg.types.json import Jsonb

from catalog.imports.rows import ParsedRow, RowError
from catalog.imports.writer import (
    CREATED,
    FAILED,
    UNCHANGED,
    UPDATED,
    BatchResult,
    BatchWriterBase,
)
from catalog.services.stock import set_stock_levels
from retailers import catalog_events

STAGED_COLUMNS = (
    "row_number",
    "sku",
    "handle",
    "defines_product",
    "title",
    "description",
    "category_id",
    "status",
    "option_names",
    "option_values",
    "wholesale_price",
    "msrp",
    "weight_grams",
    "shipping_class",
    "stock",
    "image_url",
    "variant_id",
)
CREATE_STAGING = """
CREATE TEMPORARY TABLE IF NOT EXISTS catalog_import_staging (
    row_number integer PRIMARY KEY, sku text NOT NULL, handle text NOT NULL,
    defines_product boolean NOT NULL, title text NOT NULL, description text NOT NULL,
    category_id bigint, status text NOT NULL, option_names jsonb NOT NULL,
    option_values text[] NOT NULL, wholesale_price numeric NOT NULL, msrp numeric,
    weight_grams integer, shipping_class text NOT NULL, stock integer, image_url text NOT NULL,
    variant_id bigint, product_id bigint, options jsonb,
    is_created boolean NOT NULL DEFAULT false
) ON COMMIT DROP
"""
UPDATE_PRODUCTS = """
UPDATE catalog_product p SET
    title = n.title, description = n.description, category_id = n.category_id,
    status = n.status, option_names = n.option_names, updated_at = %(now)s
FROM (
    SELECT s.row_number, s.handle, coalesce(nullif(s.title, ''), o.title) AS title,
           coalesce(nullif(s.description, ''), o.description) AS description,
           coalesce(s.category_id, o.category_id) AS category_id,
           coalesce(nullif(s.status, ''), o.status) AS status, s.option_names, o.id
    FROM catalog_import_staging s JOIN catalog_product o ON o.supplier_id = %(supplier)s AND o.handle = s.handle
    WHERE s.defines_product
) n
WHERE p.id = n.id
  AND (n.title, n.description, n.category_id, n.status, n.option_names)
      IS DISTINCT FROM (p.title, p.description, p.category_id, p.status, p.option_names)
RETURNING n.row_number, p.id
"""
INSERT_PRODUCTS = """
INSERT INTO catalog_product (created_at, updated_at, supplier_id, handle, title, description,
                             category_id, status, option_names, attributes)
SELECT %(now)s, %(now)s, %(supplier)s, s.handle, s.title, s.description, s.category_id,
       coalesce(nullif(s.status, ''), 'DRAFT'), s.option_names, '{}'::jsonb
FROM catalog_import_staging s
WHERE s.defines_product AND NOT EXISTS (
    SELECT 1 FROM catalog_product o WHERE o.supplier_id = %(supplier)s AND o.handle = s.handle)
ORDER BY s.row_number
RETURNING handle, id
"""
# The variant's options: the product's option names zipped with the row's values, as
# `dict(zip(names, values))` does (the shorter list wins, a repeated name keeps the last value).
ATTACH_PRODUCTS = """
UPDATE catalog_import_staging s SET product_id = p.id, options = (
        SELECT coalesce(jsonb_object_agg(t.name, s.option_values[t.i] ORDER BY t.i), '{}'::jsonb)
        FROM jsonb_array_elements_text(p.option_names) WITH ORDINALITY AS t(name, i)
        WHERE t.i <= cardinality(s.option_values))
FROM catalog_product p WHERE p.supplier_id = %(supplier)s AND p.handle = s.handle
"""
UPDATE_VARIANTS = """
UPDATE catalog_variant v SET
    options = n.options, wholesale_price = n.wholesale_price, msrp = n.msrp,
    weight_grams = n.weight_grams, shipping_class = n.shipping_class, updated_at = %(now)s
FROM (
    SELECT s.row_number, o.id, o.wholesale_price AS old_price,
           CASE WHEN s.options = '{}'::jsonb THEN o.options ELSE s.options END AS options,
           s.wholesale_price, coalesce(s.msrp, o.msrp) AS msrp,
           coalesce(s.weight_grams, o.weight_grams) AS weight_grams,
           coalesce(nullif(s.shipping_class, ''), o.shipping_class) AS shipping_class
    FROM catalog_import_staging s
    JOIN catalog_variant o ON o.id = s.variant_id AND o.supplier_id = %(supplier)s
    ) n
WHERE v.id = n.id
  AND (n.options, n.wholesale_price, n.msrp, n.weight_grams, n.shipping_class)
      IS DISTINCT FROM (v.options, v.wholesale_price, v.msrp, v.weight_grams, v.shipping_class)
RETURNING n.row_number, v.id, v.product_id, n.old_price <> v.wholesale_price
"""
INSERT_VARIANTS = """
WITH inserted AS (
    INSERT INTO catalog_variant (
        created_at, updated_at, product_id, supplier_id, sku, options, wholesale_price, msrp,
        currency, weight_grams, shipping_class, stock_on_hand, stock_reserved,
        low_stock_threshold, is_low_stock_alerted, stock_updated_at, position)
    SELECT %(now)s, %(now)s, s.product_id, %(supplier)s, s.sku, s.options, s.wholesale_price,
           s.msrp, %(currency)s, coalesce(s.weight_grams, 0),
           coalesce(nullif(s.shipping_class, ''), 'standard'), 0, 0, NULL, false, NULL, 0
    FROM catalog_import_staging s WHERE s.variant_id IS NULL
    ORDER BY s.row_number
    RETURNING id, sku, product_id
)
UPDATE catalog_import_staging s SET variant_id = inserted.id, is_created = true
FROM inserted WHERE s.sku = inserted.sku
RETURNING s.row_number, inserted.product_id
"""
STOCK_ROWS = """
SELECT row_number, variant_id, stock, product_id FROM catalog_import_staging
WHERE stock IS NOT NULL AND NOT (is_created AND stock = 0)
"""
# First row per product and URL, unless the product has that image already; positions follow the
# product's last image in file order.
ADD_IMAGES = """
WITH wanted AS (
    SELECT DISTINCT ON (s.product_id, s.image_url) s.row_number, s.product_id, s.image_url
    FROM catalog_import_staging s WHERE s.image_url <> ''
    ORDER BY s.product_id, s.image_url, s.row_number
), new AS (
    SELECT w.* FROM wanted w WHERE NOT EXISTS (
        SELECT 1 FROM catalog_productimage i
        WHERE i.product_id = w.product_id AND i.source_url = w.image_url)
), inserted AS (
    INSERT INTO catalog_productimage (product_id, source_url, position, image, thumbnail, alt_text)
    SELECT n.product_id, n.image_url,
           coalesce((SELECT max(i.position) FROM catalog_productimage i
                     WHERE i.product_id = n.product_id), -1)
           + row_number() OVER (PARTITION BY n.product_id ORDER BY n.row_number),
           '', '', ''
    FROM new n ORDER BY n.row_number
)
SELECT row_number FROM new
"""


def defer_search_refresh(cursor: CursorWrapper, *, deferred: bool) -> None:
    """Make the search triggers stand aside (or not) until this transaction ends."""
    cursor.execute(
        "SELECT set_config('catalog.search_deferred', %s, true)", ["on" if deferred else "off"]
    )


def refresh_search_rows(cursor: CursorWrapper, *, product_ids: set[int], with_terms: bool) -> None:
    """What the triggers would have done for these products, once (function of migration 0004)."""
    if product_ids:
        cursor.execute(
            "SELECT catalog_refresh_product_search(%s::bigint[], %s)",
            [sorted(product_ids), with_terms],
        )


class CopyCatalogWriter(BatchWriterBase):
    """The PostgreSQL writer: each batch COPYed into staging, applied with set-based SQL."""

    def write(self, rows: list[ParsedRow]) -> BatchResult:
        """Call inside a transaction: the batch is written whole or not at all."""
        result = BatchResult()
        if not rows:
            return result
        params: dict[str, int | str | datetime] = {
            "now": timezone.now(),
            "supplier": self.supplier.pk,
            "currency": self.supplier.currency,
        }
        outcome: dict[int, str] = {}
        with connection.cursor() as cursor:
            defer_search_refresh(cursor, deferred=True)
            self._stage(cursor, rows)
            products_changed: set[int] = set()
            variants_changed: set[int] = set()  # product ids

            cursor.execute(UPDATE_PRODUCTS, params)
            for row_number, product_id in cursor.fetchall():
                outcome[row_number] = UPDATED
                products_changed.add(product_id)
            cursor.execute(INSERT_PRODUCTS, params)
            new_products = dict(cursor.fetchall())
            products_changed.update(new_products.values())
            for row in rows:
                if row.defines_product and row.handle in new_products:
                    outcome[row.row] = UPDATED  # its variant row says CREATED below
            cursor.execute(ATTACH_PRODUCTS, params)

            repriced: list[int] = []
            cursor.execute(UPDATE_VARIANTS, params)
            for row_number, variant_id, product_id, is_repriced in cursor.fetchall():
                outcome[row_number] = UPDATED
                variants_changed.add(product_id)
                if is_repriced:
                    repriced.append(variant_id)
            cursor.execute(INSERT_VARIANTS, params)
            for row_number, product_id in cursor.fetchall():
                outcome[row_number] = CREATED
                variants_changed.add(product_id)
            catalog_events.wholesale_prices_changed(variant_ids=repriced)

            variants_changed |= self._set_stock(cursor, outcome, result)
            cursor.execute(ADD_IMAGES)
            for (row_number,) in cursor.fetchall():
                if outcome.get(row_number) not in (CREATED, FAILED):
                    outcome[row_number] = UPDATED

            refresh_search_rows(cursor, product_ids=products_changed, with_terms=True)
            refresh_search_rows(
                cursor, product_ids=variants_changed - products_changed, with_terms=False
            )
            defer_search_refresh(cursor, deferred=False)
            cursor.execute("TRUNCATE catalog_import_staging")
        for row in rows:
            result.outcomes[row.row] = outcome.get(row.row, UNCHANGED)
            result.counts[result.outcomes[row.row]] += 1
        return result

    def _stage(self, cursor: CursorWrapper, rows: list[ParsedRow]) -> None:
        cursor.execute(CREATE_STAGING)
        copy_sql = f"COPY catalog_import_staging ({', '.join(STAGED_COLUMNS)}) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(
                    (
                        row.row,
                        row.sku,
                        row.handle,
                        row.defines_product,
                        row.title,
                        row.description,
                        row.category_id,
                        row.status,
                        Jsonb(row.option_names),
                        row.option_values,
                        row.wholesale_price,
                        row.msrp,
                        row.weight_grams,
                        row.shipping_class,
                        row.stock,
                        row.image_url,
                        row.variant_id,
                    )
                )

    def _set_stock(
        self, cursor: CursorWrapper, outcome: dict[int, str], result: BatchResult
    ) -> set[int]:
        """Stock through the stock service; returns the products whose variants' stock changed."""
        cursor.execute(STOCK_ROWS)
        levels: dict[int, int] = {}
        row_by_variant: dict[int, tuple[int, int]] = {}  # variant id -> (row, product id)
        for row_number, variant_id, stock, product_id in cursor.fetchall():
            levels[variant_id] = stock
            row_by_variant[variant_id] = (row_number, product_id)
        if not levels:
            return set()
        stock = set_stock_levels(
            supplier=self.supplier,
            levels=levels,
            source=self.source,
            actor=self.actor,
            reference=self.reference,
            skip_refused=True,
        )
        for change in stock.changes:
            row_number, _ = row_by_variant[change.variant_id]
            if outcome.get(row_number) != CREATED:
                outcome[row_number] = UPDATED
        for variant_id, message in stock.refused.items():
            row_number, _ = row_by_variant[variant_id]
            outcome[row_number] = FAILED
            result.errors.append(RowError(row_number, self.stock_header, message))
        return {row_by_variant[change.variant_id][1] for change in stock.changes}
