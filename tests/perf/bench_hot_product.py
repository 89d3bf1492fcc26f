"""Hot product: one variant listed in 5,000 stores, orders reserving it from 4 threads at once.

Each order is its own transaction (`reserve_stock`, one line of 1 unit), as the order pipeline
commits it. Three runs on the same data, same process:

- `queued` (what the code does): the reservation records one VariantChange row; a real Celery
  worker (a thread of this process, on the Redis broker) fans the changes out to the 5,000
  listings after commit, while the orders go on;
- baseline `marked_in_lock`: what the code did before, the 5,000 listings marked by one UPDATE
  inside the reservation's transaction, under the variant's row lock;
- baseline `no_listings`: the same reservations of a variant nobody lists (the floor).

Stock is 90 % of the orders: exactly that many are reserved, the rest refused (zero oversell is
checked in every run). Target (issue 20): >= 200 orders/s for `queued`.

    DATABASE_URL=... REDIS_URL=... python tests/perf/run.py hot_product
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from tests.perf._support import bench_database, child_env, run_child

STORES = int(os.environ.get("BENCH_HOT_STORES", 5_000))
ORDERS = int(os.environ.get("BENCH_HOT_ORDERS", 2_000))
THREADS = 4
TARGET_ORDERS_PER_S = 200

# The old marking, as it ran inside the reservation's statement (kept here for the baseline).
OLD_MARK_SQL = """
    UPDATE retailers_listingvariant
       SET is_inventory_dirty = true,
           inventory_dirty_since = COALESCE(inventory_dirty_since, now()),
           inventory_version = inventory_version + 1
     WHERE variant_id = %s
"""


def _seed() -> tuple[int, int]:
    """A variant listed in STORES custom stores (nothing is pushed to them), and one unlisted."""
    from decimal import Decimal

    from catalog.models import Product, Variant
    from retailers.models import Listing, ListingVariant, Retailer, Store
    from suppliers.models import Supplier

    supplier = Supplier.objects.create(
        company_name="Hot Supplier", slug="hot-supplier", status="ACTIVE",
        stock_buffer_percent=100, low_stock_threshold=0,
    )  # fmt: skip
    retailer = Retailer.objects.create(business_name="Hot Retailer", slug="hot-retailer")
    product = Product.objects.create(supplier=supplier, handle="hot", title="Hot", status="ACTIVE")
    hot, cold = (
        Variant.objects.create(
            product=product, supplier=supplier, sku=sku, wholesale_price=Decimal("5")
        )
        for sku in ("HOT", "COLD")
    )
    stores = Store.objects.bulk_create(
        [
            Store(retailer=retailer, name=f"S{n}", platform="CUSTOM", domain=f"s{n}.example",
                  credentials={}, status="CONNECTED")
            for n in range(STORES)
        ]
    )  # fmt: skip
    listings = Listing.objects.bulk_create(
        [Listing(store=s, product=product, store_product_id=f"p{s.pk}") for s in stores]
    )
    ListingVariant.objects.bulk_create(
        [
            ListingVariant(listing=listing, variant=hot, store_id=listing.store_id,
                           store_variant_id=f"v{listing.pk}", retail_price=Decimal("9.99"),
                           is_inventory_dirty=False)
            for listing in listings
        ],
        batch_size=1000,
    )  # fmt: skip
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return hot.pk, cold.pk


def _orders(variant_id: int, *, mark_in_lock: bool) -> dict:
    """ORDERS one-unit reservations from THREADS threads; stock is 90 % of them."""
    from django.db import connection, transaction

    from catalog.models import Variant
    from catalog.services.reservations import reserve_stock

    stock = ORDERS * 9 // 10
    Variant.objects.filter(pk=variant_id).update(stock_on_hand=stock, stock_reserved=0)
    per_thread = ORDERS // THREADS
    applied: list[bool] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS + 1)

    def buyer() -> None:
        try:
            start.wait()
            mine = []
            for n in range(per_thread):
                with transaction.atomic():
                    (ok,) = reserve_stock(lines=[(variant_id, 1)], reference=f"hot-{n}")
                    if ok and mark_in_lock:
                        with connection.cursor() as cursor:
                            cursor.execute(OLD_MARK_SQL, [variant_id])
                mine.append(ok)
            with lock:
                applied.extend(mine)
        except Exception as exc:
            errors.append(repr(exc)[:300])
        finally:
            connection.close()

    threads = [threading.Thread(target=buyer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    variant = Variant.objects.get(pk=variant_id)
    return {
        "orders": len(applied),
        "orders_per_s": round(len(applied) / elapsed, 1),
        "reserved": applied.count(True),
        "oversold": variant.stock_reserved - stock if variant.stock_reserved > stock else 0,
        "refused": applied.count(False),
        "consistent": variant.stock_reserved == applied.count(True) == stock,
        "errors": errors[:3],
    }


def child() -> None:
    import django

    django.setup()
    import redis
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings

    from dropship.celery import app
    from retailers.models import ListingVariant, VariantChange

    hot, cold = _seed()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("sync")
    results: dict = {"stores": STORES, "threads": THREADS}
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=["sync"], shutdown_timeout=120
    ):
        queued = _orders(hot, mark_in_lock=False)
        waited = time.perf_counter()
        while VariantChange.objects.exists():  # the worker is still fanning out
            time.sleep(0.05)
        queued["fan_out_caught_up_s"] = round(time.perf_counter() - waited, 2)
        queued["listings_marked"] = ListingVariant.objects.filter(
            variant_id=hot, is_inventory_dirty=True
        ).count()
    # The baselines without the worker: its fan-out would race the old in-lock marking (the
    # changes they still record just wait in the queue).
    in_lock = _orders(hot, mark_in_lock=True)
    unlisted = _orders(cold, mark_in_lock=False)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("sync")
    results |= {f"queued_{k}": v for k, v in queued.items()}
    results |= {f"baseline_marked_in_lock_{k}": v for k, v in in_lock.items()}
    results |= {f"baseline_no_listings_{k}": v for k, v in unlisted.items()}
    print(json.dumps(results))  # noqa: T201 - the parent reads this line


def run() -> dict:
    with bench_database("hot_product") as url:
        env = child_env(url, CELERY_TASK_ALWAYS_EAGER="0", INVENTORY_PUSH_ON_CHANGE="0")
        result = run_child("tests.perf.bench_hot_product", env=env)
    result["target_orders_per_s"] = TARGET_ORDERS_PER_S
    result["meets_targets"] = (
        result["queued_orders_per_s"] >= TARGET_ORDERS_PER_S
        and result["queued_consistent"]
        and result["queued_oversold"] == 0
        and result["queued_listings_marked"] == STORES
    )
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child()
    else:
        print(run())  # noqa: T201
