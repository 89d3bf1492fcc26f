"""Inventory sync at scale, and end to end against a sandbox store.

1. Fan-out: 100,000 catalog variants listed 5 times each = 500,000 listing variants across 1,000
   stores (500 Shopify shops, 500 WooCommerce sites, 500 rows each), seeded with COPY. All
   100,000 variants change: time to mark the listing variants dirty (target < 10 s), then every
   store is drained by the real drain against the sandboxes (their state seeded in memory) and
   the store API calls are counted against the minimum: per store ceil(500 / batch size) = 2 for
   Shopify (250 per inventorySetQuantities), 5 for WooCommerce (100 per batch) → 3,500.
2. End to end: one Shopify sandbox shop on the Standard plan, 2,000 listed variants, supplier
   stock changes made through the stock service at ~10 per second, a real Celery worker (a
   thread of the child, on the Redis broker) running the drains, and beat kicking drains every
   10 seconds (as CELERY_BEAT_SCHEDULE does). For each change: the time until the sandbox store
   shows the new quantity. Reported p50/p95/max and rejected calls, twice in the same run:
   event-driven (each change queues its store's drain after commit, coalesced over
   INVENTORY_PUSH_WINDOW_SECONDS; target p95 < 3 s) and the beat-only baseline
   (INVENTORY_PUSH_ON_CHANGE off: what the push was before, bounded by the 10-second beat).

    DATABASE_URL=... REDIS_URL=... python tests/perf/run.py inventory_sync
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

from tests.perf._support import bench_database, child_env, peak_rss_mb, run_child

VARIANTS = int(os.environ.get("BENCH_SYNC_VARIANTS", 100_000))  # smaller for a quick try
VARIANTS_PER_PRODUCT = 1  # single-variant products: a WooCommerce listing is a simple product
STORES = int(os.environ.get("BENCH_SYNC_STORES", 1_000))
LISTINGS_PER_VARIANT = 5
ROWS_PER_STORE = VARIANTS * LISTINGS_PER_VARIANT // STORES  # 500
TARGET_MARK_S = 2
TARGET_E2E_P95_S = 3
E2E_VARIANTS = 2_000
E2E_CHANGES = int(os.environ.get("BENCH_SYNC_E2E_CHANGES", 300))
E2E_RATE = 10.0  # changes per second
BEAT_SECONDS = 10.0
MARK_ONLY = os.environ.get("BENCH_SYNC_MARK_ONLY") == "1"  # quick: seed and time the mark only
E2E_ONLY = os.environ.get("BENCH_SYNC_E2E_ONLY") == "1"  # quick: the end-to-end part only


# --- seeding -------------------------------------------------------------------------------------
def _copy(model, columns: list[str], rows) -> None:
    """COPY rows into a model's table; columns not given take the model's Python default."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = {name: i for i, name in enumerate(columns)}
    defaults = {
        f.column: f.get_db_prep_save(f.get_default(), connection)
        for f in fields
        if f.attname not in given
    }
    names = [f.column for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    by_attname = {f.column: f for f in fields}
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(
                [
                    by_attname[c].get_db_prep_save(row[given[by_attname[c].attname]], connection)
                    if by_attname[c].attname in given
                    else defaults[c]
                    for c in names
                ]
            )


def _store_product_id(platform: str, n: int) -> str:
    ident = 10_000_000 + n
    return f"gid://shopify/Product/{ident}" if platform == "SHOPIFY" else str(ident)


def seed_fanout() -> dict:
    """Supplier, 100,000 single-variant products, 1,000 stores, 500,000 listings (each with its
    listing variant); store ids laid out so the sandboxes can be seeded to match."""
    from decimal import Decimal

    from django.utils import timezone

    from catalog.models import Product, Variant
    from retailers.models import Listing, ListingVariant, Retailer, Store
    from suppliers.models import Supplier

    now = timezone.now()
    supplier = Supplier.objects.create(
        company_name="Bench Supplier", slug="bench-supplier", status="ACTIVE",
        stock_buffer_percent=100, low_stock_threshold=0,
    )  # fmt: skip
    retailer = Retailer.objects.create(business_name="Bench Retailer", slug="bench-retailer")
    products = VARIANTS // VARIANTS_PER_PRODUCT
    _copy(
        Product,
        ["created_at", "updated_at", "supplier_id", "handle", "title", "status"],
        ((now, now, supplier.pk, f"p-{p}", f"Product {p}", "ACTIVE") for p in range(products)),
    )
    product_ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    _copy(
        Variant,
        ["created_at", "updated_at", "product_id", "supplier_id", "sku", "wholesale_price",
         "stock_on_hand", "stock_reserved"],
        (
            (now, now, product_ids[v // VARIANTS_PER_PRODUCT], supplier.pk, f"SKU-{v}",
             Decimal("5.00"), 10, 0)
            for v in range(VARIANTS)
        ),
    )  # fmt: skip
    stores = Store.objects.bulk_create(
        [
            Store(
                retailer=retailer,
                name=f"Store {s}",
                platform="SHOPIFY" if s % 2 == 0 else "WOOCOMMERCE",
                domain=f"bench-{s}.myshopify.com" if s % 2 == 0 else f"http://woo/{s}",
                credentials={},
                status="CONNECTED",
            )
            for s in range(STORES)
        ]
    )
    # Product p is listed in stores (p*5 + k) mod 1000, k = 0..4: every store gets 500.
    _copy(
        Listing,
        ["created_at", "updated_at", "store_id", "product_id", "store_product_id", "status",
         "is_published", "sync_status"],
        (
            (now, now, stores[(p * LISTINGS_PER_VARIANT + k) % STORES].pk, product_ids[p],
             _store_product_id(stores[(p * LISTINGS_PER_VARIANT + k) % STORES].platform,
                               p * LISTINGS_PER_VARIANT + k),
             "ACTIVE", True, "SYNCED")
            for p in range(products)
            for k in range(LISTINGS_PER_VARIANT)
        ),
    )  # fmt: skip
    listing_ids = {
        (store_id, product_id): pk
        for pk, store_id, product_id in Listing.objects.values_list("pk", "store_id", "product_id")
    }
    variant_ids = list(Variant.objects.order_by("pk").values_list("pk", flat=True))
    platforms = {s.pk: s.platform for s in stores}

    def lv_rows():
        for v in range(VARIANTS):
            p = v // VARIANTS_PER_PRODUCT
            for k in range(LISTINGS_PER_VARIANT):
                store_id = stores[(p * LISTINGS_PER_VARIANT + k) % STORES].pk
                ident = str(10_000_000 + v * LISTINGS_PER_VARIANT + k)
                shopify = platforms[store_id] == "SHOPIFY"
                yield (
                    listing_ids[(store_id, product_ids[p])], variant_ids[v], store_id,
                    f"gid://shopify/ProductVariant/{ident}" if shopify else ident,
                    f"gid://shopify/InventoryItem/{ident}" if shopify else "",
                    Decimal("19.99"), 10, False, None,
                )  # fmt: skip

    _copy(
        ListingVariant,
        ["listing_id", "variant_id", "store_id", "store_variant_id", "inventory_item_id",
         "retail_price", "last_pushed_quantity", "is_inventory_dirty", "inventory_dirty_since"],
        lv_rows(),
    )  # fmt: skip
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"stores": [(s.pk, s.platform) for s in stores]}


# --- the fan-out measurement ----------------------------------------------------------------------
def _seed_sandboxes(shopify, woo, stores) -> None:
    """The sandboxes' state as if every listing had been created in them (in memory, no HTTP)."""
    from retailers.models import ListingVariant, Store

    rows = ListingVariant.objects.values_list(
        "store_id", "store_variant_id", "inventory_item_id", "variant__sku"
    ).order_by("store_id")  # fmt: skip
    tokens = {}
    for store_id, platform in stores:
        if platform == "SHOPIFY":
            domain = f"bench-{store_id}-{int(time.time())}.myshopify.com"
            shop = shopify.add_shop(domain)
            tokens[store_id] = (domain, shopify.issue_token(domain), shop.location_id)
        else:
            site, key, secret = woo.add_site(f"w{store_id}")
            tokens[store_id] = (site.url, key, secret)
    for store_id, variant_id, item_id, sku in rows.iterator(chunk_size=20_000):
        if item_id:
            domain = tokens[store_id][0]
            shop = shopify.shops[domain]
            shop.inventory_items[item_id] = {
                "id": item_id, "sku": sku, "tracked": True,
                "levels": {shop.location_id: {"available": 10, "on_hand": 10}},
            }  # fmt: skip
        else:
            site = woo.sites[f"w{store_id}"]
            site.products[int(variant_id)] = {
                "id": int(variant_id), "name": sku, "slug": sku, "type": "simple",
                "status": "publish", "sku": sku, "price": "19.99", "regular_price": "19.99",
                "sale_price": "", "manage_stock": True, "stock_quantity": 10,
                "stock_status": "instock", "images": [], "attributes": [], "variations": [],
            }  # fmt: skip
    for store_id, platform in stores:
        if platform == "SHOPIFY":
            domain, token, location = tokens[store_id]
            Store.objects.filter(pk=store_id).update(domain=domain, location_id=location)
            store = Store.objects.get(pk=store_id)
            store.credentials = {"access_token": token}
            store.save(update_fields=["credentials"])
        else:
            url, key, secret = tokens[store_id]
            store = Store.objects.get(pk=store_id)
            store.domain = url
            store.credentials = {"consumer_key": key, "consumer_secret": secret}
            store.save(update_fields=["domain", "credentials"])


def child_fanout() -> None:
    import django

    django.setup()
    from concurrent.futures import ThreadPoolExecutor

    from django.conf import settings
    from django.db import connection

    from catalog.models import Variant
    from retailers.models import ListingVariant
    from retailers.sync import mark_variants_dirty
    from retailers.sync.drain import drain_store
    from sandbox.server import SandboxServer
    from sandbox.shopify import STANDARD_PLAN, ShopifySandbox
    from sandbox.woocommerce import WooCommerceSandbox

    started = time.perf_counter()
    stores = seed_fanout()["stores"]
    seed_s = time.perf_counter() - started

    shopify = ShopifySandbox(
        api_key=settings.SHOPIFY_API_KEY, api_secret=settings.SHOPIFY_API_SECRET, plan=STANDARD_PLAN
    )
    woo = WooCommerceSandbox()
    shopify_server, woo_server = SandboxServer(shopify).start(), SandboxServer(woo).start()
    woo.base_url = woo_server.base_url
    settings.SHOPIFY_BASE_URL = shopify_server.base_url
    try:
        if not MARK_ONLY:
            _seed_sandboxes(shopify, woo, stores)
        variant_ids = list(Variant.objects.values_list("pk", flat=True))
        Variant.objects.update(stock_on_hand=7)  # the 100,000 changes themselves
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")  # the seed's writes are not billed to the mark
        connection.close()
        started = time.perf_counter()
        marked = mark_variants_dirty(variant_ids=variant_ids)
        mark_s = time.perf_counter() - started
        if MARK_ONLY:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_user_tables "
                    "WHERE relname = 'retailers_listingvariant'"
                )
                hot, updated = cursor.fetchone()
            print(  # noqa: T201
                json.dumps(
                    {
                        "marked_rows": marked,
                        "mark_dirty_s": round(mark_s, 2),
                        "hot_updates": hot,
                        "updates": updated,
                    }
                )
            )
            return

        def drain(store_id: int):
            try:
                return drain_store(store_id=store_id, time_budget=3600)
            finally:
                connection.close()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(drain, [pk for pk, _platform in stores]))
        drain_s = time.perf_counter() - started
        calls = sum(r.calls for r in results)
        minimum = sum(
            math.ceil(ROWS_PER_STORE / (250 if platform == "SHOPIFY" else 100))
            for _pk, platform in stores
        )
        wrong = 0
        for shop in shopify.shops.values():
            wrong += sum(
                1
                for i in shop.inventory_items.values()
                if i["levels"][shop.location_id]["available"] != 7
            )
        for site in woo.sites.values():
            wrong += sum(1 for p in site.products.values() if p["stock_quantity"] != 7)
        print(  # noqa: T201 - the parent reads this line
            json.dumps(
                {
                    "seed_s": round(seed_s, 1),
                    "marked_rows": marked,
                    "mark_dirty_s": round(mark_s, 2),
                    "drain_all_s": round(drain_s, 1),
                    "store_api_calls": calls,
                    "store_api_calls_minimum": minimum,
                    "pushed": sum(r.pushed for r in results),
                    "rejected_calls": len(shopify.rejected_calls()) + len(woo.rejected_calls()),
                    "quantities_wrong": wrong,
                    "still_dirty": ListingVariant.objects.filter(is_inventory_dirty=True).count(),
                    "peak_rss_mb": round(peak_rss_mb(), 1),
                }
            )
        )
    finally:
        shopify_server.stop()
        woo_server.stop()


