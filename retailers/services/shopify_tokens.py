"""The periodic Shopify token job: keeps idle stores' tokens alive and moves stores still on a
non-expiring offline token to an expiring one.

A store that makes no Shopify call for the refresh token's lifetime (90 days) would lose it and
need reconnecting, so each pair is renewed once its refresh token is within
SHOPIFY_REFRESH_TOKEN_RENEW_WINDOW_SECONDS of running out. A store connected before we asked for
expiring tokens holds a non-expiring one that Shopify stops honouring on 2027-01-01; it is
exchanged once (Shopify's token exchange). Both go through the client's row-locked renewal
(integrations.store_tokens), which re-reads the row under the lock: a second run, or a worker
that renewed meanwhile, finds nothing left to do.

`Store.tokens_due_at` says when a store needs looking at; each run takes at most
SHOPIFY_TOKEN_UPKEEP_BATCH due stores, oldest first, and makes no waits. A refused refresh marks
the store NEEDS_RECONNECT with Shopify's reason (as a refused call does); a refused migration
leaves the old token in place (it works until the cutoff), keeps the reason in
`Store.token_migration_error` for platform admins (the store admin lists and warns about them)
and is tried again a day later; a temporary failure is tried again at a later run.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import Counter

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from dropship.core.audit import record_audit
from integrations.base import StorePermanentError, StoreTemporaryError
from integrations.shopify.oauth import MigrationRefusedError, RefreshRefusedError
from integrations.store_tokens import StoreAccessTokens, needs_migration, next_check_at
from retailers.models import Store
from retailers.services.stores import mark_store_needs_reconnect

logger = logging.getLogger("retailers.services")

RETRY_LATER_SECONDS = 15 * 60  # Shopify was unreachable or answered 429/5xx
RETRY_MIGRATION_SECONDS = 24 * 60 * 60  # Shopify refused the exchange


def _moment(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)


def due_shopify_stores(*, now: float, limit: int) -> list[Store]:
    """Connected Shopify stores whose tokens need looking at, never looked at first."""
    return list(
        Store.objects.filter(platform=Store.Platform.SHOPIFY, status=Store.Status.CONNECTED)
        .filter(Q(tokens_due_at__isnull=True) | Q(tokens_due_at__lte=_moment(now)))
        .select_related("retailer")
        .order_by(F("tokens_due_at").asc(nulls_first=True), "pk")[:limit]
    )


def keep_shopify_tokens_alive(
    *, now: float | None = None, limit: int | None = None
) -> dict[str, int]:
    """One run of the job: how many stores ended each way (renewed, migrated, unchanged,
    needs_reconnect, migration_refused, later)."""
    now = time.time() if now is None else now
    limit = int(settings.SHOPIFY_TOKEN_UPKEEP_BATCH) if limit is None else limit
    window = float(settings.SHOPIFY_REFRESH_TOKEN_RENEW_WINDOW_SECONDS)
    outcomes: Counter[str] = Counter()
    for store in due_shopify_stores(now=now, limit=limit):
        outcomes[keep_store_tokens_alive(store=store, now=now, window=window)] += 1
    return dict(outcomes)


def keep_store_tokens_alive(*, store: Store, now: float, window: float) -> str:
    """Renew or migrate one store's token if it needs it; the outcome's name."""
    tokens = StoreAccessTokens(store, clock=lambda: now)
    migrating = needs_migration(store.credentials or {})
    changes: dict[str, object] = {}
    try:
        if migrating:
            asked = tokens.migrate()
            outcome = "migrated" if asked else "unchanged"
            changes["token_migration_error"] = ""
        else:
            asked = tokens.renew_idle(window=window)
            outcome = "renewed" if asked else "unchanged"
    except RefreshRefusedError as exc:
        mark_store_needs_reconnect(store=store, reason=str(exc))
        return "needs_reconnect"
    except MigrationRefusedError as exc:
        logger.warning("Shopify store %s: token migration refused: %s", store.pk, exc)
        Store.objects.filter(pk=store.pk).update(
            token_migration_error=str(exc)[:500],
            tokens_due_at=_moment(now + RETRY_MIGRATION_SECONDS),
            updated_at=timezone.now(),
        )
        record_audit(
            actor=None,
            action="store.token_migration_refused",
            target=store,
            summary=str(exc),
        )
        return "migration_refused"
    except (StoreTemporaryError, StorePermanentError) as exc:
        logger.warning("Shopify store %s: token upkeep failed, retrying later: %s", store.pk, exc)
        Store.objects.filter(pk=store.pk).update(tokens_due_at=_moment(now + RETRY_LATER_SECONDS))
        return "later"
    if outcome == "migrated":
        record_audit(
            actor=None,
            action="store.token_migrated",
            target=store,
            summary=f"{store.domain}: non-expiring Shopify token exchanged for an expiring one",
        )
    credentials = tokens.store.credentials or {}
    next_at = next_check_at(credentials, window=window)
    if next_at is None:  # nothing to renew (no token): look again tomorrow
        next_at = now + RETRY_MIGRATION_SECONDS
    Store.objects.filter(pk=store.pk).update(tokens_due_at=_moment(next_at), **changes)
    return outcome
