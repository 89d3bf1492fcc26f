"""Writes for a supplier's catalog: products, variants, prices and bulk status changes.

Stock is never written here: a variant's quantity changes only through catalog.services.stock.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal, overload

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog.models import Category, Product, StockMovement, Variant
from catalog.services.stock import set_stock
from dropship.accounts.models import User
from dropship.core.errors import Conflict, DomainError
from retailers import catalog_events
from suppliers.models import Supplier

MAX_OPTIONS = 3
MAX_PRICE = Decimal("999999999999.99")


class CatalogError(DomainError):
    pass


@overload
def parse_price(
    value: object, *, field_name: str, label: str, required: Literal[True] = True
) -> Decimal: ...
@overload
def parse_price(
    value: object, *, field_name: str, label: str, required: bool
) -> Decimal | None: ...
def parse_price(
    value: object, *, field_name: str, label: str, required: bool = True
) -> Decimal | None:
    """A money amount typed by a person: 12, 12.5, 12.50 → Decimal; refuses negatives and 3 decimals."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CatalogError(f"Enter the {label}.", field=field_name)
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise CatalogError(f"The {label} must be a number, like 12.50.", field=field_name) from exc
    if not amount.is_finite():
        raise CatalogError(f"The {label} must be a number, like 12.50.", field=field_name)
    if amount < 0:
        raise CatalogError(f"The {label} cannot be negative.", field=field_name)
    if amount != amount.quantize(Decimal("0.01")):
        raise CatalogError(f"The {label} can have at most 2 decimals.", field=field_name)
    if amount > MAX_PRICE:
        raise CatalogError(f"The {label} is too large.", field=field_name)
    return amount.quantize(Decimal("0.01"))


def _clean_option_names(option_names: list[str]) -> list[str]:
    names = [name.strip()[:40] for name in option_names if name and name.strip()]
    if len(names) > MAX_OPTIONS:
        raise CatalogError(
            f"A product can have at most {MAX_OPTIONS} options (e.g. Size, Color, Material).",
            field="option_names",
        )
    if len({name.lower() for name in names}) != len(names):
        raise CatalogError("Each option name can be used once.", field="option_names")
    return names


def _clean_handle(*, supplier: Supplier, handle: str, title: str, exclude_pk: int | None) -> str:
    base = slugify(handle or title)[:200].strip("-")
    if not base:
        raise CatalogError(
            "The handle needs letters or digits (it becomes the product's key).", field="handle"
        )
    taken = Product.objects.filter(supplier=supplier, handle=base)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    if handle and taken.exists():
        raise Conflict(
            f"Another of your products already uses the handle “{base}”.", field="handle"
        )
    candidate, n = base, 1
    while not handle and taken.exists():
        n += 1
        candidate = f"{base}-{n}"
        taken = Product.objects.filter(supplier=supplier, handle=candidate)
    return candidate


@transaction.atomic
def create_product(
    *,
    supplier: Supplier,
    actor: User | None,
    title: str,
    handle: str = "",
    description: str = "",
    category: Category | None = None,
    attributes: dict[str, str] | None = None,
    option_names: list[str] | None = None,
) -> Product:
    """A new product, in DRAFT until it has variants and is activated."""
    title = title.strip()
    if not title:
        raise CatalogError("Enter a title.", field="title")
    product = Product(
        supplier=supplier,
        title=title[:255],
        handle=_clean_handle(
            supplier=supplier, handle=handle.strip(), title=title, exclude_pk=None
        ),
        description=description.strip(),
        category=category,
        attributes=attributes or {},
        option_names=_clean_option_names(option_names or []),
        status=Product.Status.DRAFT,
    )
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:  # a concurrent create with the same handle
        raise Conflict(
            "Another of your products already uses this handle.", field="handle"
        ) from exc
    return product


