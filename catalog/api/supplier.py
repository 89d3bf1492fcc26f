"""Supplier catalog API: products, variants, images by URL, bulk upsert by SKU, and stock.

    GET   /api/v1/supplier/products                      your catalog (cursor pages)
    POST  /api/v1/supplier/products                      a new product (DRAFT)
    GET   /api/v1/supplier/products/{id}                 one product, variants, images
    PATCH /api/v1/supplier/products/{id}                 change fields (only those sent)
    POST  /api/v1/supplier/products/{id}/archive         discontinue
    POST  /api/v1/supplier/products/{id}/variants        a new variant
    POST  /api/v1/supplier/products/{id}/images          an image fetched from a URL
    PATCH /api/v1/supplier/variants/{id}                 change a variant (prices, stock, ...)
    POST  /api/v1/supplier/variants/bulk-upsert          up to 1,000 variants by SKU, all or nothing
    PUT   /api/v1/supplier/variants/{sku}/inventory      one SKU's stock
    POST  /api/v1/supplier/inventory                     up to 1,000 SKUs' stock

Only supplier credentials are accepted: a supplier API key (`Authorization: Bearer dsk_…`) or a
supplier member's session. A missing, malformed or revoked key answers 401, a retailer's 403;
another supplier's product, variant or SKU is simply not found (404). Every write goes through
the catalog services the supplier's pages use. Quantities are whole numbers from 0 to 10,000,000;
anything else answers 422 naming the field.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict, model_validator

from catalog import selectors, services
from catalog.models import Category, Product, ProductImage, StockMovement, Variant
from catalog.services.images import MAX_IMAGE_URL_LENGTH
from catalog.services.products import MAX_PRICE
from dropship.accounts.models import User
from dropship.api import ErrorOut
from dropship.api_auth import SupplierApiRequest, api_actor, supplier_auth
from dropship.api_pagination import CursorPagination
from dropship.core.errors import DomainError
from dropship.core.problems import problem_response

MAX_BATCH = 1000

Quantity = Annotated[int, Field(strict=True, ge=0, le=services.MAX_STOCK_QUANTITY)]
Sku = Annotated[str, Field(min_length=1, max_length=100)]

_T = TypeVar("_T")

router = Router(auth=supplier_auth, tags=["supplier catalog"])


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


# --- products and variants ------------------------------------------------------------------------
Money = Annotated[Decimal, Field(ge=0, le=MAX_PRICE, decimal_places=2)]
Weight = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
OptionName = Annotated[str, Field(min_length=1, max_length=40)]
OptionValue = Annotated[str, Field(max_length=100)]
Attributes = Annotated[
    dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=1000)]],
    Field(max_length=50),
]
ProductStatus = Literal["ACTIVE", "DRAFT", "DISCONTINUED"]


class VariantOut(Schema):
    id: int
    product_id: int
    sku: str
    options: dict[str, str]
    wholesale_price: Decimal
    msrp: Decimal | None
    currency: str
    weight_grams: int
    shipping_class: str
    low_stock_threshold: int | None
    stock_on_hand: int
    stock_reserved: int
    available: int
    advertised: int
    stock_updated_at: datetime | None


class SupplierProductImageOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "url": "https://dropship.example/media/catalog/products/3f2a.png",
                    "thumbnail_url": "https://dropship.example/media/catalog/thumbnails/3f2a.webp",
                    "source_url": "https://cdn.example.com/mug-blue.png",
                    "alt_text": "Blue stoneware mug",
                    "position": 0,
                }
            ]
        }
    )

    id: int
    url: str
    thumbnail_url: str
    source_url: str
    alt_text: str
    position: int

    @staticmethod
    def resolve_url(obj: ProductImage) -> str:
        return obj.image.url if obj.image else obj.source_url

    @staticmethod
    def resolve_thumbnail_url(obj: ProductImage) -> str:
        return obj.list_url


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


class SupplierProductDetailOut(ProductOut):
    description: str
    attributes: dict[str, str]
    images: list[SupplierProductImageOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_images(obj: Product) -> list[ProductImage]:
        return obj.image_list  # type: ignore[attr-defined]  # prefetched by the selector


SUPPLIER_ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut}
PRODUCT_ERRORS = {**SUPPLIER_ERRORS, 404: ErrorOut}


@router.get(
    "/products",
    response={200: list[ProductOut], **SUPPLIER_ERRORS},
    operation_id="catalog_api_list_products",
)
@paginate(CursorPagination, ordering=("-created_at", "-id"))
def list_products(
    request: SupplierApiRequest,
    status: Annotated[
        ProductStatus | None, Query(description="Only products in this status.")
    ] = None,
    q: Annotated[
        str, Query(max_length=200, description="Words of the title, handle or a SKU.")
    ] = "",
):
    """Your own catalog with stock, newest first, a page at a time (`limit` + `cursor`)."""
    return selectors.list_products_for_supplier(
        supplier=request.supplier, search=q.strip(), status=status or ""
    )


def _product(request: SupplierApiRequest, product_id: int) -> Product:
    return selectors.get_product_detail_for_supplier(
        supplier=request.supplier, product_id=product_id
    )


@router.get(
    "/products/{int:product_id}",
    response={200: SupplierProductDetailOut, **PRODUCT_ERRORS},
    operation_id="catalog_api_get_product",
)
def get_product(request: SupplierApiRequest, product_id: int):
    """One of your products with its variants (stock included) and images."""
    return _product(request, product_id)


class SupplierProductIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Stoneware mug",
                    "handle": "stoneware-mug",
                    "description": "Hand-glazed, 350 ml.",
                    "category": "Home goods > Kitchen",
                    "attributes": {"material": "stoneware"},
                    "option_names": ["Color"],
                }
            ]
        }
    )

    title: Annotated[str, Field(min_length=1, max_length=255)]
    handle: Annotated[str, Field(max_length=200)] = ""
    description: Annotated[str, Field(max_length=20_000)] = ""
    category: Annotated[str, Field(max_length=255)] | None = Field(
        None, description="A category name or path (“Home goods > Kitchen”)."
    )
    attributes: Attributes = Field(default_factory=dict)
    option_names: Annotated[list[OptionName], Field(max_length=3)] = Field(default_factory=list)


def _merged(sent: dict[str, Any], name: str, current: _T) -> _T:
    """A PATCH field: what was sent, or the current value when it was left out or null."""
    value = sent.get(name)
    return current if value is None else value


def _category(name: str | None) -> Category | None:
    return selectors.get_category_by_name(name=name) if name and name.strip() else None


@router.post(
    "/products",
    response={201: SupplierProductDetailOut, 400: ErrorOut, 409: ErrorOut, **SUPPLIER_ERRORS},
    operation_id="catalog_api_create_product",
)
def create_product(request: SupplierApiRequest, payload: SupplierProductIn):
    """A new product in DRAFT; add variants, then set its status to ACTIVE. The handle is made
    from the title when omitted; a handle you already use answers 409."""
    product = services.create_product(
        supplier=request.supplier,
        actor=api_actor(request),
        title=payload.title,
        handle=payload.handle,
        description=payload.description,
        category=_category(payload.category),
        attributes=payload.attributes,
        option_names=payload.option_names,
    )
    return Status(201, _product(request, product.pk))


class SupplierProductPatchIn(Schema):
    """Only the fields you send change."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"title": "Stoneware mug, 350 ml", "status": "ACTIVE"}]}
    )

    title: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    handle: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    category: Annotated[str, Field(max_length=255)] | None = Field(
        None, description="A category name or path; null removes the category."
    )
    status: ProductStatus | None = None
    attributes: Attributes | None = None
    option_names: Annotated[list[OptionName], Field(max_length=3)] | None = Field(
        None, description="Renaming is allowed once the product has variants; adding is not."
    )