# --- end to end ----------------------------------------------------------------------------------
def child_e2e() -> None:
    import django

    django.setup()
    import random
    import threading
    from decimal import Decimal

    import redis
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection

    from catalog.models import Product, Variant
    from catalog.services import set_stock
    from dropship.celery import app
    from integrations.base import ProductData, StoreTemporaryError, VariantData
    from integrations.registry import build_platform_client
    from retailers.models import Listing, ListingVariant, Retailer, Store
    from retailers.sync.drain import kick_drains
    from sandbox.server import SandboxServer
    from sandbox.shopify import STANDARD_PLAN, ShopifySandbox
    from suppliers.models import Supplier

    shopify = ShopifySandbox(
        api_key=settings.SHOPIFY_API_KEY, api_secret=settings.SHOPIFY_API_SECRET, plan=STANDARD_PLAN
    )
    server = SandboxServer(shopify).start()
    settings.SHOPIFY_BASE_URL = server.base_url
    domain = f"bench-e2e-{int(time.time())}.myshopify.com"
    cache.delete_many([f"shopify-throttle:{domain}", f"shopify-costs:{domain}"])
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("sync")  # no earlier run's messages
    worker = start_worker(
        app, pool="solo", perform_ping_check=False, queues=["sync"], shutdown_timeout=60
    )
    worker.__enter__()
    try:
        shop = shopify.add_shop(domain)
        supplier = Supplier.objects.create(
            company_name="E2E Supplier", slug="e2e-supplier", status="ACTIVE",
            stock_buffer_percent=100, low_stock_threshold=0,
        )  # fmt: skip
        retailer = Retailer.objects.create(business_name="E2E Retailer", slug="e2e-retailer")
        store = Store.objects.create(
            retailer=retailer, name="E2E", platform="SHOPIFY", domain=domain,
            credentials={"access_token": shopify.issue_token(domain)},
            location_id=shop.location_id, status="CONNECTED",
        )  # fmt: skip
        client = build_platform_client(store=store)
        per_product = 250
        for p in range(E2E_VARIANTS // per_product):
            product = Product.objects.create(
                supplier=supplier, handle=f"e2e-{p}", title=f"E2E {p}", status="ACTIVE"
            )
            variants = Variant.objects.bulk_create(
                [
                    Variant(product=product, supplier=supplier, sku=f"E-{p}-{v}",
                            options={"Size": str(v)}, wholesale_price=Decimal("5"),
                            stock_on_hand=50)
                    for v in range(per_product)
                ]
            )  # fmt: skip
            data = ProductData(
                reference=str(p), title=product.title, option_names=("Size",),
                variants=tuple(
                    VariantData(sku=v.sku, price=Decimal("9.99"), options={"Size": v.options["Size"]},
                                inventory_quantity=50)
                    for v in variants
                ),
            )  # fmt: skip
            for _attempt in range(20):  # the setup waits out the shop's throttle (not measured)
                try:
                    (result,) = client.upsert_products(products=[data])
                    break
                except StoreTemporaryError as exc:
                    time.sleep(exc.retry_after or 1.0)
            listing = Listing.objects.create(
                store=store, product=product, store_product_id=result.store_product_id
            )
            ListingVariant.objects.bulk_create(
                [
                    ListingVariant(
                        listing=listing, variant=v, store=store,
                        store_variant_id=result.variant_ids[v.sku],
                        inventory_item_id=result.inventory_item_ids[v.sku],
                        retail_price=Decimal("9.99"), last_pushed_quantity=50,
                        is_inventory_dirty=False,
                    )
                    for v in variants
                ]
            )  # fmt: skip
        items = dict(
            ListingVariant.objects.filter(store=store).values_list(
                "variant_id", "inventory_item_id"
            )
        )
        rejected_before = len(shopify.rejected_calls(domain))
        # item -> (latest quantity, times of every change not yet shown): a change overtaken by
        # a newer one of the same item arrives when the newer value shows (conservative).
        expected: dict[str, tuple[int, list[float]]] = {}
        latencies: list[float] = []
        lock = threading.Lock()
        done = threading.Event()

        def watcher():
            while not (done.is_set() and not expected):
                with lock:
                    now = time.perf_counter()
                    for item, (quantity, times) in list(expected.items()):
                        if shop.quantity(item) == quantity:
                            latencies.extend(now - at for at in times)
                            del expected[item]
                time.sleep(0.05)

        beat_failures: list[str] = []

        def beat():
            try:
                while not (done.is_set() and not expected):
                    try:  # as with Celery beat, a failed tick does not stop the next one
                        kick_drains()
                    except Exception as exc:
                        beat_failures.append(repr(exc)[:200])
                    for _ in range(int(BEAT_SECONDS / 0.1)):
                        if done.is_set() and not expected:
                            return
                        time.sleep(0.1)
            finally:
                connection.close()

        threads = [threading.Thread(target=watcher), threading.Thread(target=beat)]
        for thread in threads:
            thread.start()
        rng = random.Random(6)
        variant_ids = list(items)
        started = time.perf_counter()
        for n in range(E2E_CHANGES):
            variant = Variant.objects.get(pk=rng.choice(variant_ids))
            quantity = variant.stock_on_hand + 1 + n % 5
            set_stock(variant=variant, quantity=quantity, source="API")
            with lock:
                item = items[variant.pk]
                times = expected.get(item, (0, []))[1]
                expected[item] = (quantity, [*times, time.perf_counter()])
            time.sleep(max(0.0, started + (n + 1) / E2E_RATE - time.perf_counter()))
        done.set()
        deadline = time.perf_counter() + 300
        for thread in threads:
            thread.join(timeout=max(1, deadline - time.perf_counter()))
        latencies.sort()

        def pct(q: float) -> float:
            return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2)

        print(  # noqa: T201 - the parent reads this line
            json.dumps(
                {
                    "e2e_push_on_change": settings.INVENTORY_PUSH_ON_CHANGE,
                    "e2e_changes": E2E_CHANGES,
                    "e2e_arrived": len(latencies),
                    "e2e_p50_s": pct(0.5),
                    "e2e_p95_s": pct(0.95),
                    "e2e_max_s": round(latencies[-1], 2),
                    "e2e_beat_interval_s": BEAT_SECONDS,
                    "e2e_push_calls": len(shopify.calls_for(domain, "inventorySetQuantities")),
                    "e2e_rejected_calls": len(shopify.rejected_calls(domain)) - rejected_before,
                    "e2e_failed_beat_ticks": len(beat_failures),
                }
            )
        )
    finally:
        worker.__exit__(None, None, None)
        server.stop()


