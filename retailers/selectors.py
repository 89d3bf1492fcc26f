"""Reads about retailers, always scoped to the retailer asking."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from integrations.models import InboundWebhook
from orders.models import Order
from retailers.models import Listing, Retailer, Store

OPEN_ORDER_STATUSES = [
    Order.Status.PENDING,
    Order.Status.CONFIRMED,
    Order.Status.PARTIALLY_SHIPPED,
    Order.Status.EXCEPTION,
]


def list_stores_for_retailer(*, retailer: Retailer) -> QuerySet[Store]:
    return (
        Store.objects.filter(retailer=retailer)
        .exclude(status=Store.Status.DISCONNECTED)
        .order_by("name")
    )


def list_stores_with_health_for_retailer(*, retailer: Retailer) -> QuerySet[Store]:
    """Stores for the stores page, with webhook health: events received in the last 24 hours
    and events that failed processing."""
    since = timezone.now() - timedelta(hours=24)
    return (
        Store.objects.filter(retailer=retailer)
        .exclude(status=Store.Status.DISCONNECTED)
        .annotate(
            events_last_day=Count(
                "inbound_webhooks", filter=Q(inbound_webhooks__created_at__gte=since)
            ),
            failed_events=Count(
                "inbound_webhooks", filter=Q(inbound_webhooks__status=InboundWebhook.Status.FAILED)
            ),
        )
        .order_by("name")
    )


def get_store_for_retailer(*, retailer: Retailer, store_id: int) -> Store:
    return get_object_or_404(Store, pk=store_id, retailer=retailer)


def list_recent_orders_for_retailer(*, retailer: Retailer, limit: int = 8) -> list[Order]:
    return list(
        Order.objects.filter(retailer=retailer)
        .select_related("store")
        .order_by("-created_at")[:limit]
    )


@dataclass(frozen=True)
class RetailerDashboard:
    connected_store_count: int
    stores_needing_attention: int
    listing_count: int
    listings_with_errors: int
    open_order_count: int
    exception_order_count: int
    orders_by_status: dict[str, int]


def get_retailer_dashboard(*, retailer: Retailer) -> RetailerDashboard:
    stores = Store.objects.filter(retailer=retailer).aggregate(
        connected=Count("id", filter=Q(status=Store.Status.CONNECTED)),
        attention=Count("id", filter=Q(status=Store.Status.NEEDS_RECONNECT)),
    )
    listings = (
        Listing.objects.filter(store__retailer=retailer)
        .exclude(status=Listing.Status.UNLISTED)
        .aggregate(
            total=Count("id"), errors=Count("id", filter=Q(sync_status=Listing.SyncStatus.ERROR))
        )
    )
    orders_by_status = dict(
        Order.objects.filter(retailer=retailer)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return RetailerDashboard(
        connected_store_count=stores["connected"],
        stores_needing_attention=stores["attention"],
        listing_count=listings["total"],
        listings_with_errors=listings["errors"],
        open_order_count=sum(orders_by_status.get(s, 0) for s in OPEN_ORDER_STATUSES),
        exception_order_count=orders_by_status.get(Order.Status.EXCEPTION, 0),
        orders_by_status=orders_by_status,
    )