@router.patch(
    "/products/{int:product_id}",
    response={200: SupplierProductDetailOut, 400: ErrorOut, 409: ErrorOut, **PRODUCT_ERRORS},
    operation_id="catalog_api_update_product",
)
def update_product(request: SupplierApiRequest, product_id: int, payload: SupplierProductPatchIn):
    """Change a product's fields; ACTIVE needs at least one variant (400 naming `status`)."""
    product = selectors.get_product_for_supplier(supplier=request.supplier, product_id=product_id)
    sent = payload.model_dump(exclude_unset=True)
    services.update_product(
        product=product,
        actor=api_actor(request),
        title=_merged(sent, "title", product.title),
        handle=_merged(sent, "handle", product.handle),
        description=_merged(sent, "description", product.description),
        category=_category(sent["category"]) if "category" in sent else product.category,
        status=_merged(sent, "status", product.status),
        attributes=_merged(sent, "attributes", product.attributes),
        option_names=_merged(sent, "option_names", product.option_names),
    )
    return _product(request, product_id)


@router.post(
    "/products/{int:product_id}/archive",
    response={200: SupplierProductDetailOut, **PRODUCT_ERRORS},
    operation_id="catalog_api_archive_product",
)
def archive_product(request: SupplierApiRequest, product_id: int):
    """Discontinue a product: retailers' listings of it drop to 0 and it is no longer offered.
    Archiving an archived product changes nothing. PATCH `status` brings it back."""
    product = selectors.get_product_for_supplier(supplier=request.supplier, product_id=product_id)
    services.apply_bulk_action(
        supplier=request.supplier,
        actor=api_actor(request),
        product_ids=[product.pk],
        action=services.BulkAction.DISCONTINUE,
    )
    return _product(request, product_id)


class SupplierVariantIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sku": "MUG-BLUE",
                    "options": {"Color": "Blue"},
                    "wholesale_price": "6.50",
                    "msrp": "14.00",
                    "weight_grams": 420,
                    "shipping_class": "standard",
                    "stock_on_hand": 120,
                }
            ]
        }
    )

    sku: Sku
    options: Annotated[dict[OptionName, OptionValue], Field(max_length=3)] = Field(
        default_factory=dict, description="A value for each of the product's option names."
    )
    wholesale_price: Money
    msrp: Money | None = None
    weight_grams: Weight = 0
    shipping_class: Annotated[str, Field(min_length=1, max_length=32)] = "standard"
    low_stock_threshold: Quantity | None = None
    stock_on_hand: Quantity = 0


class SupplierVariantPatchIn(Schema):
    """Only the fields you send change; `stock_on_hand` is refused (409) below the reserved units."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"wholesale_price": "6.90", "stock_on_hand": 80}]}
    )

    sku: Sku | None = None
    options: Annotated[dict[OptionName, OptionValue], Field(max_length=3)] | None = None
    wholesale_price: Money | None = None
    msrp: Money | None = None
    weight_grams: Weight | None = None
    shipping_class: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    low_stock_threshold: Quantity | None = None
    stock_on_hand: Quantity | None = None


def _variant_field(exc: DomainError) -> DomainError:
    """The service names an option `option_<name>` (a form field); the API's field is `options`."""
    if exc.field and exc.field.startswith("option_"):
        exc.field = f"options.{exc.field.removeprefix('option_')}"
    return exc


def _variant(request: SupplierApiRequest, variant_id: int) -> Variant:
    return selectors.get_variant_for_supplier(supplier=request.supplier, variant_id=variant_id)


VARIANT_RESPONSES = {400: ErrorOut, 409: ErrorOut, **PRODUCT_ERRORS}


