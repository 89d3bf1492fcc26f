"""Nothing lost when webhooks are: the periodic order poll and the daily webhook check per store.

`poll_store_orders` lists the store's orders changed since the last change it took in (Shopify
`orders(query: "updated_at:>='…'", sortKey: UPDATED_AT)`, WooCommerce `GET orders?
modified_after=…`), oldest first, page by page, and stores each in the webhook inbox under the
platform's polled topic, keyed by (store, order, content). The inbox runs it through the same
handler and intake as a webhook: an order is created once per store order id (the unique
constraint decides when a webhook and the poll race), and a repeated poll finds its rows. The
watermark moves only after a page is stored; a failure leaves it where it was.

Orders placed after the last webhook the store sent (by more than the time its webhooks take to
arrive) were not heard by webhook: once QUIET_AFTER_ORDERS of them pile up, the store is flagged
(the retailer's stores page, a notification, the admin's filter) with the reason, until a
webhook arrives again.

`check_store_webhooks` (daily) asks the client to re-create missing and re-activate disabled
subscriptions for every topic it registers, and records what it repaired.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Notification
from dropship.accounts.services import notify
from integrations.base import PolledOrder, StoreAuthError, StorePermanentError, StoreTemporaryError
from integrations.registry import get_order_webhook_parser, get_store_client
from integrations.services import receive_webhook
from orders.models import StoreOrderSync
from retailers.models import Store
from retailers.services.stores import reconnect_on_auth_error, store_webhook_url

logger = logging.getLogger(__name__)

POLLED_PLATFORMS = (Store.Platform.SHOPIFY, Store.Platform.WOOCOMMERCE)
PAGES_PER_RUN = 20  # the next run goes on from the watermark
POLL_LEASE = timedelta(minutes=5)
# Shopify shows only the last 60 days of orders without read_all_orders; a first poll starts at
# the store's connection, never earlier than this.
FIRST_POLL_LOOKBACK = timedelta(days=59)
# A webhook moves store.last_webhook_at at most once a minute and takes seconds to arrive: an
# order placed this long after the last webhook, and this long ago, was not heard by webhook.
WEBHOOK_SLACK = timedelta(minutes=2)
QUIET_AFTER_ORDERS = 3
KEPT_UNHEARD = 50


@dataclass(frozen=True)
class PollResult:
    fetched: int = 0
    stored: int = 0  # order changes the inbox did not have yet
    error: str = ""
    is_skipped: bool = False  # another poll of the store is running


def _sync_state(store: Store) -> StoreOrderSync:
    sync, _created = StoreOrderSync.objects.get_or_create(store=store)
    return sync


def _take_poll(sync: StoreOrderSync, now: datetime) -> bool:
    """One poll per store at a time (a second would only repeat the same calls)."""
    return bool(
        StoreOrderSync.objects.filter(pk=sync.pk)
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now))
        .update(poll_lease_until=now + POLL_LEASE)
    )


def _floor(store: Store, now: datetime) -> datetime:
    """Orders placed before the store was connected are not ours to route (a minute of leeway:
    stores give their times to the second, and clocks differ)."""
    connected = store.connected_at or store.created_at
    return max(connected - timedelta(minutes=1), now - FIRST_POLL_LOOKBACK)


def poll_store_orders(*, store: Store, now: datetime | None = None) -> PollResult:
    """Feed the store's orders changed since the watermark through the inbox, page by page."""
    now = now or timezone.now()
    sync = _sync_state(store)
    if not _take_poll(sync, now):
        return PollResult(is_skipped=True)
    parser = get_order_webhook_parser(platform=store.platform)
    floor = _floor(store, now)
    since = sync.watermark or floor
    fetched = stored = 0
    unheard: list[PolledOrder] = []
    error = ""
    cursor = ""
    try:
        with reconnect_on_auth_error(store=store):
            client = get_store_client(store=store)
            for _page in range(PAGES_PER_RUN):
                page = client.list_orders_updated_since(since=since, cursor=cursor)
                fetched += len(page.orders)
                with transaction.atomic():
                    for polled in page.orders:
                        if polled.created_at < floor:
                            continue
                        body = json.dumps(polled.payload, sort_keys=True).encode()
                        _webhook, created = receive_webhook(
                            source=store.platform,
                            topic=parser.polled_topic,
                            # Per content, not per updated_at: two changes within the store's
                            # one-second precision are two rows, a repeated page is none.
                            dedup_key=f"poll:{store.pk}:{polled.store_order_id}:"
                            f"{hashlib.sha256(body).hexdigest()[:32]}",
                            body=body,
                            headers={},
                            store=store,
                            is_delivery=False,
                        )
                        stored += int(created)
                        if _is_unheard(store, polled, now):
                            unheard.append(polled)
                    if page.orders:
                        _advance(sync, max(p.updated_at for p in page.orders))
                if not page.cursor:
                    break
                cursor = page.cursor
    except StoreAuthError as exc:
        error = f"The store refused our access: {exc}"
    except StoreTemporaryError as exc:
        error = f"The store did not answer; the next poll goes on from here ({exc})."
    except StorePermanentError as exc:
        error = f"The store refused the order list: {exc}"
    StoreOrderSync.objects.filter(pk=sync.pk).update(
        poll_lease_until=None,
        last_polled_at=now,
        last_poll_error=error[:2000],
        updated_at=timezone.now(),
    )
    if stored:
        StoreOrderSync.objects.filter(pk=sync.pk).update(orders_found=sync.orders_found + stored)
    _judge_webhooks(store=store, sync_id=sync.pk, unheard=unheard, now=now)
    if error:
        logger.warning("Order poll of store %s: %s", store.pk, error)
    return PollResult(fetched=fetched, stored=stored, error=error)


