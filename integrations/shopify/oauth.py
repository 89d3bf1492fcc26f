"""Shopify OAuth (authorization code grant) for installing our app on a shop, and the refresh
grant that keeps its expiring offline access token alive.

The query HMAC is computed with the ShopifyAPI package's own `Session.calculate_hmac`, so our
check is Shopify's published algorithm, not a copy of it.

Expiring offline tokens (required of public apps from 2027-01-01): the code is exchanged with
`expiring=1`, and Shopify answers `expires_in` (one hour) with a `refresh_token` and its
`refresh_token_expires_in`; `grant_type=refresh_token` at the same endpoint answers a new pair.
Sources: https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens,
https://shopify.dev/changelog/offline-access-tokens-now-support-expiry-and-refresh,
https://shopify.dev/changelog/more-resilient-refreshes-for-expiring-offline-access-tokens.

A store still holding a NON-expiring offline token (connected before we asked for expiring ones)
is migrated with the token exchange grant: subject_token = that token, subject and requested
token types the offline access token type, expiring=1. The old token stops working once
exchanged; sending the same old token again within seven days answers the same pair (until it is
refreshed), so a lost answer is recovered by asking again. Sources:
https://shopify.dev/docs/apps/build/authentication-authorization/migrate-to-expiring-offline-access-tokens,
https://shopify.dev/changelog/more-resilient-token-exchanges-when-migrating-tokens-without-a-user-session.
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
from dropship.core.retry import parse_retry_after
from integrations.base import StoreAuthError, StorePermanentError, StoreTemporaryError
from integrations.safe_http import SafeResponse, safe_request
from integrations.shopify.client import shop_base_url

MAX_CALLBACK_AGE_SECONDS = 24 * 60 * 60  # ShopifyAPI's Session.validate_params window
MAX_CLOCK_SKEW_SECONDS = 5 * 60
# The app URL Shopify opens is signed when the merchant clicks: an older link is refused.
MAX_LAUNCH_AGE_SECONDS = 10 * 60


class OAuthCallbackError(DomainError):
    pass


TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a grant type, not a secret
OFFLINE_ACCESS_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"  # noqa: S105 - a token type


class MigrationRefusedError(StorePermanentError):
    """Shopify would not exchange a non-expiring offline token for an expiring one. Not an auth
    error: the old token may well still work (until Shopify's 2027-01-01 cutoff)."""


class RefreshRefusedError(StoreAuthError):
    """Shopify would not renew the access token: the refresh token expired or was revoked, so
    only the merchant can restore access (by reconnecting the store)."""


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint answered. The expiries are epoch seconds, None when the token
    does not expire (a non-expiring offline token, or a custom app's)."""

    access_token: str
    scope: str
    expires_at: float | None = None
    refresh_token: str = ""
    refresh_token_expires_at: float | None = None

    def as_credentials(self) -> dict[str, object]:
        """The keys this grant sets in Store.credentials (an encrypted JSON document)."""
        return {
            "access_token": self.access_token,
            "scope": self.scope,
            "access_token_expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "refresh_token_expires_at": self.refresh_token_expires_at,
        }


def normalise_shop_domain(text: str) -> str:
    """`maple` or `https://maple.myshopify.com/` -> `maple.myshopify.com`; anything else refused."""
    try:
        domain: str | None = shop_url.sanitize_shop_domain((text or "").strip().rstrip("/"))
    except ValueError:  # urllib refuses it (an unbalanced "[" reads as a broken IPv6 address)
        domain = None
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


def _check_signed(params: dict[str, str], *, now: float, max_age: float, expired: str) -> str:
    """The HMAC of the query (constant-time), the timestamp's age, then the shop: the shop."""
    sent = str(params.get("hmac", ""))
    if not sent or not hmac.compare_digest(calculate_hmac(params), sent):
        raise OAuthCallbackError(
            "Shopify's signature on this request is not valid; nothing was stored."
        )
    try:
        timestamp = int(params.get("timestamp", "0"))
    except ValueError:
        timestamp = 0
    if timestamp < now - max_age or timestamp > now + MAX_CLOCK_SKEW_SECONDS:
        raise OAuthCallbackError(expired)
    shop: str | None = shop_url.sanitize_shop_domain(params.get("shop", ""))
    if not shop:
        raise OAuthCallbackError("Shopify did not say which myshopify.com shop this is.")
    return shop


def verify_launch(params: dict[str, str], *, now: float | None = None) -> str:
    """Check the request Shopify sends to the app URL when a merchant installs or opens the app
    (`shop`, `host`, `timestamp`, `hmac`): HMAC of the query, a fresh timestamp, a myshopify.com
    shop. Returns the shop. shopify.dev "Implement authorization code grant manually", step 1:
    https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant
    """
    return _check_signed(
        params,
        now=time.time() if now is None else now,
        max_age=MAX_LAUNCH_AGE_SECONDS,
        expired="This link from Shopify has expired. Open Dropship from your Shopify admin again.",
    )


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
    shop = _check_signed(
        params,
        now=time.time() if now is None else now,
        max_age=MAX_CALLBACK_AGE_SECONDS,
        expired="This Shopify sign-in link has expired. Start the connection again.",
    )
    if not params.get("code"):
        raise OAuthCallbackError("Shopify did not say which shop was installed.")
    return CallbackParams(shop=shop, code=str(params["code"]))


def _seconds(value: object) -> float | None:
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def grant_from_answer(body: dict[str, object], *, now: float, scope: str = "") -> TokenGrant:
    """A token endpoint's JSON answer (access_token, scope, and for an expiring token expires_in,
    refresh_token, refresh_token_expires_in) as a TokenGrant, its lifetimes counted from `now`."""
    token = body.get("access_token")
    if not token:
        raise StorePermanentError("Shopify's answer had no access token.")
    expires_in = _seconds(body.get("expires_in"))
    refresh_expires_in = _seconds(body.get("refresh_token_expires_in"))
    return TokenGrant(
        access_token=str(token),
        scope=str(body.get("scope") or scope),
        expires_at=None if expires_in is None else now + expires_in,
        refresh_token=str(body.get("refresh_token") or ""),
        refresh_token_expires_at=None if refresh_expires_in is None else now + refresh_expires_in,
    )


def _post_token_endpoint(shop: str, payload: dict[str, object], *, doing: str) -> SafeResponse:
    try:
        return safe_request(
            "POST",
            f"{shop_base_url(shop)}/admin/oauth/access_token",
            json={
                "client_id": settings.SHOPIFY_API_KEY,
                "client_secret": settings.SHOPIFY_API_SECRET,
                **payload,
            },
            headers={"Accept": "application/json"},
        )
    except TemporaryError as exc:
        raise StoreTemporaryError(f"Could not reach Shopify to {doing}: {exc}") from exc
    except PermanentError as exc:
        raise StorePermanentError(str(exc)) from exc


def exchange_code(*, shop: str, code: str, now: float | None = None) -> TokenGrant:
    """Trade the one-time code for an expiring offline access token and its refresh token."""
    now = time.time() if now is None else now
    response = _post_token_endpoint(
        shop, {"code": code, "expiring": 1}, doing="finish the connection"
    )
    if response.status_code != 200:
        raise StorePermanentError(
            f"Shopify refused to issue an access token ({response.status_code}).",
            status_code=response.status_code,
        )
    return grant_from_answer(response.json(), now=now)


def _refusal_detail(response: SafeResponse) -> str:
    """Shopify's error_description of a refusal, or its status code."""
    try:
        detail = str(response.json().get("error_description") or "").rstrip(".")
    except (ValueError, AttributeError):
        detail = ""
    return detail or str(response.status_code)


def _raise_if_busy(response: SafeResponse, *, doing: str) -> None:
    """A 429 or 5xx from the token endpoint: nothing was refused, try again later."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise StoreTemporaryError(
            f"Shopify could not {doing} just now ({status}).",
            retry_after=parse_retry_after(response.headers, default=5.0),
        )


def refresh_access_token(
    *, shop: str, refresh_token: str, scope: str = "", now: float | None = None
) -> TokenGrant:
    """The refresh grant: a new access token and a new refresh token (which replaces this one).
    A refused refresh token raises RefreshRefusedError; a network fault, 429 or 5xx raises
    StoreTemporaryError (the refresh token is still good: try again later)."""
    now = time.time() if now is None else now
    response = _post_token_endpoint(
        shop,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        doing="renew the access token",
    )
    status = response.status_code
    _raise_if_busy(response, doing="renew the access token")
    if status != 200:
        raise RefreshRefusedError(
            f"Shopify refused to renew our access ({_refusal_detail(response)})"
            + ": the app's access has expired or was revoked. Reconnect the store.",
            status_code=status,
        )
    return grant_from_answer(response.json(), now=now, scope=scope)


def exchange_for_expiring_token(
    *, shop: str, access_token: str, now: float | None = None
) -> TokenGrant:
    """Migrate a non-expiring offline token: the token exchange grant answers an expiring pair
    (and the old token stops working). A refusal raises MigrationRefusedError; a network fault,
    429 or 5xx raises StoreTemporaryError (ask again with the same old token: Shopify answers
    the same pair for seven days)."""
    now = time.time() if now is None else now
    response = _post_token_endpoint(
        shop,
        {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": access_token,
            "subject_token_type": OFFLINE_ACCESS_TOKEN_TYPE,
            "requested_token_type": OFFLINE_ACCESS_TOKEN_TYPE,
            "expiring": 1,
        },
        doing="exchange the store's token for an expiring one",
    )
    status = response.status_code
    _raise_if_busy(response, doing="exchange the token")
    if status != 200:
        raise MigrationRefusedError(
            "Shopify refused to exchange the store's non-expiring token for an expiring one "
            f"({_refusal_detail(response)})",
            status_code=status,
        )
    grant = grant_from_answer(response.json(), now=now)
    if not grant.refresh_token:
        raise MigrationRefusedError("Shopify's token exchange answered no refresh token.")
    return grant
