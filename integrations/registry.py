"""`get_store_client(store=...)`: the one way domain code reaches a store, and each platform's
order-webhook and privacy-request parsers.

A client raises StoreAuthError when the store refuses our credentials (401/403, or none are
stored, or Shopify will not renew an expired token); the caller decides what that means for the
store (retailers marks it for reconnection). A Shopify client renews its store's expiring token
itself (integrations.store_tokens).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings

from integrations import services
from integrations.base import (
    OrderWebhookParser,
    PrivacyRequestParser,
    StoreAuthError,
    StoreClient,
)
from integrations.custom import CustomStoreClient
from integrations.easypost.client import EasyPostTrackingClient
from integrations.easypost.webhooks import EasyPostWebhooks
from integrations.shopify.client import ShopifyClient
from integrations.shopify.webhooks import (
    FULFILLMENT_RELEASE_TOPICS,
    ShopifyOrderWebhooks,
    ShopifyPrivacyWebhooks,
)
from integrations.store_tokens import StoreAccessTokens
from integrations.tracking import TrackingClient, TrackingWebhooks
from integrations.woocommerce.client import WooCommerceClient
from integrations.woocommerce.webhooks import WooCommerceOrderWebhooks

if TYPE_CHECKING:
    from retailers.models import Store


def build_platform_client(*, store: Store) -> ShopifyClient | WooCommerceClient:
    """The vendor client for a store's credentials."""
    credentials = store.credentials or {}
    if store.platform == store.Platform.SHOPIFY:
        if not credentials.get("access_token"):
            raise StoreAuthError(f"{store.name} has no Shopify access token; reconnect it.")
        return ShopifyClient(
            shop_domain=store.domain,
            tokens=StoreAccessTokens(store),
            location_id=store.location_id,
            on_api_version=partial(_record_served_version, store.pk),
        )
    if store.platform == store.Platform.WOOCOMMERCE:
        if not credentials.get("consumer_key") or not credentials.get("consumer_secret"):
            raise StoreAuthError(f"{store.name} has no WooCommerce API keys; reconnect it.")
        return WooCommerceClient(
            url=store.domain,
            consumer_key=credentials["consumer_key"],
            consumer_secret=credentials["consumer_secret"],
            webhook_secret=store.webhook_secret,
            auth_method=str(credentials.get("auth_method") or ""),
            on_auth_method=partial(_remember_auth_method, store),
        )
    raise StoreAuthError(f"{store.get_platform_display()} stores are not called by Dropship.")


def _remember_auth_method(store: Store, method: str) -> None:
    """Keep the WooCommerce authentication that got through (Basic auth or the keys in the query
    string) in the store's credentials, so its next client starts with it."""
    credentials = {**(store.credentials or {}), "auth_method": method}
    type(store).objects.filter(pk=store.pk).update(credentials=credentials)
    store.credentials = credentials


def _record_served_version(store_id: int, requested: str, served: str) -> None:
    services.record_served_api_version(store_id=store_id, requested=requested, served=served)


def get_store_client(*, store: Store) -> StoreClient:
    """A custom store gets the client that calls nobody (integrations.custom): listing into it
    records Dropship ids; every other platform gets its vendor client."""
    if store.platform == store.Platform.CUSTOM:
        return CustomStoreClient(name=store.name, currency=store.currency)
    return build_platform_client(store=store)


# Keyed by platform (the same words as Store.Platform and InboundWebhook.Source).
_ORDER_WEBHOOK_PARSERS: dict[str, OrderWebhookParser] = {
    "SHOPIFY": ShopifyOrderWebhooks(),
    "WOOCOMMERCE": WooCommerceOrderWebhooks(),
}


def order_webhook_platforms() -> tuple[str, ...]:
    """The platforms whose order webhooks we read."""
    return tuple(_ORDER_WEBHOOK_PARSERS)


def get_order_webhook_parser(*, platform: str) -> OrderWebhookParser:
    """The platform's order-webhook reader: no store, no credentials (parsing calls nobody)."""
    return _ORDER_WEBHOOK_PARSERS[str(platform)]


# Only Shopify sends privacy requests (its mandatory GDPR topics).
_PRIVACY_REQUEST_PARSERS: dict[str, PrivacyRequestParser] = {
    "SHOPIFY": ShopifyPrivacyWebhooks(),
}


def privacy_request_platforms() -> tuple[str, ...]:
    """The platforms that send privacy requests."""
    return tuple(_PRIVACY_REQUEST_PARSERS)


def get_privacy_request_parser(*, platform: str) -> PrivacyRequestParser:
    """The platform's privacy-request reader: no store, no credentials (parsing calls nobody)."""
    return _PRIVACY_REQUEST_PARSERS[str(platform)]


# Topics saying the store released lines it held from fulfilment, by platform.
_FULFILLMENT_RELEASE_TOPICS: dict[str, tuple[str, ...]] = {
    "SHOPIFY": FULFILLMENT_RELEASE_TOPICS,
}


def fulfillment_release_topics() -> dict[str, tuple[str, ...]]:
    """{platform: topics} announcing that held fulfilments can be sent again."""
    return dict(_FULFILLMENT_RELEASE_TOPICS)


def is_tracking_enabled() -> bool:
    """Whether a tracking provider is configured (TRACKING_API_KEY); without one, parcels are
    followed only by what suppliers report."""
    return bool(settings.TRACKING_API_KEY and settings.TRACKING_API_BASE)


def get_tracking_client() -> TrackingClient:
    """The carrier-tracking provider's client (EasyPost's Trackers API, or its sandbox)."""
    return EasyPostTrackingClient(
        base_url=settings.TRACKING_API_BASE, api_key=settings.TRACKING_API_KEY
    )


def get_tracking_webhooks() -> TrackingWebhooks:
    """The provider's webhook verifier and parser, keyed with TRACKING_WEBHOOK_SECRET."""
    return EasyPostWebhooks(secret=settings.TRACKING_WEBHOOK_SECRET)
