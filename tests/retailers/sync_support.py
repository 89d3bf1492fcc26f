"""Helpers for the inventory sync tests: list catalog variants in sandbox stores for real."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from integrations.base import ProductData, VariantData
from integrations.registry import build_platform_client
from retailers.models import Listing, ListingVariant
from tests import factories


def list_product(store, product, *, pushed: int | None = None, dirty: bool = False) -> Listing:
    """Create the product in the sandbox store through its client, and the Listing rows with the
    store's ids (what the import flow does). Rows start clean, the store showing `pushed` (or
    the quantity it was created with)."""
    variants = list(product.variants.order_by("pk"))
    client = build_platform_client(store=store)
    data = ProductData(
        reference=f"p{product.pk}-s{store.pk}",
        title=product.title,
        option_names=("Size",) if len(variants) > 1 else (),
        variants=tuple(
            VariantData(
                sku=v.sku,
                price=Decimal("19.99"),
                options={"Size": v.sku} if len(variants) > 1 else {},
                inventory_quantity=pushed or 0,
            )
            for v in variants
        ),
    )
    (result,) = client.upsert_products(products=[data])
    assert result.is_ok, result.error
    listing = factories.ListingFactory(
        store=store, product=product, store_product_id=result.store_product_id
    )
    for variant in variants:
        ListingVariant.objects.create(
            listing=listing,
            variant=variant,
            store=store,
            store_variant_id=result.variant_ids[variant.sku],
            inventory_item_id=result.inventory_item_ids[variant.sku],
            retail_price=Decimal("19.99"),
            last_pushed_quantity=pushed,
            store_quantity=pushed or 0,  # what the create set, as the import records it
            is_inventory_dirty=dirty,
            inventory_dirty_since=timezone.now() if dirty else None,
        )
    return listing


def shown(sandbox, store, variant) -> int:
    """What the sandbox store shows for a catalog variant (by SKU)."""
    if store.platform == "SHOPIFY":
        return sandbox.app.shop(store.domain).quantity_for_sku(variant.sku)
    slug = store.domain.rstrip("/").rsplit("/", 1)[-1]
    return sandbox.app.sites[slug].stock_for_sku(variant.sku)