@transaction.atomic
def update_product(
    *,
    product: Product,
    actor: User | None,
    title: str,
    handle: str,
    description: str,
    category: Category | None,
    status: str,
    attributes: dict[str, str],
    option_names: list[str],
) -> Product:
    product = Product.objects.select_for_update().get(pk=product.pk)
    previous_status = product.status
    title = title.strip()
    if not title:
        raise CatalogError("Enter a title.", field="title")
    if status not in Product.Status.values:
        raise CatalogError("Choose a status.", field="status")
    variants = list(product.variants.select_for_update().order_by("pk"))
    if status == Product.Status.ACTIVE and not variants:
        raise CatalogError(
            "Add at least one variant before activating the product.", field="status"
        )
    names = _clean_option_names(option_names)
    renamed_variants: list[Variant] = []
    if names != product.option_names and variants:
        if len(names) != len(product.option_names):
            raise CatalogError(
                "This product has variants: you can rename its options but not add or remove "
                "them. Create a new product for a different set of options.",
                field="option_names",
            )
        for variant in variants:
            values = [variant.options.get(old, "") for old in product.option_names]
            variant.options = dict(zip(names, values, strict=True))
            renamed_variants.append(variant)
    product.title = title[:255]
    product.handle = _clean_handle(
        supplier=product.supplier, handle=handle.strip(), title=title, exclude_pk=product.pk
    )
    product.description = description.strip()
    product.category = category
    product.status = status
    product.attributes = attributes
    product.option_names = names
    product.save(
        update_fields=[
            "title",
            "handle",
            "description",
            "category",
            "status",
            "attributes",
            "option_names",
            "updated_at",
        ]
    )
    if renamed_variants:
        Variant.objects.bulk_update(renamed_variants, ["options"])
    if status != previous_status:  # listings show 0 unless the product is active
        catalog_events.products_changed(product_ids=[product.pk])
    return product


@dataclass(frozen=True)
class VariantData:
    sku: str
    options: dict[str, str]
    wholesale_price: Decimal
    msrp: Decimal | None = None
    weight_grams: int = 0
    shipping_class: str = "standard"
    low_stock_threshold: int | None = None


def _clean_variant_data(
    *, product: Product, data: VariantData, exclude_pk: int | None
) -> VariantData:
    sku = data.sku.strip()
    if not sku:
        raise CatalogError("Enter a SKU.", field="sku")
    if len(sku) > 100:
        raise CatalogError("A SKU can be at most 100 characters.", field="sku")
    clash = Variant.objects.filter(supplier_id=product.supplier_id, sku=sku).select_related(
        "product"
    )
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    clash_variant = clash.first()
    if clash_variant is not None:
        raise Conflict(
            f"SKU {sku} is already used by “{clash_variant.product.title}”.", field="sku"
        )
    options = {}
    for name in product.option_names:
        value = str(data.options.get(name, "")).strip()
        if not value:
            raise CatalogError(f"Enter the {name} of this variant.", field=f"option_{name}")
        options[name] = value[:100]
    siblings = product.variants.exclude(pk=exclude_pk) if exclude_pk else product.variants.all()
    if options and any(sibling.options == options for sibling in siblings):
        label = " / ".join(options.values())
        raise Conflict(f"This product already has a {label} variant.", field="sku")
    if data.weight_grams < 0:
        raise CatalogError("Weight cannot be negative.", field="weight_grams")
    shipping_class = (data.shipping_class or "standard").strip()[:32] or "standard"
    return VariantData(
        sku=sku,
        options=options,
        wholesale_price=parse_price(
            data.wholesale_price, field_name="wholesale_price", label="wholesale price"
        ),
        msrp=parse_price(data.msrp, field_name="msrp", label="MSRP", required=False),
        weight_grams=data.weight_grams,
        shipping_class=shipping_class,
        low_stock_threshold=data.low_stock_threshold,
    )


