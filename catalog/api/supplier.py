"""Supplier inventory API: set stock by SKU (one or up to 1,000 at once) and read the own catalog.

Only supplier credentials are accepted: a supplier API key (`Authorization: Bearer dsk_…`) or a
supplier member's session. A missing, malformed, revoked or retailer key answers 401; another
supplier's SKU is simply not found (404). Quantities are whole numbers from 0 to 10,000,000;
anything else answers 422 naming the field.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field, Router, Schema
from ninja.pagination import paginate
from pydantic import model_validator

from catalog import selectors, services
from catalog.models import Product, StockMovement, Variant
from dropship.accounts.models import User
from dropship.api import ErrorOut
from dropship.api_auth import SupplierApiRequest, api_actor, supplier_auth
from dropship.api_pagination import BoundedPageNumberPagination

MAX_BATCH = 1000

Quantity = Annotated[int, Field(strict=True, ge=0, le=services.MAX_STOCK_QUANTITY)]
Sku = Annotated[str, Field(min_length=1, max_length=100)]

router = Router(auth=supplier_auth, tags=["supplier inventory"])


def _who(request: SupplierApiRequest) -> tuple[User | None, str]:
    """(actor, reference) for the stock history: the user, or the API key's name and prefix."""
    api_key = request.api_key
    if api_key is not None:
        return None, f"API key {api_key.prefix}… ({api_key.name})"
    return api_actor(request), "API (dashboard session)"


class InventoryIn(Schema):
    quantity: Quantity


class InventoryOut(Schema):
    sku: str
    stock_on_hand: int
    stock_reserved: int
    available: int
    advertised: int
    changed: bool


@router.put(
    "/variants/{path:sku}/inventory",
    response={200: InventoryOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    operation_id="catalog_api_set_variant_inventory",
)
def set_variant_inventory(request: SupplierApiRequest, sku: str, payload: InventoryIn):
    """Set one variant's stock on hand. Refused (409) below the quantity reserved for orders."""
    variant = selectors.get_variant_by_sku(supplier=request.supplier, sku=sku)
    actor, reference = _who(request)
    change = services.set_stock(
        variant=variant,
        quantity=payload.quantity,
        source=StockMovement.Source.API,
        actor=actor,
        reference=reference,
    )
    variant = selectors.get_variant_by_sku(supplier=request.supplier, sku=sku)
    return InventoryOut(
        sku=variant.sku,
        stock_on_hand=variant.stock_on_hand,
        stock_reserved=variant.stock_reserved,
        available=variant.available,
        advertised=variant.advertised,
        changed=change is not None,
    )


class InventoryItemIn(Schema):
    sku: Sku
    quantity: Quantity


class InventoryBatchIn(Schema):
    items: Annotated[list[InventoryItemIn], Field(min_length=1, max_length=MAX_BATCH)]

    @model_validator(mode="after")
    def skus_are_unique(self):
        seen: set[str] = set()
        for item in self.items:
            if item.sku in seen:
                raise ValueError(f"SKU {item.sku} appears more than once in items.")
            seen.add(item.sku)
        return self


class RefusedOut(Schema):
    sku: str
    detail: str


class InventoryBatchOut(Schema):
    updated: list[str]
    unchanged: list[str]
    unknown_skus: list[str]
    refused: list[RefusedOut]


@router.post(
    "/inventory",
    response={200: InventoryBatchOut, 401: ErrorOut},
    operation_id="catalog_api_set_inventory_batch",
)
def set_inventory_batch(request: SupplierApiRequest, payload: InventoryBatchIn):
    """Set stock for up to 1,000 SKUs. The whole batch is checked first; unknown SKUs and
    quantities below reservations are reported by SKU and the valid items applied together."""
    skus = [item.sku for item in payload.items]
    ids = dict(
        selectors.variants_with_stock(supplier=request.supplier)
        .filter(sku__in=skus)
        .values_list("sku", "id")
    )
    levels = {ids[item.sku]: item.quantity for item in payload.items if item.sku in ids}
    actor, reference = _who(request)
    result = services.set_stock_levels(
        supplier=request.supplier,
        levels=levels,
        source=StockMovement.Source.API,
        actor=actor,
        reference=reference,
        skip_refused=True,
    )
    sku_of = {pk: sku for sku, pk in ids.items()}
    return InventoryBatchOut(
        updated=[change.sku for change in result.changes],
        unchanged=[sku_of[pk] for pk in result.unchanged],
        unknown_skus=[sku for sku in skus if sku not in ids],
        refused=[RefusedOut(sku=sku_of[pk], detail=why) for pk, why in result.refused.items()],
    )


class VariantOut(Schema):
    sku: str
    options: dict[str, str]
    wholesale_price: Decimal
    msrp: Decimal | None
    currency: str
    weight_grams: int
    shipping_class: str
    stock_on_hand: int
    stock_reserved: int
    available: int
    advertised: int
    stock_updated_at: datetime | None


class ProductOut(Schema):
    id: int
    handle: str
    title: str
    status: str
    category: str | None
    option_names: list[str]
    variants: list[VariantOut]

    @staticmethod
    def resolve_category(obj: Product) -> str | None:
        return obj.category.name if obj.category is not None else None

    @staticmethod
    def resolve_variants(obj: Product) -> list[Variant]:
        return obj.variant_list  # type: ignore[attr-defined]  # prefetched by the selector


@router.get("/products", response=list[ProductOut], operation_id="catalog_api_list_products")
@paginate(BoundedPageNumberPagination)
def list_products(request: SupplierApiRequest, status: str = "", q: str = ""):
    """Your own catalog with stock, newest first, 50 products per page (`?page=2&page_size=100`)."""
    return selectors.list_products_for_supplier(
        supplier=request.supplier, search=q.strip()[:200], status=status
    )