def _advance(sync: StoreOrderSync, newest: datetime) -> None:
    """Forward only: a slower poll running late never moves the watermark back."""
    StoreOrderSync.objects.filter(pk=sync.pk).filter(
        Q(watermark__isnull=True) | Q(watermark__lt=newest)
    ).update(watermark=newest)


def _is_unheard(store: Store, polled: PolledOrder, now: datetime) -> bool:
    if polled.created_at > now - WEBHOOK_SLACK:
        return False  # its webhook may still be on its way
    heard = store.last_webhook_at
    return heard is None or polled.created_at > heard + WEBHOOK_SLACK


def _judge_webhooks(
    *, store: Store, sync_id: int, unheard: list[PolledOrder], now: datetime
) -> None:
    """Flag the store once enough orders were found only by the poll; clear the flag (and the
    count) once a webhook came in after the flag was raised."""
    with transaction.atomic():
        sync = StoreOrderSync.objects.select_for_update().get(pk=sync_id)
        store.refresh_from_db(fields=["last_webhook_at"])
        heard = store.last_webhook_at
        ids: list[str] = list(sync.unheard_order_ids or [])
        if sync.webhooks_quiet_since and heard and heard > sync.webhooks_quiet_since:
            sync.webhooks_quiet_since = None
            sync.quiet_reason = ""
            ids = []
        for polled in unheard:
            if polled.store_order_id not in ids:
                ids.append(polled.store_order_id)
        sync.unheard_order_ids = ids[-KEPT_UNHEARD:]
        is_newly_quiet = sync.webhooks_quiet_since is None and len(ids) >= QUIET_AFTER_ORDERS
        if is_newly_quiet:
            sync.webhooks_quiet_since = now
            last = f"the last one came {heard:%Y-%m-%d %H:%M} UTC" if heard else "none ever came"
            sync.quiet_reason = (
                f"{len(ids)} orders placed in {store.name} reached Dropship only through the "
                f"periodic order check, not by webhook ({last}). Dropship routes them all the "
                "same, minutes later; it re-registers the store's webhooks daily. If this stays, "
                "check the webhooks in the store's admin or reconnect the store."
            )[:500]
        sync.save(
            update_fields=[
                "unheard_order_ids",
                "webhooks_quiet_since",
                "quiet_reason",
                "updated_at",
            ]
        )
    if is_newly_quiet:
        notify(
            organisation=store.retailer,
            kind="store_webhooks_quiet",
            message=f"{store.name}'s webhooks have gone quiet: {sync.quiet_reason}",
            level=Notification.Level.WARNING,
            url=reverse("retailers:stores"),
        )


def check_store_webhooks(*, store: Store, now: datetime | None = None) -> tuple[str, ...]:
    """Re-create missing and re-activate disabled subscriptions; record what was repaired."""
    now = now or timezone.now()
    sync = _sync_state(store)
    with reconnect_on_auth_error(store=store):
        check = get_store_client(store=store).ensure_webhooks(
            callback_url=store_webhook_url(store=store)
        )
    with transaction.atomic():
        locked = Store.objects.select_for_update().get(pk=store.pk)
        credentials = dict(locked.credentials or {})
        credentials["webhook_ids"] = [r.store_webhook_id for r in check.registrations]
        locked.credentials = credentials
        locked.save(update_fields=["credentials", "updated_at"])
        StoreOrderSync.objects.filter(pk=sync.pk).update(
            webhooks_checked_at=now,
            webhooks_repaired=(
                f"{now:%Y-%m-%d %H:%M} UTC: " + "; ".join(check.repaired) if check.repaired else ""
            )[:500],
            updated_at=timezone.now(),
        )
    if check.repaired:
        logger.warning("Store %s webhooks repaired: %s", store.pk, "; ".join(check.repaired))
    return check.repaired


def list_polled_store_ids() -> list[int]:
    return list(
        Store.objects.filter(
            status=Store.Status.CONNECTED, platform__in=POLLED_PLATFORMS
        ).values_list("pk", flat=True)
    )
