"""The sandboxes deliver signed webhooks over real HTTP to the running inbox (live server)."""

from decimal import Decimal

import pytest

from integrations.base import ProductData, VariantData
from integrations.models import InboundWebhook
from integrations.registry import get_store_client
from retailers.services import connect_shopify_store_with_token, connect_woocommerce_store
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _towel(sku: str) -> ProductData:
    return ProductData(
        reference=sku,
        title="Tea towel",
        variants=(VariantData(sku=sku, price=Decimal("9.50"), inventory_quantity=5),),
    )


def test_shopify_sandbox_order_reaches_the_inbox_signed(live_server, settings, shopify_sandbox):
    settings.SITE_URL = live_server.url
    retailer = factories.RetailerFactory()
    domain = "maple-and-co.myshopify.com"
    token = shopify_sandbox.app.issue_token(domain)
    store = connect_shopify_store_with_token(retailer=retailer, shop=domain, access_token=token)
    get_store_client(store=store).upsert_products(products=[_towel("TOWEL-1")])
    order = shopify_sandbox.app.create_order(domain, lines=[{"sku": "TOWEL-1", "quantity": 2}])
    [delivery] = [d for d in shopify_sandbox.app.deliveries if d.topic == "orders/create"]
    assert delivery.status == 200
    webhook = InboundWebhook.objects.get(topic="orders/create")
    assert (webhook.store_id, webhook.dedup_key) == (
        store.pk,
        delivery.headers["X-Shopify-Event-Id"],
    )
    assert webhook.headers["X-Shopify-Hmac-Sha256"] == delivery.headers["X-Shopify-Hmac-Sha256"]
    assert bytes(webhook.body) == delivery.body
    assert str(order["legacy_id"]).encode() in bytes(webhook.body)
    store.refresh_from_db()
    assert store.last_webhook_at is not None


def test_woocommerce_sandbox_ping_and_order_reach_the_inbox(live_server, settings, woo_sandbox):
    settings.SITE_URL = live_server.url
    retailer = factories.RetailerFactory()
    site, key, secret = woo_sandbox.app.add_site("maple-woo")
    store = connect_woocommerce_store(
        retailer=retailer, site_url=site.url, consumer_key=key, consumer_secret=secret
    )
    assert [(d.topic, d.status) for d in woo_sandbox.app.deliveries] == [
        ("ping", 200),
        ("ping", 200),
        ("ping", 200),
    ]
    get_store_client(store=store).upsert_products(products=[_towel("TOWEL-2")])
    woo_sandbox.app.create_order("maple-woo", lines=[{"sku": "TOWEL-2", "quantity": 1}])
    [delivery] = [d for d in woo_sandbox.app.deliveries if d.topic == "order.created"]
    assert delivery.status == 200
    webhook = InboundWebhook.objects.get()
    assert (webhook.source, webhook.topic, webhook.store_id) == (
        "WOOCOMMERCE",
        "order.created",
        store.pk,
    )