def _e2e(*, push_on_change: bool) -> dict:
    """The end-to-end part with a real worker (tasks through the broker, not in-line)."""
    with bench_database("dropship_sync_e2e") as url:
        env = child_env(
            url,
            SHOPIFY_API_KEY="bench",
            SHOPIFY_API_SECRET="bench-secret",
            CELERY_TASK_ALWAYS_EAGER="0",
            INVENTORY_PUSH_ON_CHANGE="1" if push_on_change else "0",
        )
        return run_child("tests.perf.bench_inventory_sync", "e2e", env=env)


def _both_e2e() -> dict:
    e2e = _e2e(push_on_change=True)
    baseline = _e2e(push_on_change=False)
    return {**e2e, **{f"baseline_beat_only_{k}": v for k, v in baseline.items()}}


def run() -> dict:
    if E2E_ONLY:
        return _both_e2e()
    with bench_database("dropship_sync") as url:
        env = child_env(url, SHOPIFY_API_KEY="bench", SHOPIFY_API_SECRET="bench-secret")
        fanout = run_child("tests.perf.bench_inventory_sync", "fanout", env=env)
    if MARK_ONLY:
        return fanout
    e2e = _both_e2e()
    return {
        "listing_variants": VARIANTS * LISTINGS_PER_VARIANT,
        "variant_changes": VARIANTS,
        "stores": STORES,
        **fanout,
        **e2e,
        "target_mark_dirty_s": TARGET_MARK_S,
        "target_e2e_p95_s": TARGET_E2E_P95_S,
        "meets_targets": (
            fanout["mark_dirty_s"] < TARGET_MARK_S
            and fanout["store_api_calls"] == fanout["store_api_calls_minimum"]
            and fanout["quantities_wrong"] == 0
            and e2e["e2e_arrived"] == e2e["e2e_changes"]
            and e2e["e2e_p95_s"] < TARGET_E2E_P95_S
        ),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        {"fanout": child_fanout, "e2e": child_e2e}[sys.argv[2]]()
    else:
        print(run())  # noqa: T201
