"""A sandbox started with a state file finds its shops, products and orders again after a restart,
and its numbers continue; without one it lives in memory (what the other tests use)."""

import json
import os
from decimal import Decimal
from pathlib import Path

import requests

from sandbox.server import SandboxServer
from sandbox.shopify import ShopifySandbox
from sandbox.state import StateFile
from sandbox.stripe import StripeSandbox
from sandbox.woocommerce import WooCommerceSandbox, sign_oauth_url

SHOP = "maple-and-co.myshopify.com"
PRODUCT_SET = """mutation($input: ProductSetInput!) {
  productSet(input: $input, synchronous: true) { product { id } userErrors { message } }
}"""


def _running(app):
    server = SandboxServer(app).start()
    if hasattr(app, "base_url"):
        app.base_url = server.base_url
    return server


def _shopify_product(base_url: str, token: str, location_id: str) -> str:
    response = requests.post(
        f"{base_url}/{SHOP}/admin/api/2025-07/graphql.json",
        json={
            "query": PRODUCT_SET,
            "variables": {
                "input": {
                    "title": "Linen apron",
                    "productOptions": [{"name": "Title", "values": [{"name": "Default"}]}],
                    "variants": [
                        {
                            "sku": "APRON-1",
                            "price": "24.99",
                            "optionValues": [{"optionName": "Title", "name": "Default"}],
                            "inventoryQuantities": [
                                {"locationId": location_id, "name": "available", "quantity": 5}
                            ],
                        }
                    ],
                }
            },
        },
        headers={"X-Shopify-Access-Token": token},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["data"]["productSet"]["userErrors"] == []
    return response.json()["data"]["productSet"]["product"]["id"]


def _shopify_order(base_url: str) -> dict:
    response = requests.post(
        f"{base_url}/_sandbox/shops/{SHOP}/orders",
        json={"lines": [{"sku": "APRON-1", "quantity": 1}]},
        timeout=10,
    )
    assert response.status_code == 201
    return response.json()


def test_a_restarted_shopify_sandbox_keeps_its_products_orders_and_tokens(tmp_path):
    state = tmp_path / "shopify.json"
    first = ShopifySandbox(state_file=StateFile(state))
    server = _running(first)
    try:
        token = requests.post(
            f"{server.base_url}/_sandbox/shops/{SHOP}/token", json={"name": "Maple"}, timeout=10
        ).json()["access_token"]
        product_id = _shopify_product(server.base_url, token, first.shop(SHOP).location_id)
        first_order = _shopify_order(server.base_url)
    finally:
        server.stop()

    second = ShopifySandbox(state_file=StateFile(state))
    server = _running(second)
    try:
        shop = second.shop(SHOP)
        assert list(shop.products) == [product_id]
        assert shop.quantity_for_sku("APRON-1") == 5
        assert [order["name"] for order in shop.orders.values()] == ["#1001"]
        [variant] = shop.variants.values()
        assert variant["price"] == Decimal("24.99")
        assert second.tokens == {token: SHOP}
        assert (shop.name, shop.is_installed) == ("Maple", True)
        assert _shopify_product(server.base_url, token, shop.location_id) != product_id
        second_order = _shopify_order(server.base_url)
    finally:
        server.stop()
    assert (first_order["name"], second_order["name"]) == ("#1001", "#1002")
    assert int(second_order["id"]) > int(first_order["id"])


def _woo(method: str, site: dict, path: str, data: dict | None = None) -> requests.Response:
    url = f"{site['url']}/wp-json/wc/v3/{path}"
    signed = sign_oauth_url(url, method, {}, site["consumer_key"], site["consumer_secret"])
    return requests.request(method, signed, json=data, timeout=10)


def test_a_restarted_woocommerce_sandbox_keeps_its_site_keys_and_orders(tmp_path):
    state = tmp_path / "woocommerce.json"
    first = WooCommerceSandbox(state_file=StateFile(state))
    server = _running(first)
    try:
        site = requests.post(
            f"{server.base_url}/_sandbox/sites", json={"name": "maple-woo"}, timeout=10
        ).json()
        created = _woo(
            "POST",
            site,
            "products",
            {
                "name": "Mug",
                "sku": "MUG-1",
                "regular_price": "9.90",
                "manage_stock": True,
                "stock_quantity": 3,
            },
        )
        assert created.status_code == 201
        product_id = created.json()["id"]
        first_order = requests.post(
            f"{server.base_url}/_sandbox/sites/maple-woo/orders",
            json={"lines": [{"sku": "MUG-1", "quantity": 1}]},
            timeout=10,
        ).json()
        port = server.port
    finally:
        server.stop()

    second = WooCommerceSandbox(state_file=StateFile(state))
    server = SandboxServer(second, port=port).start()  # the same address Dropship stored
    second.base_url = server.base_url
    try:
        assert second.sites["maple-woo"].stock(product_id) == 3
        order = _woo("GET", site, f"orders/{first_order['id']}")  # the keys still work
        assert order.status_code == 200
        assert order.json()["line_items"][0]["sku"] == "MUG-1"
        second_order = requests.post(
            f"{server.base_url}/_sandbox/sites/maple-woo/orders",
            json={"lines": [{"sku": "MUG-1", "quantity": 1}]},
            timeout=10,
        ).json()
    finally:
        server.stop()
    assert second_order["id"] > first_order["id"] > product_id


def test_a_restarted_stripe_sandbox_keeps_its_customers_and_events(tmp_path):
    state = tmp_path / "stripe.json"
    first = StripeSandbox(state_file=StateFile(state))
    server = _running(first)
    headers = {"Authorization": f"Bearer {first.secret_key}"}
    try:
        customer = requests.post(
            f"{server.base_url}/v1/customers",
            data={"email": "rita@example.com"},
            headers=headers,
            timeout=10,
        ).json()
    finally:
        server.stop()

    second = StripeSandbox(state_file=StateFile(state))
    server = _running(second)
    try:
        fetched = requests.get(
            f"{server.base_url}/v1/customers/{customer['id']}", headers=headers, timeout=10
        )
    finally:
        server.stop()
    assert fetched.status_code == 200
    assert fetched.json()["email"] == "rita@example.com"
    assert [e["type"] for e in second.events_of()] == [e["type"] for e in first.events_of()]


def test_the_state_file_is_replaced_whole_and_only_when_the_state_changed(tmp_path, monkeypatch):
    replaced = []
    real_replace = os.replace

    def replace(source, target):
        replaced.append((Path(source).parent, Path(target).name))
        real_replace(source, target)

    monkeypatch.setattr("sandbox.state.os.replace", replace)
    path = tmp_path / "sandbox" / "state.json"
    state_file = StateFile(path)
    state_file.save({"price": Decimal("9.90"), "ids": {"700": "a"}})
    state_file.save({"price": Decimal("9.90"), "ids": {"700": "a"}})

    assert replaced == [(path.parent, "state.json")]  # a temporary file beside it, swapped in once
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temporary file left
    assert json.loads(path.read_text()) == {"price": {"__decimal__": "9.90"}, "ids": {"700": "a"}}
    assert StateFile(path).load() == {"price": Decimal("9.90"), "ids": {"700": "a"}}
    assert StateFile(tmp_path / "missing.json").load() is None


def test_a_sandbox_without_a_state_file_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = ShopifySandbox()
    server = _running(app)
    try:
        requests.post(f"{server.base_url}/_sandbox/shops/{SHOP}/token", json={}, timeout=10)
    finally:
        server.stop()
    assert app.state_file is None
    assert list(tmp_path.iterdir()) == []
