"""Pytest fixtures that run the Shopify, WooCommerce, Stripe and carrier-tracking sandboxes in
threads on port 0.

def test_x(shopify_sandbox, woo_sandbox):
    shopify_sandbox.app        # ShopifySandbox: shops, calls, deliveries, helpers
    shopify_sandbox.base_url   # settings.SHOPIFY_BASE_URL points here for the test
    store = shopify_sandbox.connect_store(retailer=...)  # a CONNECTED Store with a token
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from sandbox.carrier import CarrierSandbox
from sandbox.rates import RatesSandbox
from sandbox.server import SandboxServer
from sandbox.shopify import STANDARD_PLAN, ShopifySandbox
from sandbox.stripe import StripeSandbox
from sandbox.woocommerce import WooCommerceSandbox


class FakeClock:
    """The sandboxes' clock in tests: the real time, plus what `advance` added (never a sleep)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class RunningSandbox:
    app: ShopifySandbox | WooCommerceSandbox | StripeSandbox | CarrierSandbox | RatesSandbox
    server: SandboxServer

    @property
    def base_url(self) -> str:
        return self.server.base_url


@dataclass
class ShopifyHandle(RunningSandbox):
    clock: FakeClock | None = None

    def connect_store(
        self,
        *,
        retailer=None,
        domain: str = "maple-and-co.myshopify.com",
        expiring: bool = False,
        **extra,
    ):
        """A Store row connected to a sandbox shop with a real access token (`expiring`: an
        expiring offline token with its refresh token, stored as the OAuth install stores it)."""
        from integrations.shopify.oauth import grant_from_answer
        from tests import factories

        shop = self.app.add_shop(domain)
        if expiring:
            answer = self.app.issue_expiring_token(domain)
            credentials = grant_from_answer(answer, now=self.app.clock()).as_credentials()
        else:
            credentials = {"access_token": self.app.issue_token(domain)}
        kwargs = {"retailer": retailer} if retailer is not None else {}
        return factories.StoreFactory(
            **kwargs,
            name=shop.name,
            platform="SHOPIFY",
            domain=domain,
            credentials={**credentials, "webhook_ids": []},
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
    # The Shopify client keeps each shop's throttle state in the cache: each test has its own
    # (tests/conftest.py _isolated_cache).
    clock = FakeClock()
    app = ShopifySandbox(
        api_key=settings.SHOPIFY_API_KEY,
        api_secret=settings.SHOPIFY_API_SECRET,
        plan=STANDARD_PLAN,
        clock=clock,
    )
    server = SandboxServer(app).start()
    settings.SHOPIFY_BASE_URL = server.base_url
    try:
        yield ShopifyHandle(app, server, clock)
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


class StripeHandle(RunningSandbox):
    """The Stripe sandbox; stripe-python is pointed at it (settings.STRIPE_API_BASE)."""

    def save_card(self, retailer, number: str = "4242424242424242"):
        """Save a card the way a retailer does: our service opens Checkout in setup mode, the
        card is submitted on the sandbox's hosted page, and our service reads it back."""
        import re

        import requests

        from billing.services import complete_card_setup, start_card_setup

        url = start_card_setup(
            retailer=retailer,
            success_url="http://testserver/done?session_id={CHECKOUT_SESSION_ID}",
            cancel_url="http://testserver/cancel",
        )
        answer = requests.post(url, data={"cardnumber": number}, allow_redirects=False, timeout=10)
        assert answer.status_code == 303, answer.text
        session_id = re.search(r"session_id=(cs_[A-Za-z0-9_]+)", answer.headers["Location"])[1]
        complete_card_setup(retailer=retailer, session_id=session_id)
        retailer.refresh_from_db()
        return retailer

    def connect_supplier(self, supplier, *, complete: bool = True):
        """Onboard a supplier through our service and the sandbox's hosted onboarding page."""
        import requests

        from billing.services import refresh_connected_account, start_payout_onboarding

        url = start_payout_onboarding(
            supplier=supplier,
            return_url="http://testserver/return",
            refresh_url="http://testserver/refresh",
        )
        if complete:
            answer = requests.post(
                url,
                data={"business_name": supplier.company_name},
                allow_redirects=False,
                timeout=10,
            )
            assert answer.status_code == 303, answer.text
        account = refresh_connected_account(supplier=supplier)
        supplier.refresh_from_db()
        return account

    def deliver(self, client, event: dict):
        """POST one event to its endpoint exactly as the sandbox signs it: /webhooks/stripe/, or
        /webhooks/stripe/connect/ for an event of a connected account."""
        body, headers = self.app.signed_delivery(event)
        return client.post(
            "/webhooks/stripe/connect/"
            if self.app.is_connect_event(event)
            else "/webhooks/stripe/",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"],
        )


@pytest.fixture
def stripe_sandbox(settings):
    from billing.webhooks import HANDLED_EVENT_TYPES

    app = StripeSandbox(
        secret_key=settings.STRIPE_SECRET_KEY,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        connect_webhook_secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET,
        platform_country=settings.STRIPE_PLATFORM_COUNTRY,
        enabled_events=list(HANDLED_EVENT_TYPES),
        clock=FakeClock(),
    )
    server = SandboxServer(app).start()
    app.base_url = server.base_url
    settings.STRIPE_API_BASE = server.base_url
    try:
        yield StripeHandle(app, server)
    finally:
        server.stop()


@dataclass
class CarrierHandle(RunningSandbox):
    """The carrier-tracking sandbox; settings.TRACKING_API_BASE / TRACKING_API_KEY point at it.
    Its webhooks are not posted anywhere by themselves: `deliver` POSTs one to the test client."""

    clock: FakeClock | None = None

    def tracker_for(self, shipment) -> str:
        shipment.refresh_from_db()
        assert shipment.tracker_id, "the shipment has no tracker"
        return shipment.tracker_id

    def deliver(self, client, tracker_id: str):
        """POST the tracker's current state to /webhooks/tracking/ exactly as the sandbox signs it."""
        body, headers = self.app.signed_event(tracker_id)
        return client.post(
            "/webhooks/tracking/",
            data=body,
            content_type="application/json",
            HTTP_X_HMAC_SIGNATURE=headers["X-Hmac-Signature"],
        )


@pytest.fixture
def carrier_sandbox(settings):
    clock = FakeClock()
    app = CarrierSandbox(
        api_key="ek_test_dropship_sandbox",
        webhook_secret=settings.TRACKING_WEBHOOK_SECRET,
        step_seconds=3600,
        clock=clock,
    )
    server = SandboxServer(app).start()
    settings.TRACKING_API_BASE = server.base_url + "/v2"
    settings.TRACKING_API_KEY = "ek_test_dropship_sandbox"
    try:
        yield CarrierHandle(app, server, clock)
    finally:
        server.stop()


@pytest.fixture
def rates_sandbox(settings):
    """The exchange-rates provider (Frankfurter's v1 shape); EXCHANGE_RATES_API_BASE points here."""
    app = RatesSandbox()
    server = SandboxServer(app).start()
    settings.EXCHANGE_RATES_API_BASE = server.base_url + "/v1"
    try:
        yield RunningSandbox(app, server)
    finally:
        server.stop()
