"""A store's Shopify access token, kept alive: renewed shortly before it expires and once after
a 401, with the rotated pair saved so no worker ever loses it.

Shopify's expiring offline tokens last an hour; each refresh answers a new access token AND a
new refresh token, and the old refresh token retires once the new one is used. Two workers that
refreshed at the same moment could each get a pair, and the pair saved last might be the one
Shopify no longer honours: the store would be locked out. So the refresh happens under a row
lock on the store (`select_for_update`): the first worker refreshes and saves the pair before it
commits; a worker that waited re-reads the row, sees a fresh token and uses it instead of
refreshing again. The pair is saved in `Store.credentials` (an encrypted JSON document) in the
same transaction, so it is saved whole or not at all.

A refused refresh (the refresh token expired or was revoked) raises RefreshRefusedError, a
StoreAuthError: callers already turn that into NEEDS_RECONNECT with the reason shown to the
retailer (retailers.services.reconnect_on_auth_error). A temporary failure raises
StoreTemporaryError and changes nothing.

The periodic token job (retailers.services.shopify_tokens) goes through the same lock: it
renews a pair whose refresh token is close to running out (`renew_idle`), and migrates a store
still on a NON-expiring token with Shopify's token exchange (`migrate`). A client that gets a 401
on a non-expiring token tries that exchange too: if a migration's answer was lost, the old token
no longer works, and asking again with it answers the same pair.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.shopify import oauth
from integrations.shopify.client import ACCESS_REFUSED_MESSAGE
from retailers.models import Store


def is_due(credentials: dict[str, Any], *, now: float, margin: float) -> bool:
    """Whether the stored access token expires within `margin` seconds (never, if it does not
    expire or there is nothing to renew it with)."""
    expires_at = credentials.get("access_token_expires_at")
    if expires_at is None or not credentials.get("refresh_token"):
        return False
    return float(expires_at) - margin <= now


def refresh_is_due(credentials: dict[str, Any], *, now: float, window: float) -> bool:
    """Whether the stored refresh token runs out within `window` seconds."""
    expires_at = credentials.get("refresh_token_expires_at")
    if expires_at is None or not credentials.get("refresh_token"):
        return False
    return float(expires_at) - window <= now


def needs_migration(credentials: dict[str, Any]) -> bool:
    """A non-expiring offline token: an access token with no expiry and no refresh token."""
    return bool(
        credentials.get("access_token")
        and not credentials.get("refresh_token")
        and credentials.get("access_token_expires_at") is None
    )


def next_check_at(credentials: dict[str, Any], *, window: float) -> float | None:
    """When the periodic token job should next look at these credentials (epoch seconds): when
    the refresh token enters the renewal window; None for a token still to be migrated (at once)
    or nothing to keep alive."""
    expires_at = credentials.get("refresh_token_expires_at")
    if credentials.get("refresh_token") and expires_at is not None:
        return float(expires_at) - window
    return None


KEEP, RENEW, MIGRATE = "keep", "renew", "migrate"


class StoreAccessTokens:
    """The `AccessTokens` of a Shopify store row (see integrations.shopify.client)."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        margin: float | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.margin = (
            float(settings.SHOPIFY_TOKEN_REFRESH_MARGIN_SECONDS) if margin is None else margin
        )

    def current(self) -> str:
        credentials = self.store.credentials or {}
        token = str(credentials.get("access_token") or "")
        if is_due(credentials, now=self.clock(), margin=self.margin):
            return self.renew(rejected=token)
        return token

    def renew(self, *, rejected: str) -> str:
        def decide(credentials: dict[str, Any], now: float) -> str:
            stored = str(credentials.get("access_token") or "")
            if stored and stored != rejected and not is_due(credentials, now=now, margin=0):
                return KEEP  # another worker renewed it while we waited for the lock
            return RENEW

        return self._under_lock(decide)[0]

    def renew_idle(self, *, window: float) -> bool:
        """Refresh now if the refresh token runs out within `window` seconds (a store that made
        no call for months would otherwise lose it). Whether Shopify was asked."""

        def decide(credentials: dict[str, Any], now: float) -> str:
            return RENEW if refresh_is_due(credentials, now=now, window=window) else KEEP

        return self._under_lock(decide)[1]

    def migrate(self) -> bool:
        """Exchange a non-expiring offline token for an expiring pair (once: a store that holds
        a refresh token is left alone). Whether Shopify was asked. A refusal raises
        oauth.MigrationRefusedError and the old token stays stored."""

        def decide(credentials: dict[str, Any], now: float) -> str:
            return MIGRATE if needs_migration(credentials) else KEEP

        return self._under_lock(decide)[1]

    def _under_lock(self, decide: Callable[[dict[str, Any], float], str]) -> tuple[str, bool]:
        """Lock the store row, let `decide` choose from the stored credentials, and save a new
        pair in the same transaction: (access token, whether Shopify was asked)."""
        with transaction.atomic():
            row = Store.objects.select_for_update().only("pk", "credentials").get(pk=self.store.pk)
            credentials: dict[str, Any] = dict(row.credentials or {})
            now = self.clock()
            action = decide(credentials, now)
            if action == KEEP:
                self.store.credentials = credentials
                return str(credentials.get("access_token") or ""), False
            if action == MIGRATE:
                grant = oauth.exchange_for_expiring_token(
                    shop=self.store.domain,
                    access_token=str(credentials["access_token"]),
                    now=now,
                )
            else:
                grant = self._refresh_grant(credentials, now=now)
            credentials.update(grant.as_credentials())
            if not credentials.get("scope"):
                credentials["scope"] = str((row.credentials or {}).get("scope") or "")
            Store.objects.filter(pk=row.pk).update(
                credentials=credentials, updated_at=timezone.now()
            )
        self.store.credentials = credentials
        return grant.access_token, True

    def _refresh_grant(self, credentials: dict[str, Any], *, now: float) -> oauth.TokenGrant:
        refresh_token = str(credentials.get("refresh_token") or "")
        if not refresh_token:
            if not needs_migration(credentials):
                raise oauth.RefreshRefusedError(ACCESS_REFUSED_MESSAGE, status_code=401)
            # A non-expiring token refused: if it was exchanged and the answer lost, asking
            # again with it answers the same pair; if it is dead, only a reconnection helps.
            try:
                return oauth.exchange_for_expiring_token(
                    shop=self.store.domain, access_token=str(credentials["access_token"]), now=now
                )
            except oauth.MigrationRefusedError as exc:
                raise oauth.RefreshRefusedError(ACCESS_REFUSED_MESSAGE, status_code=401) from exc
        expires_at = credentials.get("refresh_token_expires_at")
        if expires_at is not None and float(expires_at) <= now:
            raise oauth.RefreshRefusedError(
                "Shopify's refresh token for this store ran out (unused for 90 days): "
                "reconnect the store.",
                status_code=401,
            )
        return oauth.refresh_access_token(
            shop=self.store.domain,
            refresh_token=refresh_token,
            scope=str(credentials.get("scope") or ""),
            now=now,
        )
