"""Reads about retailers, always scoped to the retailer asking."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from catalog.models import ProductImage, Variant
from dropship.core.exchange import NoExchangeRate
from integrations.models import InboundWebhook
from orders.models import Order
from retailers.models import (
    ImportListItem,
    Listing,
    ListingVariant,
    PriceChange,
    PricingRule,
    Retailer,
    Store,
    StoreImportItem,
    StoreImportJob,
)
from retailers.pricing import PriceQuote
from retailers.services.quoting import PriceBook
from retailers.services.store_push import ordered_images

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
    """Stores for the stores page, with webhook health: events received in the last 24 hours,
    events that failed processing, and whether webhooks went quiet while orders kept coming."""
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
            webhooks_quiet_since=F("order_sync__webhooks_quiet_since"),
            webhooks_quiet_reason=F("order_sync__quiet_reason"),
        )
        .order_by("name")
    )


def list_custom_stores_for_retailer(*, retailer: Retailer) -> QuerySet[Store]:
    """Connected custom stores: the ones manual orders can be placed into."""
    return Store.objects.filter(
        retailer=retailer, platform=Store.Platform.CUSTOM, status=Store.Status.CONNECTED
    ).order_by("name", "pk")


def list_orderable_variants_for_store(*, store: Store) -> QuerySet[ListingVariant]:
    """The store's active listings' variants, for the manual order form."""
    return (
        ListingVariant.objects.filter(listing__store=store, listing__status=Listing.Status.ACTIVE)
        .select_related("variant__product", "listing")
        .order_by("listing__title", "variant__product__title", "variant__position", "pk")
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
    paused_listing_count: int = 0


def get_retailer_dashboard(*, retailer: Retailer) -> RetailerDashboard:
    stores = Store.objects.filter(retailer=retailer).aggregate(
        connected=Count("id", filter=Q(status=Store.Status.CONNECTED)),
        attention=Count("id", filter=Q(status=Store.Status.NEEDS_RECONNECT)),
    )
    listings = (
        Listing.objects.filter(store__retailer=retailer)
        .exclude(status=Listing.Status.UNLISTED)
        .aggregate(
            total=Count("id"),
            errors=Count("id", filter=Q(sync_status=Listing.SyncStatus.ERROR)),
            paused=Count("id", filter=Q(status=Listing.Status.PAUSED)),
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
        paused_listing_count=listings["paused"],
    )


# --- pricing rules, import list, listings (issue 5) ------------------------------------------
def list_pricing_rules_for_retailer(*, retailer: Retailer) -> QuerySet[PricingRule]:
    return (
        PricingRule.objects.filter(retailer=retailer)
        .select_related("store", "category")
        .annotate(tier_count=Count("tiers"))
        .order_by(F("store__name").asc(nulls_first=True), F("category__name").asc(nulls_first=True))
    )


def get_pricing_rule_for_retailer(*, retailer: Retailer, rule_id: int) -> PricingRule:
    return get_object_or_404(
        PricingRule.objects.prefetch_related("tiers"), pk=rule_id, retailer=retailer
    )


@dataclass
class ImportListRow:
    item: ImportListItem
    images: list[ProductImage]
    # the rule's quote (None: no exchange rate today into the retailer's currency), the typed price
    variants: list[tuple[Variant, PriceQuote | None, Decimal | None]]


def list_import_list_for_retailer(*, retailer: Retailer) -> list[ImportListRow]:
    """The import list with each variant's price under the retailer's rules (no store chosen)."""
    items = list(
        ImportListItem.objects.filter(retailer=retailer)
        .select_related("product__supplier", "product__category")
        .prefetch_related(
            Prefetch(
                "product__variants",
                queryset=Variant.objects.select_related("supplier").order_by("position", "id"),
            ),
            "product__images",
        )
        .order_by("-created_at", "-id")
    )
    book = PriceBook(retailer=retailer)
    book.load_shipping(v for item in items for v in item.product.variants.all())
    rows = []
    for item in items:
        product = item.product
        variants: list[tuple[Variant, PriceQuote | None, Decimal | None]] = []
        for variant in product.variants.all():
            try:
                quote = book.quote(variant=variant, category_id=product.category_id, store=None)
            except NoExchangeRate:
                quote = None  # shown as "no exchange rate today", never as a wrong price
            typed = item.variant_prices.get(str(variant.pk))
            variants.append((variant, quote, Decimal(typed) if typed else None))
        rows.append(
            ImportListRow(
                item=item,
                images=ordered_images(list(product.images.all()), item.image_order),
                variants=variants,
            )
        )
    return rows


def get_import_list_item_for_retailer(*, retailer: Retailer, item_id: int) -> ImportListItem:
    return get_object_or_404(
        ImportListItem.objects.select_related("product"), pk=item_id, retailer=retailer
    )


def list_importable_stores_for_retailer(*, retailer: Retailer) -> QuerySet[Store]:
    return Store.objects.filter(retailer=retailer, status=Store.Status.CONNECTED)


def list_import_jobs_for_retailer(*, retailer: Retailer, limit: int = 10) -> list[StoreImportJob]:
    return list(
        StoreImportJob.objects.filter(retailer=retailer)
        .select_related("store")
        .order_by("-created_at", "-id")[:limit]
    )


def get_import_job_for_retailer(*, retailer: Retailer, job_id: int) -> StoreImportJob:
    return get_object_or_404(
        StoreImportJob.objects.select_related("store"), pk=job_id, retailer=retailer
    )


def list_import_items_for_job(*, job: StoreImportJob) -> QuerySet[StoreImportItem]:
    return job.items.select_related("product", "listing").order_by("status", "id")


def list_listings_for_retailer(
    *, retailer: Retailer, store_id: int | None = None, status: str = "", query: str = ""
) -> QuerySet[Listing]:
    """My products: listings with their store, product and variants (with current costs)."""
    listings = (
        Listing.objects.filter(store__retailer=retailer)
        .select_related("store", "product")
        .prefetch_related(
            Prefetch(
                "variants",
                queryset=ListingVariant.objects.select_related("variant").order_by(
                    "variant__position", "variant_id"
                ),
            )
        )
        .order_by("store__name", "-created_at", "-id")
    )
    if store_id:
        listings = listings.filter(store_id=store_id)
    if status:
        listings = listings.filter(Q(status=status) | Q(sync_status=status))
    if query:
        listings = listings.filter(Q(title__icontains=query) | Q(product__title__icontains=query))
    return listings


def attach_true_margins(*, retailer: Retailer, listings: Iterable[Listing]) -> None:
    """Set `economics` (true unit economics at its own price) on each prefetched listing
    variant, with two queries for the whole page (fee schedule, shipping rates)."""
    book = PriceBook(retailer=retailer)
    rows = [(listing.store, lv) for listing in listings for lv in listing.variants.all()]
    book.load_shipping([lv.variant for _, lv in rows])
    for store, lv in rows:
        try:
            economics = book.economics(variant=lv.variant, price=lv.retail_price, store=store)
        except NoExchangeRate:
            economics = None  # the page says there is no rate today rather than a wrong margin
        lv.economics = economics  # type: ignore[attr-defined]


def get_listing_for_retailer(*, retailer: Retailer, listing_id: int) -> Listing:
    return get_object_or_404(
        Listing.objects.select_related("store", "product"), pk=listing_id, store__retailer=retailer
    )


def get_listing_variant_for_retailer(
    *, retailer: Retailer, listing_variant_id: int
) -> ListingVariant:
    return get_object_or_404(
        ListingVariant.objects.select_related("variant", "listing__store"),
        pk=listing_variant_id,
        listing__store__retailer=retailer,
    )


def list_paused_listings_for_retailer(*, retailer: Retailer) -> list[Listing]:
    """The approval queue: paused listings with each variant's latest price change."""
    listings = list(
        Listing.objects.filter(store__retailer=retailer, status=Listing.Status.PAUSED)
        .select_related("store", "product")
        .prefetch_related(
            Prefetch(
                "variants",
                queryset=ListingVariant.objects.select_related("variant")
                .prefetch_related(
                    Prefetch(
                        "price_changes",
                        queryset=PriceChange.objects.order_by("-created_at", "-id"),
                        to_attr="recent_changes",
                    )
                )
                .order_by("variant__position", "variant_id"),
            )
        )
        .order_by("paused_at", "id")
    )
    for listing in listings:
        for lv in listing.variants.all():
            # The stubs cannot know Prefetch(to_attr=) above, nor the two attributes the page reads.
            recent: list[PriceChange] = lv.recent_changes  # type: ignore[attr-defined]
            change = recent[0] if recent else None
            lv.latest_change = change  # type: ignore[attr-defined]
            lv.suggested_price = (  # type: ignore[attr-defined]
                (change.suggested_price or max(change.new_price, change.minimum_price))
                if change is not None
                else lv.retail_price
            )
    return listings
