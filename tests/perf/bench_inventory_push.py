"""Inventory push efficiency: API calls used for 1,000 stock changes vs the minimum possible.

Runs the real clients against the sandboxes in this process (Shopify on its Standard plan,
after 1,000 variants were created, so the bucket is already partly spent). The minimum is
ceil(1000 / the platform's largest batch): 250 for Shopify's inventorySetQuantities, 100 for
WooCommerce's batch endpoints. Rejected (throttled) calls are counted too; there should be none.

    python tests/perf/bench_inventory_push.py
"""

from __future__ import annotations

import math
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHANGES = 1000


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.perf.settings")
    import django

    django.setup()


def _shopify() -> dict:
    from django.conf import settings
    from django.core.cache import cache

    from integrations.base import InventoryChange, ProductData, VariantData
    from integrations.shopify.client import ShopifyClient
    from sandbox.server import SandboxServer
    from sandbox.shopify import STANDARD_PLAN, ShopifySandbox

    app = ShopifySandbox(
        api_key=settings.SHOPIFY_API_KEY, api_secret=settings.SHOPIFY_API_SECRET, plan=STANDARD_PLAN
    )
    server = SandboxServer(app).start()
    settings.SHOPIFY_BASE_URL = server.base_url
    # The sandbox is on loopback; Django may already be set up by an earlier benchmark in this run.
    settings.ALLOW_LOOPBACK_URLS = True
    domain = "bench-inventory.myshopify.com"
    cache.delete_many([f"shopify-throttle:{domain}", f"shopify-costs:{domain}"])
    try:
        client = ShopifyClient(shop_domain=domain, access_token=app.issue_token(domain))
        products = [
            ProductData(
                reference=str(p),
                title=f"Bench product {p}",
                option_names=("Size",),
                variants=tuple(
                    VariantData(sku=f"B-{p}-{v}", price=Decimal("10"), options={"Size": str(v)})
                    for v in range(250)
                ),
            )
            for p in range(CHANGES // 250)
        ]
        items = {}
        for result in client.upsert_products(products=products):
            items.update(result.inventory_item_ids)
        wanted = {item: n % 37 for n, item in enumerate(items.values())}
        started = time.perf_counter()
        result = client.set_inventory(
            changes=[InventoryChange(quantity=q, inventory_item_id=i) for i, q in wanted.items()]
        )
        elapsed = time.perf_counter() - started
        shop = app.shop(domain)
        correct = sum(shop.quantity(i) == q for i, q in wanted.items())
        return {
            "shopify_calls_per_1000_changes": result.calls,
            "shopify_minimum_calls": math.ceil(CHANGES / client.inventory_batch_size),
            "shopify_rejected_calls": len(app.rejected_calls()),
            "shopify_quantities_correct": correct,
            "shopify_push_seconds": round(elapsed, 3),
        }
    finally:
        server.stop()


def _woocommerce() -> dict:
    from integrations.base import InventoryChange, ProductData, VariantData
    from integrations.woocommerce.client import WooCommerceClient
    from sandbox.server import SandboxServer
    from sandbox.woocommerce import WooCommerceSandbox

    app = WooCommerceSandbox()
    server = SandboxServer(app).start()
    app.base_url = server.base_url
    try:
        site, key, secret = app.add_site("bench")
        client = WooCommerceClient(url=site.url, consumer_key=key, consumer_secret=secret)
        results = client.upsert_products(
            products=[
                ProductData(
                    reference=str(n),
                    title=f"P{n}",
                    variants=(VariantData(sku=f"W-{n}", price=Decimal("5")),),
                )
                for n in range(CHANGES)
            ]
        )
        wanted = {r.store_product_id: n % 13 for n, r in enumerate(results)}
        started = time.perf_counter()
        result = client.set_inventory(
            changes=[
                InventoryChange(quantity=q, store_product_id=p, store_variant_id=p)
                for p, q in wanted.items()
            ]
        )
        elapsed = time.perf_counter() - started
        correct = sum(site.stock(int(p)) == q for p, q in wanted.items())
        return {
            "woocommerce_calls_per_1000_changes": result.calls,
            "woocommerce_minimum_calls": math.ceil(CHANGES / client.inventory_batch_size),
            "woocommerce_rejected_calls": len(app.rejected_calls()),
            "woocommerce_quantities_correct": correct,
            "woocommerce_push_seconds": round(elapsed, 3),
        }
    finally:
        server.stop()


def run() -> dict:
    _setup_django()
    return {**_shopify(), **_woocommerce()}


if __name__ == "__main__":
    print(run())  # noqa: T201