@router.post(
    "/products/{int:product_id}/variants",
    response={201: VariantOut, **VARIANT_RESPONSES},
    operation_id="catalog_api_create_variant",
)
def create_variant(request: SupplierApiRequest, product_id: int, payload: SupplierVariantIn):
    """A new variant of one of your products. Its SKU must be new in your catalog (409 names
    `sku` otherwise) and it needs a value for each of the product's options."""
    product = selectors.get_product_for_supplier(supplier=request.supplier, product_id=product_id)
    actor, reference = _who(request)
    try:
        variant = services.create_variant(
            product=product,
            actor=actor,
            data=services.VariantData(
                sku=payload.sku,
                options=payload.options,
                wholesale_price=payload.wholesale_price,
                msrp=payload.msrp,
                weight_grams=payload.weight_grams,
                shipping_class=payload.shipping_class,
                low_stock_threshold=payload.low_stock_threshold,
            ),
            stock_on_hand=payload.stock_on_hand,
            stock_source=StockMovement.Source.API,
            stock_reference=reference,
        )
    except DomainError as exc:
        raise _variant_field(exc) from None
    return Status(201, _variant(request, variant.pk))


@router.patch(
    "/variants/{int:variant_id}",
    response={200: VariantOut, **VARIANT_RESPONSES},
    operation_id="catalog_api_update_variant",
)
def update_variant(request: SupplierApiRequest, variant_id: int, payload: SupplierVariantPatchIn):
    """Change a variant's SKU, options, prices, weight, shipping class or stock, all or nothing."""
    variant = _variant(request, variant_id)
    sent = payload.model_dump(exclude_unset=True)
    actor, reference = _who(request)
    try:
        services.update_variant(
            variant=variant,
            actor=actor,
            data=services.VariantData(
                sku=_merged(sent, "sku", variant.sku),
                options=_merged(sent, "options", variant.options),
                wholesale_price=_merged(sent, "wholesale_price", variant.wholesale_price),
                msrp=sent.get("msrp", variant.msrp),
                weight_grams=_merged(sent, "weight_grams", variant.weight_grams),
                shipping_class=_merged(sent, "shipping_class", variant.shipping_class),
                low_stock_threshold=sent.get("low_stock_threshold", variant.low_stock_threshold),
            ),
            stock_on_hand=sent.get("stock_on_hand"),
            stock_source=StockMovement.Source.API,
            stock_reference=reference,
        )
    except DomainError as exc:
        raise _variant_field(exc) from None
    return _variant(request, variant_id)


class ProductImageUrlIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"url": "https://cdn.example.com/mug-blue.jpg", "alt_text": "Blue stoneware mug"}
            ]
        }
    )

    url: Annotated[str, Field(min_length=1, max_length=MAX_IMAGE_URL_LENGTH)]
    alt_text: Annotated[str, Field(max_length=255)] = ""


@router.post(
    "/products/{int:product_id}/images",
    response={201: SupplierProductImageOut, 400: ErrorOut, 502: ErrorOut, **PRODUCT_ERRORS},
    operation_id="catalog_api_add_product_image",
)
def add_product_image(request: SupplierApiRequest, product_id: int, payload: ProductImageUrlIn):
    """Add an image by URL. We fetch it (public addresses only, 10 s, at most 5 MB) and keep it
    only if it is a JPEG, PNG or WebP image; 400 names `url` otherwise, 502 when its server
    fails. A product has at most 20 images."""
    product = selectors.get_product_for_supplier(supplier=request.supplier, product_id=product_id)
    image = services.add_product_image_from_url(
        product=product, actor=api_actor(request), url=payload.url, alt_text=payload.alt_text
    )
    return Status(201, image)


class VariantUpsertItemIn(Schema):
    """One variant, as one row of a catalog spreadsheet: blank or missing values keep what exists."""

    sku: Sku
    handle: Annotated[str, Field(max_length=200)] = Field(
        "", description="The product's key; variants of one product share it."
    )
    title: Annotated[str, Field(max_length=255)] = Field(
        "", description="Needed on the first item of a new product."
    )
    description: Annotated[str, Field(max_length=20_000)] = ""
    category: Annotated[str, Field(max_length=255)] = ""
    status: Literal["", "ACTIVE", "DRAFT", "DISCONTINUED"] = ""
    option_names: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=3)] = (
        Field(default_factory=list, description="Option1..3 names, on a product's first item.")
    )
    option_values: Annotated[list[OptionValue], Field(max_length=3)] = Field(
        default_factory=list, description="Option1..3 values, in the order of the names."
    )
    wholesale_price: Money
    msrp: Money | None = None
    weight_grams: Weight | None = None
    shipping_class: Annotated[str, Field(max_length=32)] = ""
    stock: Quantity | None = Field(None, description="Stock on hand; omitted keeps it.")


class VariantUpsertIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "sku": "MUG-BLUE",
                            "handle": "stoneware-mug",
                            "title": "Stoneware mug",
                            "option_names": ["Color"],
                            "option_values": ["Blue"],
                            "wholesale_price": "6.50",
                            "stock": 120,
                        },
                        {
                            "sku": "MUG-RED",
                            "handle": "stoneware-mug",
                            "option_values": ["Red"],
                            "wholesale_price": "6.50",
                            "stock": 80,
                        },
                    ]
                }
            ]
        }
    )

    items: Annotated[
        list[VariantUpsertItemIn], Field(min_length=1, max_length=services.MAX_UPSERT_ROWS)
    ]


class VariantUpsertRowOut(Schema):
    sku: str
    outcome: Literal["created", "updated", "unchanged"]


class VariantUpsertOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "created": 1,
                    "updated": 1,
                    "unchanged": 0,
                    "items": [
                        {"sku": "MUG-BLUE", "outcome": "created"},
                        {"sku": "MUG-RED", "outcome": "updated"},
                    ],
                }
            ]
        }
    )

    created: int
    updated: int
    unchanged: int
    items: list[VariantUpsertRowOut]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _upsert_row(item: VariantUpsertItemIn) -> dict[str, str]:
    row = {name: _cell(value) for name, value in item.model_dump().items()}
    for i in range(3):
        names, values = item.option_names, item.option_values
        row[f"option{i + 1}_name"] = names[i] if i < len(names) else ""
        row[f"option{i + 1}_value"] = values[i] if i < len(values) else ""
    return row


def _upsert_field(index: int, column: str) -> str:
    """`option2_value` of row 3 is `items.3.option_values.1`, like the validation errors."""
    for kind in ("name", "value"):
        for i in range(1, 4):
            if column == f"option{i}_{kind}":
                return f"items.{index}.option_{kind}s.{i - 1}"
    return f"items.{index}.{column}"


@router.post(
    "/variants/bulk-upsert",
    response={200: VariantUpsertOut, 400: ErrorOut, 409: ErrorOut, **SUPPLIER_ERRORS},
    operation_id="catalog_api_bulk_upsert_variants",
)
def bulk_upsert_variants(request: SupplierApiRequest, payload: VariantUpsertIn):
    """Create or update up to 1,000 variants (and their products) by SKU in one call, with the
    catalog spreadsheet's rules. All or nothing: if any item is wrong, 422 lists every problem
    in `errors` (`field` is `items.<index>.<field>`) and nothing is written."""
    actor, reference = _who(request)
    try:
        result = services.upsert_variants(
            supplier=request.supplier,
            actor=actor,
            rows=[_upsert_row(item) for item in payload.items],
            reference=f"Bulk upsert, {reference}",
        )
    except services.UpsertRefused as exc:
        errors = [
            {"field": _upsert_field(e.row, e.column), "code": "invalid", "message": e.message}
            for e in exc.errors
        ]
        return problem_response(
            status=422,
            code=exc.code,
            detail=f"{exc.message} First: {errors[0]['field']}: {errors[0]['message']}",
            field=errors[0]["field"],
            errors=errors,
        )
    return VariantUpsertOut(
        created=result.count("created"),
        updated=result.count("updated"),
        unchanged=result.count("unchanged"),
        items=[VariantUpsertRowOut(sku=row.sku, outcome=row.outcome) for row in result.rows],
    )
