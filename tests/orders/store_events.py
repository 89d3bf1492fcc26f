"""Shops in the Shopify and WooCommerce sandboxes with one of our products listed, whose webhook
deliveries are replayed into the inbox exactly as the sandbox signed them (no live server: the
sandbox posts to a closed port, the test hands each recorded delivery to the test client)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from integrations.base import ProductData, VariantData
from integrations.registry import get_store_client
from retailers.models import ListingVariant, Store
from suppliers.models import Supplier
from tests.orders.pipeline import make_offer, make_supplier

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, the delivery is recorded


@dataclass
class SandboxShop:
    sandbox: object  # tests.sandboxes.ShopifyHandle or WooHandle
    store: Store
    offers: dict[str, ListingVariant]
    seen: int = 0  # deliveries already replayed

    @property
    def app(self):
        return self.sandbox.app

    def replay(self, client, capture, *, topics: tuple[str, ...] = ()) -> list[int]:
        """Post every delivery the sandbox made since the last replay (of `topics` when given)
        to our webhook endpoint; returns the answers' status codes."""
        deliveries = self.app.deliveries[self.seen :]
        self.seen = len(self.app.deliveries)
        statuses = []
        for delivery in deliveries:
            if delivery.topic == "ping" or (topics and delivery.topic not in topics):
                continue
            statuses.append(deliver(client, capture, delivery))
        return statuses


def deliver(client, capture, delivery) -> int:
    headers = {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in delivery.headers.items()
        if name.lower() != "content-type"
    }
    with capture(execute=True):
        response = client.post(
            urlsplit(delivery.url).path,
            data=delivery.body,
            content_type="application/json",
            **headers,
        )
    return response.status_code


def _offers(store: Store, skus: tuple[str, ...], stock: int, supplier: Supplier | None):
    supplier = supplier or make_supplier()
    results = get_store_client(store=store).upsert_products(
        products=[
            ProductData(
                reference=sku,
                title=f"Tea towel {sku}",
                variants=(VariantData(sku=sku, price=Decimal("24.99"), inventory_quantity=stock),),
            )
            for sku in skus
        ]
    )
    return {
        sku: make_offer(
            store=store,
            supplier=supplier,
            stock=stock,
            sku=sku,
            store_variant_id=result.variant_ids.get(sku) or result.store_product_id,
        )
        for sku, result in zip(skus, results, strict=True)
    }


def shopify_shop(
    shopify_sandbox, *, retailer, skus=("TOWEL-1",), stock=5, supplier=None
) -> SandboxShop:
    store = shopify_sandbox.connect_store(retailer=retailer)
    get_store_client(store=store).register_webhooks(callback_url=f"{CLOSED}/webhooks/shopify/")
    shop = SandboxShop(shopify_sandbox, store, _offers(store, skus, stock, supplier))
    shop.seen = len(shopify_sandbox.app.deliveries)
    return shop


def woo_shop(woo_sandbox, *, retailer, skus=("MUG-1",), stock=5, supplier=None) -> SandboxShop:
    store = woo_sandbox.connect_store(retailer=retailer)
    get_store_client(store=store).register_webhooks(
        callback_url=f"{CLOSED}/webhooks/woocommerce/{store.public_id}/"
    )
    shop = SandboxShop(woo_sandbox, store, _offers(store, skus, stock, supplier))
    shop.seen = len(woo_sandbox.app.deliveries)
    return shop
