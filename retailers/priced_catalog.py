"""The retailer's priced view of the catalog: reads for the search pages, product pages and the
public catalog API (retailers/views/catalog.py, retailers/api/catalog.py).

Only listed products appear: ACTIVE products with variants, of ACTIVE suppliers. Wholesale prices
are loaded here but shown only to retailers; the views and the API decide.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from catalog.inventory import advertised_quantity_expression
from catalog.models import Category, Product, ProductImage, Variant
from catalog.search import SearchCriteria, SearchResult, run_search
from dropship.core.errors import NotFound
from retailers.pricing import PriceQuote
from retailers.services.quoting import PriceBook
from suppliers.models import ShippingRate, Supplier

# The category menu changes rarely; every catalog page needs it. A new or renamed category shows
# in the menu within CATALOG_MENU_CACHE_SECONDS (the search itself is never cached).
CATEGORY_ROWS_CACHE_KEY = "catalog:category-menu-rows:v1"


@dataclass
class Facet:
    id: int | None
    name: str
    count: int
    url: str = ""  # the catalog page filtered on this facet; set by the view, which has the query


@dataclass
class CatalogPage:
    result: SearchResult
    products: list[Product]
    category_facets: list[Facet]
    supplier_facets: list[Facet]

    @property
    def next_cursor(self) -> str | None:
        return self.result.next_cursor


def _ordered_images() -> Prefetch:
    return Prefetch(
        "images", queryset=ProductImage.objects.order_by("position", "id"), to_attr="image_list"
    )


def search_catalog(
    *, criteria: SearchCriteria, cursor: str | None = None, limit: int = 24
) -> CatalogPage:
    """One page of the catalog search: products in result order, each with `hit` (cheapest
    wholesale price, estimated margin, in stock) and `image_list`; facets with names."""
    result = run_search(criteria=criteria, cursor=cursor, limit=limit)
    by_id = {
        product.pk: product
        for product in Product.objects.filter(pk__in=[hit.product_id for hit in result.hits])
        .select_related("supplier__scorecard", "category")
        .prefetch_related(_ordered_images())
    }
    products = []
    for hit in result.hits:
        product = by_id.get(hit.product_id)
        if product is not None:
            product.hit = hit
            products.append(product)
    category_facets = [Facet(pk, name, count) for pk, name, count in result.category_facets]
    supplier_facets = [Facet(pk, name, count) for pk, name, count in result.supplier_facets]
    return CatalogPage(
        result=result,
        products=products,
        category_facets=category_facets,
        supplier_facets=supplier_facets,
    )


def list_category_choices(*, selected_id: int | None = None, depth: int = 2) -> list[tuple]:
    """Categories for the filter menu as (id, "Parent › Child" label, is_selected): the top
    `depth` levels (deeper ones are reached through the facets), plus the selected category."""
    rows = cache.get(CATEGORY_ROWS_CACHE_KEY)
    if rows is None:
        rows = sorted(
            Category.objects.values_list("id", "name", "parent_id"), key=lambda r: r[1].lower()
        )
        seconds = getattr(settings, "CATALOG_MENU_CACHE_SECONDS", 60)
        if seconds:
            cache.set(CATEGORY_ROWS_CACHE_KEY, rows, seconds)
    children: dict[int | None, list[tuple]] = {}
    for row in rows:
        children.setdefault(row[2], []).append(row)
    choices: list[tuple] = []

    def walk(parent_id: int | None, prefix: str, level: int, seen: frozenset) -> None:
        for pk, name, _ in children.get(parent_id, ()):
            if pk in seen:
                continue
            label = f"{prefix}{name}"
            if level < depth or pk == selected_id:
                choices.append((pk, label, pk == selected_id))
            if level + 1 < depth or selected_id is not None:
                walk(pk, f"{label} › ", level + 1, seen | {pk})

    walk(None, "", 0, frozenset())
    return choices


def listed_products() -> QuerySet[Product]:
    return Product.objects.filter(
        status=Product.Status.ACTIVE, supplier__status=Supplier.Status.ACTIVE
    )


def get_listed_product(*, product_id: int) -> Product:
    """A product page: variants (advertised stock annotated), images, supplier and its shipping
    rates. 404 for products that are not listed (draft, discontinued, supplier not active)."""
    variants = Variant.objects.annotate(advertised=advertised_quantity_expression()).order_by(
        "position", "id"
    )
    product = (
        listed_products()
        .select_related("supplier__scorecard", "category__parent__parent")
        .prefetch_related(
            Prefetch("variants", queryset=variants, to_attr="variant_list"),
            _ordered_images(),
            Prefetch(
                "supplier__shipping_rates",
                queryset=ShippingRate.objects.order_by("zone", "shipping_class", "price"),
                to_attr="rate_list",
            ),
        )
        .filter(pk=product_id)
        .first()
    )
    if product is None or not product.variant_list:
        raise Http404("No such product in the catalog.")
    return product


@dataclass
class VariantQuote:
    variant: Variant
    quote: PriceQuote


def quote_product_for_retailer(*, retailer, product: Product) -> list[VariantQuote]:
    """The retail price and TRUE margin each variant would get under the retailer's pricing rule:
    shipping to the retailer's home country, platform fee and processing estimate counted."""
    book = PriceBook(retailer=retailer)
    book.load_shipping(product.variant_list)
    return [
        VariantQuote(
            variant=variant,
            quote=book.quote(variant=variant, category_id=product.category_id, store=None),
        )
        for variant in product.variant_list
    ]


def list_active_suppliers(
    *,
    search: str = "",
    country: str = "",
    business_type: str = "",
    after_id: int = 0,
    limit: int = 50,
) -> list[Supplier]:
    """Active suppliers by id (keyset), each with `listed_product_count` (active products)."""
    suppliers = Supplier.objects.filter(status=Supplier.Status.ACTIVE, pk__gt=after_id)
    if search:
        suppliers = suppliers.filter(
            Q(company_name__icontains=search) | Q(description__icontains=search)
        )
    if country:
        suppliers = suppliers.filter(ship_from_country=country)
    if business_type:
        suppliers = suppliers.filter(business_type=business_type)
    return list(
        suppliers.annotate(
            listed_product_count=Count("products", filter=Q(products__status=Product.Status.ACTIVE))
        ).order_by("pk")[:limit]
    )


def get_active_supplier(*, supplier_id: int) -> Supplier:
    supplier = Supplier.objects.filter(pk=supplier_id, status=Supplier.Status.ACTIVE).first()
    if supplier is None:
        raise NotFound(f"There is no active supplier number {supplier_id}.", field="supplier_id")
    return supplier
