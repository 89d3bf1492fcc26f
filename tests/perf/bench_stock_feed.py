"""Supplier stock feed: a 1,000,000-row CSV applied to a catalog of 1,000,000 variants.

Seeded with set-based SQL (100,000 products of 10 variants, their search rows refreshed once).
Measured in a child process with the production settings: what a poll does once the body has
arrived (`suppliers.feeds.parse_feed`, `_apply` in its transaction, the feed row saved), every
row a new quantity, so every variant is locked, updated and recorded, and its listings marked.
The fetch itself is left out (it is one HTTP GET, bounded by MAX_FEED_BYTES and the timeout).
Target: under 60 s.

Baseline from the same run: plain COPY of the same 1,000,000 (sku, quantity) rows into a
temporary table, and a set-based UPDATE of catalog_variant from it (no checks, no movements).

    DATABASE_URL=... python tests/perf/run.py stock_feed
"""

import json
import os
import sys
import time

from tests.perf._support import bench_database, child_env, peak_rss_mb, run_child

VARIANTS = int(os.environ.get("BENCH_FEED_VARIANTS", 1_000_000))
PER_PRODUCT = 10
TARGET_SECONDS = 60


def _quantity(n: int) -> int:
    return n % 50 + 1  # the seed holds n % 50: every row is a change


def seed() -> dict:
    import django

    django.setup()
    from django.db import connection, transaction

    from catalog.imports.postgresql import defer_search_refresh, refresh_search_rows
    from suppliers.models import Supplier, SupplierFeed

    supplier = Supplier.objects.create(
        slug="feed-bench", company_name="Feed Bench", status="ACTIVE", low_stock_threshold=0
    )
    SupplierFeed.objects.create(supplier=supplier, url="https://feeds.example.com/stock.csv")
    products = VARIANTS // PER_PRODUCT
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        defer_search_refresh(cursor, deferred=True)
        cursor.execute(
            "INSERT INTO catalog_product (id, created_at, updated_at, supplier_id, handle, title, "
            "description, status, option_names, attributes) "
            "SELECT g, now(), now(), %s, 'p-' || g, 'Product ' || g, '', 'ACTIVE', "
            "'[\"Size\"]', '{}' FROM generate_series(1, %s) g",
            [supplier.pk, products],
        )
        cursor.execute(
            "INSERT INTO catalog_variant (id, created_at, updated_at, product_id, supplier_id, "
            "sku, options, wholesale_price, msrp, currency, weight_grams, shipping_class, "
            "stock_on_hand, stock_reserved, is_low_stock_alerted, position) "
            "SELECT g, now(), now(), (g - 1) / %s + 1, %s, 'SKU-' || lpad(g::text, 7, '0'), "
            "jsonb_build_object('Size', g %% %s), 5, 10, 'USD', 100, 'standard', g %% 50, 0, "
            "false, 0 FROM generate_series(1, %s) g",
            [PER_PRODUCT, supplier.pk, PER_PRODUCT, VARIANTS],
        )
        refresh_search_rows(cursor, product_ids=set(range(1, products + 1)), with_terms=True)
        defer_search_refresh(cursor, deferred=False)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('catalog_product', 'id'), %s), "
            "setval(pg_get_serial_sequence('catalog_variant', 'id'), %s)",
            [products, VARIANTS],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_product, catalog_variant, catalog_productsearch")
    return {"seed_s": time.perf_counter() - started}


def feed_content() -> bytes:
    lines = ["sku,stock"]
    lines.extend(f"SKU-{n:07d},{_quantity(n)}" for n in range(1, VARIANTS + 1))
    return ("\n".join(lines) + "\n").encode()


def apply_feed() -> dict:
    import django

    django.setup()
    from django.db import transaction

    from suppliers import feeds
    from suppliers.models import SupplierFeed

    content = feed_content()
    feed = SupplierFeed.objects.select_related("supplier").get()
    started = time.perf_counter()
    parsed = feeds.parse_feed(content=content, format=feed.format, mapping=feed.mapping)
    read = time.perf_counter()
    with transaction.atomic():
        changed, applied, rejected = feeds._apply(feed, parsed)
        feed.save(update_fields=["last_quantities", "updated_at"])
    finished = time.perf_counter()
    return {
        "parse_s": read - started,
        "apply_s": finished - read,
        "total_s": finished - started,
        "changed": changed,
        "applied": applied,
        "rejected": len(rejected) + len(parsed.rejected),
        "feed_mb": len(content) / 1024 / 1024,
        "peak_rss_mb": peak_rss_mb(),
    }


def copy_baseline() -> dict:
    import django

    django.setup()
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("CREATE TEMPORARY TABLE feed_rows (sku text, quantity int) ON COMMIT DROP")
        with cursor.cursor.copy("COPY feed_rows (sku, quantity) FROM STDIN") as copy:
            for n in range(1, VARIANTS + 1):
                copy.write_row((f"SKU-{n:07d}", _quantity(n) + 1))
        copied = time.perf_counter()
        cursor.execute(
            "UPDATE catalog_variant v SET stock_on_hand = f.quantity FROM feed_rows f "
            "WHERE v.sku = f.sku AND v.stock_on_hand <> f.quantity"
        )
        finished = time.perf_counter()
        transaction.set_rollback(True)
    return {"copy_s": copied - started, "copy_and_update_s": finished - started}


def run() -> dict:
    with bench_database("stock_feed") as url:
        env = child_env(url)
        seeded = run_child("tests.perf.bench_stock_feed", "seed", env=env)
        baseline = run_child("tests.perf.bench_stock_feed", "copy", env=env)
        result = run_child("tests.perf.bench_stock_feed", "apply", env=env)
    if (result["changed"], result["applied"], result["rejected"]) != (VARIANTS, VARIANTS, 0):
        raise RuntimeError(f"unexpected feed result: {result}")
    return {
        "rows": VARIANTS,
        "feed_mb": round(result["feed_mb"], 1),
        "seed_s": round(seeded["seed_s"], 1),
        "parse_s": round(result["parse_s"], 2),
        "apply_s": round(result["apply_s"], 2),
        "total_s": round(result["total_s"], 2),
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
        "copy_s": round(baseline["copy_s"], 2),
        "copy_and_update_s": round(baseline["copy_and_update_s"], 2),
        "ratio_to_copy_and_update": round(result["total_s"] / baseline["copy_and_update_s"], 1),
        "target_total_s": TARGET_SECONDS,
        "meets_target": result["total_s"] < TARGET_SECONDS,
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        command = sys.argv[2]
        figures = {"seed": seed, "copy": copy_baseline, "apply": apply_feed}[command]()
        print(json.dumps(figures))  # noqa: T201 - the parent reads this line
