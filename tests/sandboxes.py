"""Pytest fixtures that run the Shopify and WooCommerce sandboxes in threads on port 0.

def test_x(shopify_sandbox, woo_sandbox):
    shopify_sandbox.app        # ShopifySandbox: shops, calls, deliveries, helpers
    shopify_sandbox.base_url   # settings.SHOPIFY_BASE_URL points here for the test
    store = shopify_sandbox.connect_store(retailer=...)  # a CONNECTED Store with a token
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from integrations.sandbox.server import SandboxServer
from integrations.sandbox.shopify import STANDARD_PLAN, ShopifySandbox
from integrations.sandbox.woocommerce import WooCommerceSandbox


@dataclass
class RunningSandbox:
    app: ShopifySandbox | WooCommerceSandbox
    server: SandboxServer

    @property
    def base_url(self) -> str:
        return self.server.base_url


class ShopifyHandle(RunningSandbox):
    def connect_store(self, *, retailer=None, domain: str = "maple-and-co.myshopify.com", **extra):
        """A Store row connected to a sandbox shop with a real access token."""
        from tests import factories

        shop = self.app.add_shop(domain)
        token = self.app.issue_token(domain)
        kwargs = {"retailer": retailer} if retailer is not None else {}
        return factories.StoreFactory(
            **kwargs,
            name=shop.name,
            platform="SHOPIFY",
            domain=domain,
            credentials={"access_token": token, "webhook_ids": []},
            location_id=shop.location_id,
            webhook_secret="",
            **extra,
        )


class WooHandle(RunningSandbox):
    def connect_store(self, *, retailer=None, slug: str = "maple-woo", **extra):
        from tests import factories

        site, key, secret = self.app.add_site(slug)
        kwargs = {"retailer": retailer} if retailer is not None else {}
        return factories.StoreFactory(
            **kwargs,
            name=site.name,
            platform="WOOCOMMERCE",
            domain=site.url,
            credentials={"consumer_key": key, "consumer_secret": secret, "webhook_ids": []},
            webhook_secret="woo-webhook-secret",
            **extra,
        )


@pytest.fixture
def shopify_sandbox(settings):
    from django.core.cache import cache

    cache.clear()  # the Shopify client keeps each shop's throttle state in the cache
    app = ShopifySandbox(
        api_key=settings.SHOPIFY_API_KEY, api_secret=settings.SHOPIFY_API_SECRET, plan=STANDARD_PLAN
    )
    server = SandboxServer(app).start()
    settings.SHOPIFY_BASE_URL = server.base_url
    try:
        yield ShopifyHandle(app, server)
    finally:
        server.stop()


@pytest.fixture
def woo_sandbox():
    app = WooCommerceSandbox()
    server = SandboxServer(app).start()
    app.base_url = server.base_url
    try:
        yield WooHandle(app, server)
    finally:
        server.stop()
