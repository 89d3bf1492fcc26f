"""`get_store_client(store=...)`: the one way domain code reaches a store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.base import OrderWebhookParser, StoreAuthError, StoreClient
from integrations.shopify.client import ShopifyClient
from integrations.shopify.webhooks import ShopifyOrderWebhooks
from integrations.woocommerce.client import WooCommerceClient
from integrations.woocommerce.webhooks import WooCommerceOrderWebhooks

if TYPE_CHECKING:
    from retailers.models import Store


class _WatchedClient:
    """Delegates to the platform client; a 401/403 marks the store as needing reconnection
    (the retailer is told on the stores page and by email) before the error goes on up."""

    def __init__(self, client: Any, store: Store) -> None:
        self._client = client
        self._store = store

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attribute(*args, **kwargs)
            except StoreAuthError as exc:
                from retailers.services import mark_store_needs_reconnect

                mark_store_needs_reconnect(store=self._store, reason=str(exc))
                raise

        return call


def build_platform_client(*, store: Store) -> ShopifyClient | WooCommerceClient:
    """The bare vendor client for a store's credentials (no 401 handling)."""
    credentials = store.credentials or {}
    if store.platform == store.Platform.SHOPIFY:
        if not credentials.get("access_token"):
            raise StoreAuthError(f"{store.name} has no Shopify access token; reconnect it.")
        return ShopifyClient(
            shop_domain=store.domain,
            access_token=credentials["access_token"],
            location_id=store.location_id,
        )
    if store.platform == store.Platform.WOOCOMMERCE:
        if not credentials.get("consumer_key") or not credentials.get("consumer_secret"):
            raise StoreAuthError(f"{store.name} has no WooCommerce API keys; reconnect it.")
        return WooCommerceClient(
            url=store.domain,
            consumer_key=credentials["consumer_key"],
            consumer_secret=credentials["consumer_secret"],
            webhook_secret=store.webhook_secret,
        )
    raise StoreAuthError(f"{store.get_platform_display()} stores are not called by Dropship.")


def get_store_client(*, store: Store) -> StoreClient:
    return _WatchedClient(build_platform_client(store=store), store)  # type: ignore[return-value]


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
