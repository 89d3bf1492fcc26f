"""The sandbox storefronts: a shopper's order placed on the sandbox's own page makes the sandbox
send the real signed webhook, which our endpoint verifies and stores; the order page shows the
fulfilment and tracking once they are pushed."""

from decimal import Decimal

import pytest
import requests

from integrations.base import FulfillmentData, FulfillmentLine, ProductData, VariantData
from integrations.models import InboundWebhook
from integrations.registry import get_store_client

# A README flow: `make test` runs it on SQLite as well.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


def _publish(store, title: str, skus: list[str]) -> None:
    [result] = get_store_client(store=store).upsert_products(
        products=[
            ProductData(
                reference="p1",
                title=title,
                option_names=("Size",),
                variants=tuple(
                    VariantData(
                        sku=sku,
                        price=Decimal("24.99"),
                        options={"Size": f"S{n}"},
                        inventory_quantity=7,
                    )
                    for n, sku in enumerate(skus)
                ),
            )
        ]
    )
    assert result.is_ok, result.error


SHOPPER = {
    "first_name": "Zoë",
    "last_name": "Ångström",
    "email": "zoe@example.com",
    "address1": "Rue de l’Église 4",
    "city": "Montréal",
    "province": "QC",
    "zip": "H2X 1Y4",
    "country_code": "CA",
    "quantity": "2",
}


def test_a_shopify_storefront_order_sends_a_signed_orders_create_our_endpoint_accepts(
    shopify_sandbox, live_server
):
    store = shopify_sandbox.connect_store()
    get_store_client(store=store).register_webhooks(
        callback_url=f"{live_server.url}/webhooks/shopify/"
    )
    _publish(store, "Linen apron", ["APRON-S", "APRON-M"])
    base = f"{shopify_sandbox.base_url}/{store.domain}/storefront/"

    index = requests.get(base, timeout=10)
    assert index.status_code == 200
    assert "Linen apron" in index.text
    assert "APRON-M" in index.text
    assert f"{live_server.url}/webhooks/shopify/" in index.text

    placed = requests.post(
        base + "checkout", data={**SHOPPER, "sku": "APRON-M"}, allow_redirects=False, timeout=10
    )
    assert placed.status_code == 303

    webhook = InboundWebhook.objects.get(source="SHOPIFY", topic="orders/create")
    assert webhook.store_id == store.pk
    shop = shopify_sandbox.app.shop(store.domain)
    [order] = shop.orders.values()
    assert placed.headers["Location"].endswith(f"/storefront/orders/{order['legacy_id']}")
    assert order["line_items"][0]["sku"] == "APRON-M"
    assert order["line_items"][0]["quantity"] == 2
    assert order["shipping_address"]["city"] == "Montréal"
    [delivery] = [d for d in shopify_sandbox.app.deliveries if d.topic == "orders/create"]
    assert delivery.status == 200
    assert delivery.headers["X-Shopify-Hmac-Sha256"]
    assert b'"Rue de l\\u2019\\u00c9glise 4"' in bytes(webhook.body)

    page = requests.get(shopify_sandbox.base_url + placed.headers["Location"], timeout=10)
    assert "Not shipped yet" in page.text
    assert "answered 200" in page.text

    # Once Dropship pushes the fulfilment, the shopper's order page shows the tracking.
    get_store_client(store=store).create_fulfillment(
        fulfillment=FulfillmentData(
            store_order_id=order["id"],
            lines=(FulfillmentLine(order["line_items"][0]["gid"], 2),),
            carrier="UPS",
            tracking_number="1Z999AA10123456784",
            tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
        )
    )
    page = requests.get(shopify_sandbox.base_url + placed.headers["Location"], timeout=10)
    assert "1Z999AA10123456784" in page.text
    assert "Fulfilled" in page.text


def test_a_woocommerce_storefront_order_sends_a_signed_order_created(woo_sandbox, live_server):
    store = woo_sandbox.connect_store()
    get_store_client(store=store).register_webhooks(
        callback_url=f"{live_server.url}/webhooks/woocommerce/{store.public_id}/"
    )
    _publish(store, "Stoneware mug", ["MUG-1", "MUG-2"])
    base = f"{woo_sandbox.base_url}/maple-woo/storefront/"

    assert "Stoneware mug" in requests.get(base, timeout=10).text
    placed = requests.post(
        base + "checkout", data={**SHOPPER, "sku": "MUG-2"}, allow_redirects=False, timeout=10
    )
    assert placed.status_code == 303

    webhook = InboundWebhook.objects.get(source="WOOCOMMERCE", topic="order.created")
    assert webhook.store_id == store.pk
    [order] = woo_sandbox.app.sites["maple-woo"].orders.values()
    assert order["shipping"]["city"] == "Montréal"
    assert order["line_items"][0]["quantity"] == 2
    [delivery] = [d for d in woo_sandbox.app.deliveries if d.topic == "order.created"]
    assert delivery.status == 200
    assert delivery.headers["X-WC-Webhook-Signature"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quantity": "0"}, "Quantity must be a whole number from 1 to 99."),
        ({"quantity": "-3"}, "Quantity must be a whole number from 1 to 99."),
        ({"sku": "NOT-HERE"}, "Choose a product of this store."),
        ({"address1": ""}, "Address is required."),
        ({"address1": "x" * 2000}, "Address1 is longer than 200 characters."),
        ({"country_code": "ZZ"}, "Choose a country from the list."),
    ],
)
def test_bad_checkout_input_is_refused_and_no_order_is_made(shopify_sandbox, change, message):
    store = shopify_sandbox.connect_store()
    _publish(store, "Linen apron", ["APRON-S"])
    base = f"{shopify_sandbox.base_url}/{store.domain}/storefront/"

    response = requests.post(
        base + "checkout", data={**SHOPPER, "sku": "APRON-S", **change}, timeout=10
    )

    assert response.status_code == 400
    assert message in response.text.replace("&#x27;", "'")
    assert shopify_sandbox.app.shop(store.domain).orders == {}
    assert InboundWebhook.objects.count() == 0


def test_storefront_escapes_what_it_shows(shopify_sandbox):
    store = shopify_sandbox.connect_store()
    _publish(store, "<script>alert(1)</script>", ["XSS-1"])
    page = requests.get(f"{shopify_sandbox.base_url}/{store.domain}/storefront/", timeout=10)
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_prepare_demo_prints_the_storefront_urls_and_they_answer(shopify_sandbox, woo_sandbox):
    from io import StringIO

    from django.core.management import call_command

    from tests import factories

    factories.RetailerFactory(slug="maple-and-co", business_name="Maple & Co")
    out = StringIO()
    call_command(
        "prepare_demo",
        shopify_url=shopify_sandbox.base_url,
        woocommerce_url=woo_sandbox.base_url,
        stdout=out,
    )
    shopify_url = f"{shopify_sandbox.base_url}/maple-and-co.myshopify.com/storefront/"
    woo_url = f"{woo_sandbox.base_url}/maple-and-co/storefront/"
    assert f"Shopify sandbox storefront (order as a shopper): {shopify_url}" in out.getvalue()
    assert f"WooCommerce sandbox storefront (order as a shopper): {woo_url}" in out.getvalue()
    assert "Maple &amp; Co (Shopify)" in requests.get(shopify_url, timeout=10).text
    assert "Maple &amp; Co (WooCommerce)" in requests.get(woo_url, timeout=10).text
