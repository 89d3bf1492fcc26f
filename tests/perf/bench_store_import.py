"""Retailer import: 500 catalog products pushed into a sandbox store by the import job.

The Shopify and WooCommerce sandboxes run in the measured child process on real HTTP (port 0);
the job runs exactly as the worker runs it (eager Celery). Half the products are simple (one
variant), half have three sizes. Reported per platform: wall time, products per second, API calls
the client made, and the fewest calls the platform allows:
  Shopify: productSet takes one product per call → 500, plus publishablePublish of new products
  to the Online Store, 10 per call → 50, plus one publications lookup (paced by the cost
  throttle answers). On the Standard plan the wall time is the rate limit's floor: what the
  points spent (productSet and publishing) exceed the full bucket by, at 100 points a second.
  WooCommerce: products/batch takes 100 → 5, plus one variations/batch per variable product.

    DATABASE_URL=... python tests/perf/run.py store_import
"""

import sys
import time

from tests.perf._support import bench_database, child_env, run_child

PRODUCTS = 500


def _seed(retailer_name: str):
    from decimal import Decimal

    from catalog.models import Product, Variant
    from retailers.models import PricingRule, Retailer
    from suppliers.models import Supplier

    supplier = Supplier.objects.create(
        company_name=f"Bench supplier {retailer_name}",
        slug=f"bench-supplier-{retailer_name}",
        status=Supplier.Status.ACTIVE,
    )
    retailer = Retailer.objects.create(business_name=retailer_name, slug=retailer_name)
    PricingRule.objects.create(
        retailer=retailer, name="Default", method="MULTIPLIER", value=Decimal("2.2")
    )
    products = Product.objects.bulk_create(
        Product(
            supplier=supplier,
            handle=f"p-{i}",
            title=f"Bench product {i}",
            description="<p>Made to last.</p>",
            option_names=["Size"] if i % 2 else [],
            status=Product.Status.ACTIVE,
        )
        for i in range(PRODUCTS)
    )
    variants = []
    for product in products:
        sizes = ("S", "M", "L") if product.option_names else ("",)
        for position, size in enumerate(sizes):
            variants.append(
                Variant(
                    product=product,
                    supplier=supplier,
                    sku=f"{product.handle}-{size or 'one'}",
                    options={"Size": size} if size else {},
                    wholesale_price=Decimal("4.00") + position,
                    msrp=Decimal("19.99"),
                    stock_on_hand=40,
                    position=position,
                )
            )
    Variant.objects.bulk_create(variants)
    return retailer, [p.pk for p in products], len(variants)


def _measure(store, retailer, product_ids) -> dict:
    from retailers.models import Listing, StoreImportJob
    from retailers.services import start_store_imports

    started = time.perf_counter()
    (job,) = start_store_imports(retailer=retailer, stores=[store], product_ids=product_ids)
    wall = time.perf_counter() - started
    job = StoreImportJob.objects.get(pk=job.pk)
    assert job.status == "COMPLETED", job.error
    assert job.succeeded_count == PRODUCTS, f"{job.failed_count} failed"
    assert Listing.objects.filter(store=store, sync_status="SYNCED").count() == PRODUCTS
    return {
        "wall_s": round(wall, 2),
        "products_per_s": round(PRODUCTS / wall, 1),
        "calls": job.api_calls,
    }


def child() -> None:
    import json

    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache

    from integrations.shopify.client import PUBLISH_BATCH
    from retailers.models import Store
    from sandbox.server import SandboxServer
    from sandbox.shopify import STANDARD_PLAN, ShopifySandbox
    from sandbox.woocommerce import WooCommerceSandbox

    cache.clear()
    results: dict[str, float | int] = {}

    shopify = ShopifySandbox(
        api_key=settings.SHOPIFY_API_KEY, api_secret=settings.SHOPIFY_API_SECRET, plan=STANDARD_PLAN
    )
    server = SandboxServer(shopify).start()
    settings.SHOPIFY_BASE_URL = server.base_url
    try:
        retailer, product_ids, variant_count = _seed("bench-shopify")
        domain = "bench-import.myshopify.com"
        shop = shopify.add_shop(domain)
        store = Store.objects.create(
            retailer=retailer,
            name=shop.name,
            platform=Store.Platform.SHOPIFY,
            domain=domain,
            credentials={"access_token": shopify.issue_token(domain)},
            location_id=shop.location_id,
        )
        numbers = _measure(store, retailer, product_ids)
        results.update({f"shopify_{k}": v for k, v in numbers.items()})
        results["shopify_min_calls"] = PRODUCTS + -(-PRODUCTS // PUBLISH_BATCH) + 1
        product_sets = [c for c in shopify.calls if c.operation == "productSet"]
        publishes = [c for c in shopify.calls if c.operation == "publishablePublish"]
        set_cost = sum(c.actual_cost or c.requested_cost for c in product_sets)
        spent = set_cost + sum(c.actual_cost or c.requested_cost for c in publishes)
        results["shopify_throttled_calls"] = sum(1 for c in shopify.calls if c.throttled)
        results["shopify_avg_cost_per_call"] = round(set_cost / max(len(product_sets), 1), 1)
        results["shopify_avg_requested_cost_per_call"] = round(
            sum(c.requested_cost for c in product_sets) / max(len(product_sets), 1), 1
        )
        results["shopify_publish_points"] = spent - set_cost
        # the rate limit's floor: what the full bucket cannot absorb refills at restoreRate/s
        results["shopify_rate_limit_floor_s"] = round(
            max(0.0, spent - STANDARD_PLAN.maximum_available) / STANDARD_PLAN.restore_rate, 1
        )
        results["variants"] = variant_count
    finally:
        server.stop()

    woo = WooCommerceSandbox()
    server = SandboxServer(woo).start()
    woo.base_url = server.base_url
    try:
        retailer, product_ids, _ = _seed("bench-woo")
        site, key, secret = woo.add_site("bench-woo")
        store = Store.objects.create(
            retailer=retailer,
            name=site.name,
            platform=Store.Platform.WOOCOMMERCE,
            domain=site.url,
            credentials={"consumer_key": key, "consumer_secret": secret},
            webhook_secret="bench",
        )
        numbers = _measure(store, retailer, product_ids)
        results.update({f"woo_{k}": v for k, v in numbers.items()})
        results["woo_min_calls"] = -(-PRODUCTS // 100) + PRODUCTS // 2
    finally:
        server.stop()
    print(json.dumps(results))  # noqa: T201


def run() -> dict:
    with bench_database("store_import") as url:
        env = child_env(url)
        return run_child("tests.perf.bench_store_import", env=env)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child()
    else:
        print(run())  # noqa: T201
