"""`make run` starts the sandboxes and connects the demo retailer's two stores to them."""

import pytest
from django.core.management import call_command

from devstack.stack import stack_processes
from integrations.shopify.client import WEBHOOK_TOPICS as SHOPIFY_WEBHOOK_TOPICS
from retailers.models import Store
from tests import factories


def test_stack_starts_the_sandboxes_before_web_and_points_the_app_at_them(monkeypatch, tmp_path):
    monkeypatch.delenv("SHOPIFY_BASE_URL", raising=False)
    monkeypatch.delenv("STRIPE_API_BASE", raising=False)
    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.delenv("TRACKING_API_BASE", raising=False)
    processes = {p.name: p for p in stack_processes(port=8000, state_dir=tmp_path)}
    assert list(processes)[:5] == ["shopify", "woocommerce", "stripe", "carrier", "web"]
    assert "8001" in processes["shopify"].argv
    assert "8002" in processes["woocommerce"].argv
    stripe_argv = processes["stripe"].argv
    assert stripe_argv[stripe_argv.index("--port") + 1] == "8003"
    assert stripe_argv[stripe_argv.index("--webhook-url") + 1] == (
        "http://127.0.0.1:8000/webhooks/stripe/"
    )
    assert "payment_intent.succeeded" in stripe_argv[stripe_argv.index("--events") + 1]
    carrier_argv = processes["carrier"].argv
    assert carrier_argv[carrier_argv.index("--port") + 1] == "8004"
    assert carrier_argv[carrier_argv.index("--tracking-webhook-url") + 1] == (
        "http://127.0.0.1:8000/webhooks/tracking/"
    )
    for name, port in (
        ("shopify", 8001),
        ("woocommerce", 8002),
        ("stripe", 8003),
        ("carrier", 8004),
    ):
        argv = processes[name].argv
        assert argv[argv.index("--state") + 1] == str(tmp_path / f"{name}-{port}.json")
    for name in ("web", "worker", "beat"):
        assert processes[name].env == {
            "SHOPIFY_BASE_URL": "http://127.0.0.1:8001",
            "STRIPE_API_BASE": "http://127.0.0.1:8003",
            "TRACKING_API_BASE": "http://127.0.0.1:8004/v2",
            "SITE_URL": "http://127.0.0.1:8000",
        }


@pytest.mark.django_db
def test_prepare_demo_connects_both_demo_stores_and_is_idempotent(shopify_sandbox, woo_sandbox):
    retailer = factories.RetailerFactory(slug="maple-and-co", business_name="Maple & Co")
    for _ in range(2):
        call_command(
            "prepare_demo",
            shopify_url=shopify_sandbox.base_url,
            woocommerce_url=woo_sandbox.base_url,
        )
    stores = {s.platform: s for s in Store.objects.filter(retailer=retailer)}
    assert sorted(stores) == ["SHOPIFY", "WOOCOMMERCE"]
    assert Store.objects.count() == 2
    assert (stores["SHOPIFY"].name, stores["SHOPIFY"].status) == (
        "Maple & Co (Shopify)",
        "CONNECTED",
    )
    assert (stores["WOOCOMMERCE"].name, stores["WOOCOMMERCE"].status) == (
        "Maple & Co (WooCommerce)",
        "CONNECTED",
    )
    assert stores["SHOPIFY"].credentials["access_token"] in shopify_sandbox.app.tokens
    # one subscription per topic we read (orders, uninstall, fulfillment-hold releases)
    shop_webhooks = shopify_sandbox.app.shop("maple-and-co.myshopify.com").webhooks
    assert sorted(w["topic"] for w in shop_webhooks.values()) == sorted(SHOPIFY_WEBHOOK_TOPICS)
