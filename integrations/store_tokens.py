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
            return self._refresh(seen=token)
        return token

    def renew(self, *, rejected: str) -> str:
        return self._refresh(seen=rejected)

    def _refresh(self, *, seen: str) -> str:
        with transaction.atomic():
            row = Store.objects.select_for_update().only("pk", "credentials").get(pk=self.store.pk)
            credentials: dict[str, Any] = dict(row.credentials or {})
            now = self.clock()
            stored = str(credentials.get("access_token") or "")
            if stored and stored != seen and not is_due(credentials, now=now, margin=0):
                # Another worker renewed it while we waited for the lock (or before we read).
                self.store.credentials = credentials
                return stored
            refresh_token = str(credentials.get("refresh_token") or "")
            if not refresh_token:
                raise oauth.RefreshRefusedError(ACCESS_REFUSED_MESSAGE, status_code=401)
            expires_at = credentials.get("refresh_token_expires_at")
            if expires_at is not None and float(expires_at) <= now:
                raise oauth.RefreshRefusedError(
                    "Shopify's refresh token for this store ran out (unused for 90 days): "
                    "reconnect the store.",
                    status_code=401,
                )
            grant = oauth.refresh_access_token(
                shop=self.store.domain,
                refresh_token=refresh_token,
                scope=str(credentials.get("scope") or ""),
                now=now,
            )
            credentials.update(grant.as_credentials())
            Store.objects.filter(pk=row.pk).update(
                credentials=credentials, updated_at=timezone.now()
            )
        self.store.credentials = credentials
        return grant.access_token