@transaction.atomic
def create_variant(
    *,
    product: Product,
    actor: User | None,
    data: VariantData,
    stock_on_hand: int = 0,
    stock_source: str = StockMovement.Source.PAGE,
    stock_reference: str = "New variant",
) -> Variant:
    """A new variant; its opening stock is recorded as a stock movement (the page's by default,
    the API passes its own source and the key's name)."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    clean = _clean_variant_data(product=product, data=data, exclude_pk=None)
    variant = Variant(
        product=product,
        supplier_id=product.supplier_id,
        sku=clean.sku,
        options=clean.options,
        wholesale_price=clean.wholesale_price,
        msrp=clean.msrp,
        currency=product.supplier.currency,
        weight_grams=clean.weight_grams,
        shipping_class=clean.shipping_class,
        low_stock_threshold=clean.low_stock_threshold,
        position=product.variants.count(),
    )
    try:
        with transaction.atomic():
            variant.save()
    except IntegrityError as exc:
        raise Conflict(f"SKU {clean.sku} is already in your catalog.", field="sku") from exc
    if stock_on_hand:
        set_stock(
            variant=variant,
            quantity=stock_on_hand,
            source=stock_source,
            actor=actor,
            reference=stock_reference,
        )
        variant.refresh_from_db()
    return variant


@transaction.atomic
def update_variant(
    *,
    variant: Variant,
    actor: User | None,
    data: VariantData,
    stock_on_hand: int | None = None,
    stock_source: str = StockMovement.Source.PAGE,
    stock_reference: str = "Variant form",
) -> Variant:
    """Change a variant's SKU, options, prices, weight or class, and its stock (through the stock
    service) in the same transaction: a refused stock change keeps the other edits unsaved."""
    variant = Variant.objects.select_for_update().select_related("product").get(pk=variant.pk)
    clean = _clean_variant_data(product=variant.product, data=data, exclude_pk=variant.pk)
    old_wholesale_price = variant.wholesale_price
    variant.sku = clean.sku
    variant.options = clean.options
    variant.wholesale_price = clean.wholesale_price
    variant.msrp = clean.msrp
    variant.weight_grams = clean.weight_grams
    variant.shipping_class = clean.shipping_class
    variant.low_stock_threshold = clean.low_stock_threshold
    try:
        with transaction.atomic():
            variant.save(
                update_fields=[
                    "sku",
                    "options",
                    "wholesale_price",
                    "msrp",
                    "weight_grams",
                    "shipping_class",
                    "low_stock_threshold",
                    "updated_at",
                ]
            )
    except IntegrityError as exc:
        raise Conflict(f"SKU {clean.sku} is already in your catalog.", field="sku") from exc
    if variant.wholesale_price != old_wholesale_price:
        catalog_events.wholesale_prices_changed(variant_ids=[variant.pk])
    if stock_on_hand is not None:
        set_stock(
            variant=variant,
            quantity=stock_on_hand,
            source=stock_source,
            actor=actor,
            reference=stock_reference,
        )
    return variant


@transaction.atomic
def update_variant_price(
    *, variant: Variant, actor: User | None, wholesale_price: object
) -> Variant:
    """The list page's inline price edit."""
    price = parse_price(wholesale_price, field_name="wholesale_price", label="wholesale price")
    variant = Variant.objects.select_for_update().get(pk=variant.pk)
    if variant.wholesale_price != price:
        variant.wholesale_price = price
        variant.save(update_fields=["wholesale_price", "updated_at"])
        catalog_events.wholesale_prices_changed(variant_ids=[variant.pk])
    return variant


class BulkAction:
    ACTIVATE = "activate"
    DISCONTINUE = "discontinue"
    SET_CATEGORY = "set_category"
    CHOICES = [
        (ACTIVATE, "Activate"),
        (DISCONTINUE, "Discontinue"),
        (SET_CATEGORY, "Change category"),
    ]


@dataclass
class BulkActionResult:
    changed: int = 0
    skipped: list[str] = field(default_factory=list)


@transaction.atomic
def apply_bulk_action(
    *,
    supplier: Supplier,
    actor: User | None,
    product_ids: list[int],
    action: str,
    category: Category | None = None,
) -> BulkActionResult:
    """Activate, discontinue or re-categorise several of the supplier's own products at once."""
    if not product_ids:
        raise CatalogError("Select at least one product.", field="products")
    products = Product.objects.filter(supplier=supplier, pk__in=product_ids)
    if products.count() != len(set(product_ids)):
        raise CatalogError("Some selected products are not in your catalog.", field="products")
    result = BulkActionResult()
    now = timezone.now()
    if action == BulkAction.ACTIVATE:
        without_variants = products.filter(variants__isnull=True)
        result.skipped = sorted(without_variants.values_list("title", flat=True))
        result.changed = (
            products.exclude(pk__in=without_variants.values("pk"))
            .exclude(status=Product.Status.ACTIVE)
            .update(status=Product.Status.ACTIVE, updated_at=now)
        )
    elif action == BulkAction.DISCONTINUE:
        result.changed = products.exclude(status=Product.Status.DISCONTINUED).update(
            status=Product.Status.DISCONTINUED, updated_at=now
        )
    elif action == BulkAction.SET_CATEGORY:
        if category is None:
            raise CatalogError("Choose the new category.", field="category")
        result.changed = products.exclude(category=category).update(
            category=category, updated_at=now
        )
    else:
        raise CatalogError("Choose an action.", field="action")
    if action != BulkAction.SET_CATEGORY and result.changed:
        catalog_events.products_changed(product_ids=product_ids)
    return result
