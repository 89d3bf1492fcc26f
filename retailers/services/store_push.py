"""Building what a store receives for a listing, and recording what it answered.

Used by the import job (new and re-imported products), resync, price edits and re-pricing: one
`ProductData` builder, one writer of `Listing` + `ListingVariant` with the store's ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog.inventory import listing_advertised_quantity
from catalog.models import Product, ProductImage, Variant
from integrations.base import ProductData, ProductResult, VariantData
from retailers.models import Listing, ListingVariant, PricingRule, Store
from retailers.sync import mark_listings_dirty

SELLABLE_STATUSES = (Listing.Status.ACTIVE,)


@dataclass
class PricedVariant:
    variant: Variant
    price: Decimal
    compare_at: Decimal | None
    store_variant_id: str = ""
    inventory_item_id: str = ""


@dataclass
class ProductPush:
    """Everything needed to send one product to a store and to record the answer."""

    reference: str
    product: Product
    title: str
    description: str
    image_order: list[int]
    variants: list[PricedVariant]
    listing: Listing | None = None
    pricing_rule: PricingRule | None = None
    is_sellable: bool = True
    images: list[ProductImage] = field(default_factory=list)
    store_product_id: str = ""  # the store's id of a product it has (or a custom store's own)


def absolute_url(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return f"{settings.SITE_URL}{url}"


def ordered_images(images: list[ProductImage], image_order: list[int]) -> list[ProductImage]:
    """The images in the retailer's order; images not named keep the supplier's order after."""
    rank = {image_id: i for i, image_id in enumerate(image_order or [])}
    return sorted(images, key=lambda img: (rank.get(img.pk, len(rank)), img.position, img.pk))


def quantity_to_advertise(*, variant: Variant, is_sellable: bool) -> int:
    """Paused and unlisted listings advertise 0: nothing is sold while they wait."""
    return listing_advertised_quantity(
        on_hand=variant.stock_on_hand,
        reserved=variant.stock_reserved,
        buffer_percent=variant.supplier.stock_buffer_percent,
        listing_status=Listing.Status.ACTIVE if is_sellable else Listing.Status.PAUSED,
        product_status=variant.product.status,
        supplier_status=variant.supplier.status,
    )


def product_data(push: ProductPush, *, vendor: str = "") -> ProductData:
    product = push.product
    option_names = tuple(product.option_names or ())
    images = ordered_images(push.images, push.image_order)
    return ProductData(
        reference=push.reference,
        title=push.title or product.title,
        description_html=push.description or product.description,
        vendor=vendor,
        product_type=product.category.name if product.category is not None else "",
        option_names=option_names,
        images=tuple(
            url
            for url in (
                absolute_url(img.image.url if img.image else img.source_url) for img in images
            )
            if url
        ),
        variants=tuple(
            VariantData(
                sku=pv.variant.sku,
                price=pv.price,
                options={k: str(v) for k, v in (pv.variant.options or {}).items()},
                compare_at_price=pv.compare_at,
                weight_grams=pv.variant.weight_grams,
                inventory_quantity=quantity_to_advertise(
                    variant=pv.variant, is_sellable=push.is_sellable
                ),
                store_variant_id=pv.store_variant_id,
            )
            for pv in push.variants
        ),
        is_published=push.is_sellable or push.listing is None,
        store_product_id=push.store_product_id
        or (push.listing.store_product_id if push.listing else ""),
        handle=store_handle(product),
    )


def custom_product_id(product: Product) -> str:
    """The Dropship id a custom store knows a listed product by (one listing per store and
    product, so the catalog id is unique in the store)."""
    return f"DSP-{product.pk}"


def custom_variant_id(variant: Variant) -> str:
    """The Dropship id a custom store puts on an order line for this variant."""
    return f"DSV-{variant.pk}"


def store_handle(product: Product) -> str:
    """The handle a store product is created under: readable, and ours alone (the catalog id
    makes it unique in the store), so a retried create finds the product instead of a twin."""
    return f"{slugify(product.handle or product.title)[:200] or 'product'}-ds{product.pk}"


@transaction.atomic
def record_pushed_product(
    *, store: Store, push: ProductPush, result: ProductResult, mark_dirty: bool = True
) -> Listing:
    """The store took the product: write the listing and its variants with the store's ids.
    `mark_dirty=False` lets a caller mark a whole batch of listings in one statement."""
    now = timezone.now()
    if push.listing is not None:
        listing = push.listing
        held = list(listing.variants.all())
    else:
        listing, _ = Listing.objects.get_or_create(store=store, product=push.product)
        held = list(ListingVariant.objects.filter(listing=listing))
    listing.title = push.title
    listing.description = push.description
    listing.image_order = list(push.image_order or [])
    listing.store_product_id = result.store_product_id or listing.store_product_id
    if push.pricing_rule is not None or push.listing is None:
        listing.pricing_rule = push.pricing_rule
    if listing.status == Listing.Status.UNLISTED or push.listing is None:
        listing.status = Listing.Status.ACTIVE
        listing.paused_at = None
    listing.is_published = listing.status == Listing.Status.ACTIVE
    listing.sync_status = Listing.SyncStatus.SYNCED
    listing.last_error = ""
    listing.last_synced_at = now
    listing.save()
    existing = {lv.variant_id: lv for lv in held}
    new: list[ListingVariant] = []
    changed: list[ListingVariant] = []
    for pv in push.variants:
        sku = pv.variant.sku
        lv = existing.get(pv.variant.pk) or ListingVariant(
            listing=listing, variant=pv.variant, store=store, last_pushed_quantity=None
        )
        lv.store_variant_id = result.variant_ids.get(sku) or pv.store_variant_id
        lv.inventory_item_id = result.inventory_item_ids.get(sku) or pv.inventory_item_id
        lv.retail_price = pv.price
        lv.compare_at_price = pv.compare_at
        lv.currency = store.currency
        lv.last_cost = pv.variant.wholesale_price
        if lv.pk is None:
            lv.last_pushed_quantity = quantity_to_advertise(
                variant=pv.variant, is_sellable=push.is_sellable
            )
            lv.store_quantity = lv.last_pushed_quantity  # the create set it in the store
            lv.last_pushed_at = now
            new.append(lv)
        else:
            changed.append(lv)
    ListingVariant.objects.bulk_create(new)
    ListingVariant.objects.bulk_update(
        changed,
        [
            "store_variant_id",
            "inventory_item_id",
            "retail_price",
            "compare_at_price",
            "currency",
            "last_cost",
        ],
    )
    if mark_dirty:
        mark_listings_dirty(listing_ids=[listing.pk])
    return listing


def record_push_error(*, listing: Listing | None, error: str) -> None:
    """The store refused a product it already had: the listing shows the error. A product the
    store never took has no listing, so nothing partial is left behind."""
    if listing is None:
        return
    Listing.objects.filter(pk=listing.pk).update(
        sync_status=Listing.SyncStatus.ERROR, last_error=error[:2000], updated_at=timezone.now()
    )
