"""Shopper data is kept only as long as the order needs it (GDPR storage limitation).

For every store type (Shopify, WooCommerce, custom) an order's shopper name, email and shipping
address (with its phone) are erased by the same `orders.privacy.redact_orders` that answers
Shopify's customers/redact, once the order is over:
- delivered: `SHOPPER_DATA_RETENTION_DAYS` after the last delivery plus the return window
  (`RETURN_WINDOW_DAYS`), when a return may still need the address;
- no delivery date (shipped without a delivery scan, or cancelled): after the last shipment or
  the cancellation plus `SHOPPER_DATA_UNDELIVERED_DAYS`.
Orders still open, or with a return or dispute still open, are left alone. The bodies of the
store's processed webhooks (which carry the same data) are blanked once they are older than the
longest of those windows.

The beat task runs this in batches of `SHOPPER_DATA_PURGE_BATCH` orders, each its own transaction,
and skips orders already erased, so it is safe to run twice or concurrently (rows are locked).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from dropship.core.audit import record_audit
from integrations.models import InboundWebhook
from orders.models import Dispute, Order, ReturnRequest
from orders.privacy import redact_orders
from retailers.models import Store

OPEN_RETURNS = list(ReturnRequest.OPEN_STATUSES)


@dataclass(frozen=True)
class PurgeResult:
    orders: int
    webhooks: int


def purge_cutoffs(*, now: datetime) -> tuple[datetime, datetime]:
    """(delivered before, ended before): orders delivered before the first or shipped/cancelled
    without a delivery date before the second are due."""
    delivered_before = now - timedelta(
        days=settings.RETURN_WINDOW_DAYS + settings.SHOPPER_DATA_RETENTION_DAYS
    )
    ended_before = now - timedelta(days=settings.SHOPPER_DATA_UNDELIVERED_DAYS)
    return delivered_before, ended_before


def orders_due_for_purge(*, now: datetime) -> QuerySet[Order]:
    delivered_before, ended_before = purge_cutoffs(now=now)
    finished = [Order.Status.SHIPPED, Order.Status.DELIVERED]
    return (
        Order.objects.filter(is_redacted=False)
        .annotate(
            last_delivered=Max("supplier_orders__delivered_at"),
            last_shipped=Max("supplier_orders__shipped_at"),
            ended=Coalesce("cancelled_at", "updated_at"),
        )
        .filter(
            Q(
                status__in=finished,
                last_delivered__lt=delivered_before,
                last_shipped__lt=delivered_before,
            )
            | Q(status__in=finished, last_delivered__isnull=True, last_shipped__lt=ended_before)
            | Q(status=Order.Status.CANCELLED, ended__lt=ended_before)
        )
        .exclude(
            Exists(
                ReturnRequest.objects.filter(
                    supplier_order__order=OuterRef("pk"), status__in=OPEN_RETURNS
                )
            )
        )
        .exclude(
            Exists(
                Dispute.objects.filter(
                    supplier_order__order=OuterRef("pk"), status__in=Dispute.OPEN_STATUSES
                )
            )
        )
        .order_by("pk")
    )


@transaction.atomic
def _purge_batch(*, order_ids: list[int]) -> int:
    orders = list(
        Order.objects.select_for_update(of=("self",))
        .filter(pk__in=order_ids, is_redacted=False)
        .select_related("store")
        .order_by("pk")
    )
    redact_orders(orders)
    by_store: dict[Store, list[str]] = defaultdict(list)
    for order in orders:
        by_store[order.store].append(order.number)
    for store, numbers in by_store.items():
        record_audit(
            actor=None,
            action="privacy.shopper_data_purged",
            target=store,
            summary=f"Shopper data of {len(numbers)} finished order(s) of {store.domain} erased "
            "after the retention period",
            data={"orders": sorted(numbers)},
        )
    return len(orders)


def _purge_webhook_bodies(*, now: datetime) -> int:
    delivered_before, ended_before = purge_cutoffs(now=now)
    older_than = min(delivered_before, ended_before)
    return (
        InboundWebhook.objects.filter(
            store__isnull=False,
            created_at__lt=older_than,
            status__in=[InboundWebhook.Status.PROCESSED, InboundWebhook.Status.FAILED],
        )
        .exclude(body=b"")
        .update(body=b"", headers={})
    )


def purge_expired_shopper_data(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int = 20
) -> PurgeResult:
    """Erase the shopper data of finished orders past their retention; at most `max_batches`
    batches per call (the next run of beat takes the rest)."""
    now = now or timezone.now()
    batch_size = batch_size or settings.SHOPPER_DATA_PURGE_BATCH
    purged = 0
    for _ in range(max_batches):
        order_ids = list(orders_due_for_purge(now=now).values_list("pk", flat=True)[:batch_size])
        if not order_ids:
            break
        purged += _purge_batch(order_ids=order_ids)
        if len(order_ids) < batch_size:
            break
    return PurgeResult(orders=purged, webhooks=_purge_webhook_bodies(now=now))
