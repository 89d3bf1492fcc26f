"""Shopify OAuth (authorization code grant) for installing our app on a shop.

The query HMAC is computed with the ShopifyAPI package's own `Session.calculate_hmac`, so our
check is Shopify's published algorithm, not a copy of it.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import shopify
from django.conf import settings
from shopify.utils import shop_url

from dropship.core.errors import DomainError, PermanentError, TemporaryError
from integrations.base import StorePermanentError, StoreTemporaryError
from integrations.safe_http import safe_request
from integrations.shopify.client import shop_base_url

MAX_CALLBACK_AGE_SECONDS = 24 * 60 * 60  # ShopifyAPI's Session.validate_params window
MAX_CLOCK_SKEW_SECONDS = 5 * 60


class OAuthCallbackError(DomainError):
    pass


def normalise_shop_domain(text: str) -> str:
    """`maple` or `https://maple.myshopify.com/` -> `maple.myshopify.com`; anything else refused."""
    domain: str | None = shop_url.sanitize_shop_domain((text or "").strip().rstrip("/"))
    if not domain:
        raise DomainError(
            "Enter your shop's myshopify.com address, for example maple-and-co.myshopify.com.",
            field="shop",
        )
    return domain


def _session_class() -> type[shopify.Session]:
    """A Session subclass bound to our app's key and secret (no global state is changed)."""
    return type(
        "DropshipShopifySession",
        (shopify.Session,),
        {"api_key": settings.SHOPIFY_API_KEY, "secret": settings.SHOPIFY_API_SECRET},
    )


def calculate_hmac(params: dict[str, str]) -> str:
    digest: str = _session_class().calculate_hmac(params)
    return digest


def authorize_url(*, shop: str, state: str, redirect_uri: str) -> str:
    query = {
        "client_id": settings.SHOPIFY_API_KEY,
        "scope": ",".join(settings.SHOPIFY_SCOPES),
        "redirect_uri": redirect_uri,
        "state": state,
    }
    return f"{shop_base_url(shop)}/admin/oauth/authorize?{urlencode(query)}"


@dataclass(frozen=True)
class CallbackParams:
    shop: str
    code: str


def verify_callback(
    params: dict[str, str], *, expected_state: str, now: float | None = None
) -> CallbackParams:
    """Check the redirect Shopify sent back: state nonce, HMAC of the query, timestamp, shop."""
    if params.get("error"):
        raise OAuthCallbackError(
            "The installation was cancelled in Shopify; nothing was connected."
        )
    if not expected_state or not hmac.compare_digest(
        str(params.get("state", "")), str(expected_state)
    ):
        raise OAuthCallbackError(
            "This Shopify sign-in link does not belong to your session (its state does not "
            "match). Start the connection again."
        )
    sent = str(params.get("hmac", ""))
    if not sent or not hmac.compare_digest(calculate_hmac(params), sent):
        raise OAuthCallbackError(
            "Shopify's signature on this request is not valid; nothing was stored."
        )
    try:
        timestamp = int(params.get("timestamp", "0"))
    except ValueError:
        timestamp = 0
    now = time.time() if now is None else now
    if timestamp < now - MAX_CALLBACK_AGE_SECONDS or timestamp > now + MAX_CLOCK_SKEW_SECONDS:
        raise OAuthCallbackError(
            "This Shopify sign-in link has expired. Start the connection again."
        )
    shop = shop_url.sanitize_shop_domain(params.get("shop", ""))
    if not shop or not params.get("code"):
        raise OAuthCallbackError("Shopify did not say which shop was installed.")
    return CallbackParams(shop=shop, code=str(params["code"]))


def exchange_code(*, shop: str, code: str) -> tuple[str, str]:
    """Trade the one-time code for an offline access token: (token, granted scopes)."""
    try:
        response = safe_request(
            "POST",
            f"{shop_base_url(shop)}/admin/oauth/access_token",
            json={
                "client_id": settings.SHOPIFY_API_KEY,
                "client_secret": settings.SHOPIFY_API_SECRET,
                "code": code,
            },
            headers={"Accept": "application/json"},
        )
    except TemporaryError as exc:
        raise StoreTemporaryError(
            f"Could not reach Shopify to finish the connection: {exc}"
        ) from exc
    except PermanentError as exc:
        raise StorePermanentError(str(exc)) from exc
    if response.status_code != 200:
        raise StorePermanentError(
            f"Shopify refused to issue an access token ({response.status_code}).",
            status_code=response.status_code,
        )
    body = response.json()
    token = body.get("access_token")
    if not token:
        raise StorePermanentError("Shopify's answer had no access token.")
    return token, str(body.get("scope", ""))
