"""Connecting a store, as the retailers app asks for it: prove the credentials with a real call,
register our webhooks, and hand back what to keep. Platform clients, Shopify's OAuth and the
shape of the stored credentials stay here; every call raises the Store*Errors of `base`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.base import StoreInfo, StorePermanentError, StoreTemporaryError
from integrations.shopify.client import ShopifyClient
from integrations.shopify.oauth import (
    OAuthCallbackError,
    TokenGrant,
    exchange_code,
    grant_from_answer,
    verify_callback,
    verify_launch,
)
from integrations.shopify.oauth import authorize_url as shopify_authorize_url
from integrations.shopify.oauth import normalise_shop_domain as normalise_shopify_domain
from integrations.woocommerce.client import WooCommerceClient

__all__ = [
    "CredentialFormatError",
    "OAuthCallbackError",
    "StoreConnection",
    "TokenGrant",
    "WebhookRegistrationError",
    "check_woocommerce_keys",
    "connect_shopify_with_code",
    "connect_shopify_with_token",
    "connect_woocommerce",
    "exchange_code",
    "grant_from_answer",
    "normalise_shopify_domain",
    "shopify_authorize_url",
    "verify_callback",
    "verify_launch",
]


@dataclass(frozen=True)
class StoreConnection:
    """A store that answered: what it told us, and the credentials to keep (with our webhooks'
    ids, which `registry.build_platform_client` and disconnection read back)."""

    info: StoreInfo
    credentials: dict[str, Any]


class WebhookRegistrationError(StorePermanentError):
    """The keys work but the store did not take our webhooks (the cause says why)."""


class CredentialFormatError(StorePermanentError):
    """Credentials that cannot be the platform's, refused before any call; `field` names which."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_woocommerce_keys(*, consumer_key: str, consumer_secret: str) -> None:
    """WooCommerce REST API keys start with ck_ (key) and cs_ (secret): a pasted mix-up is
    refused with the field to fix before the site is called."""
    if not consumer_key.startswith("ck_"):
        raise CredentialFormatError(
            "The consumer key starts with ck_ (WooCommerce › Settings › Advanced › REST API).",
            field="consumer_key",
        )
    if not consumer_secret.startswith("cs_"):
        raise CredentialFormatError("The consumer secret starts with cs_.", field="consumer_secret")


def connect_shopify_with_code(*, shop: str, code: str, callback_url: str) -> StoreConnection:
    """Trade the OAuth callback's one-time code for an expiring token pair, then connect."""
    grant = exchange_code(shop=shop, code=code)
    return connect_shopify_with_token(shop=shop, grant=grant, callback_url=callback_url)


def connect_shopify_with_token(
    *, shop: str, grant: TokenGrant, callback_url: str
) -> StoreConnection:
    client = ShopifyClient(shop_domain=shop, access_token=grant.access_token)
    info = client.verify_connection()
    registrations = client.register_webhooks(callback_url=callback_url)
    return StoreConnection(
        info=info,
        credentials={
            **grant.as_credentials(),
            "webhook_ids": [r.store_webhook_id for r in registrations],
        },
    )


def connect_woocommerce(
    *, url: str, consumer_key: str, consumer_secret: str, webhook_secret: str, callback_url: str
) -> StoreConnection:
    """Prove the REST API keys (StoreAuthError when refused), then (re)create our webhooks,
    signed with `webhook_secret` (WebhookRegistrationError when the store does not take them)."""
    client = WooCommerceClient(
        url=url,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        webhook_secret=webhook_secret,
    )
    info = client.verify_connection()
    try:
        registrations = client.register_webhooks(callback_url=callback_url)
    except (StorePermanentError, StoreTemporaryError) as exc:
        raise WebhookRegistrationError(str(exc)) from exc
    return StoreConnection(
        info=info,
        credentials={
            "consumer_key": consumer_key,
            "consumer_secret": consumer_secret,
            # how the site let us in (over HTTPS: Basic auth, or the keys in the query string)
            "auth_method": client.auth_method,
            "webhook_ids": [r.store_webhook_id for r in registrations],
        },
    )
