"""Reads of a supplier's own catalog, shared by pages, the API and tasks. Always scoped to a supplier."""

from typing import TYPE_CHECKING, TypedDict

from django.db.models import (
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from catalog.imports.rows import CategoryIndex, CellError
from catalog.inventory import advertised_quantity_expression
from catalog.models import Category, ImportJob, Product, ProductImage, StockMovement, Variant
from dropship.core.errors import DomainError, NotFound
from suppliers.models import Supplier

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

STOCK_FILTERS = {"low": "Low stock", "out": "Out of stock"}


class StockAnnotations(TypedDict):
    available: int
    advertised: int


def _threshold(supplier: Supplier) -> Coalesce:
    return Coalesce(F("low_stock_threshold"), Value(supplier.low_stock_threshold))


def variants_with_stock(
    *, supplier: Supplier
) -> "QuerySet[WithAnnotations[Variant, StockAnnotations]]":
    """The supplier's variants with `available` and `advertised` quantities annotated."""
    return Variant.objects.filter(supplier=supplier).annotate(
        available=F("stock_on_hand") - F("stock_reserved"),
        advertised=advertised_quantity_expression(),
    )


def _low_stock_q(supplier: Supplier) -> Q:
    return Q(available__gt=0, available__lte=_threshold(supplier))


def list_products_for_supplier(
    *,
    supplier: Supplier,
    search: str = "",
    status: str = "",
    category_id: int | None = None,
    stock: str = "",
) -> QuerySet[Product]:
    """The catalog list: products with their variants (stock annotated) and first image."""
    variants = variants_with_stock(supplier=supplier).order_by("position", "id")
    products = (
        Product.objects.filter(supplier=supplier)
        .select_related("category")
        .prefetch_related(
            Prefetch("variants", queryset=variants, to_attr="variant_list"),
            Prefetch(
                "images",
                queryset=ProductImage.objects.order_by("position", "id"),
                to_attr="image_list",
            ),
        )
        .order_by("-created_at", "-id")
    )
    if search:
        sku_match = Variant.objects.filter(product=OuterRef("pk"), sku__icontains=search)
        products = products.filter(
            Q(title__icontains=search) | Q(handle__icontains=search) | Exists(sku_match)
        )
    if status in Product.Status.values:
        products = products.filter(status=status)
    if category_id:
        products = products.filter(category_id=category_id)
    if stock in STOCK_FILTERS:
        matching = variants_with_stock(supplier=supplier).filter(product=OuterRef("pk"))
        matching = (
            matching.filter(_low_stock_q(supplier))
            if stock == "low"
            else matching.filter(available__lte=0)
        )
        products = products.filter(Exists(matching))
    return products


def get_product_detail_for_supplier(*, supplier: Supplier, product_id: int) -> Product:
    """One product as the list shows it (variants with stock, images); another's is not found."""
    product = list_products_for_supplier(supplier=supplier).filter(pk=product_id).first()
    if product is None:
        raise NotFound("No such product in your catalog.")
    return product


def get_product_for_supplier(*, supplier: Supplier, product_id: int) -> Product:
    return get_object_or_404(
        Product.objects.select_related("category", "supplier"), pk=product_id, supplier=supplier
    )


def list_variants_of_product(*, product: Product) -> QuerySet[Variant]:
    return (
        variants_with_stock(supplier=product.supplier)
        .filter(product=product)
        .order_by("position", "id")
    )


def get_variant_for_supplier(*, supplier: Supplier, variant_id: int) -> Variant:
    return get_object_or_404(
        variants_with_stock(supplier=supplier).select_related("product"), pk=variant_id
    )


def get_variant_by_sku(
    *, supplier: Supplier, sku: str
) -> "WithAnnotations[Variant, StockAnnotations]":
    """For the API: another supplier's SKU is simply not found."""
    variant = variants_with_stock(supplier=supplier).filter(sku=sku).first()
    if variant is None:
        raise NotFound(f"No variant with SKU {sku} in your catalog.", field="sku")
    return variant


def get_image_for_supplier(*, supplier: Supplier, image_id: int) -> ProductImage:
    return get_object_or_404(
        ProductImage.objects.select_related("product"), pk=image_id, product__supplier=supplier
    )


def list_stock_movements(*, variant: Variant, limit: int = 200) -> list[StockMovement]:
    """Newest first, with who made each change."""
    return list(
        StockMovement.objects.filter(variant=variant)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def list_low_stock_variants(*, supplier: Supplier, limit: int = 10) -> list[Variant]:
    return list(
        variants_with_stock(supplier=supplier)
        .exclude(product__status=Product.Status.DISCONTINUED)
        .filter(_low_stock_q(supplier))
        .annotate(threshold=_threshold(supplier))
        .select_related("product")
        .order_by("available", "sku")[:limit]
    )


def list_out_of_stock_variants(*, supplier: Supplier, limit: int = 10) -> list[Variant]:
    return list(
        variants_with_stock(supplier=supplier)
        .exclude(product__status=Product.Status.DISCONTINUED)
        .filter(available__lte=0)
        .select_related("product")
        .order_by("-stock_updated_at", "sku")[:limit]
    )


def get_category_by_name(*, name: str) -> Category:
    """A category by its name or its path ("Home goods > Kitchen"), as the catalog import reads
    the category column; unknown or ambiguous names are refused naming `category`."""
    try:
        category_id = CategoryIndex().resolve(name)
    except CellError as exc:
        raise DomainError(str(exc), field="category") from exc
    return Category.objects.get(pk=category_id)


def list_categories() -> QuerySet[Category]:
    return Category.objects.select_related("parent").order_by("parent__name", "name")


def list_import_jobs(*, supplier: Supplier, limit: int | None = None) -> QuerySet[ImportJob]:
    jobs = ImportJob.objects.filter(supplier=supplier).select_related("created_by")
    return jobs[:limit] if limit else jobs


def get_import_job_for_supplier(*, supplier: Supplier, job_id: int) -> ImportJob:
    return get_object_or_404(ImportJob, pk=job_id, supplier=supplier)
