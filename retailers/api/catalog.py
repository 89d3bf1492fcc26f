"""Public catalog API: active suppliers, their products, and catalog search.

No credentials needed to browse. Wholesale prices (and price filters and sorts) only for a
retailer: a retailer API key (`Authorization: Bearer drk_…`) or a retailer member's session. A
bad key answers 401 rather than silently browsing as a visitor. Parameters are the same as the
/catalog/ page's and are validated by the same code; a bad one answers 400 naming it.
"""

from dataclasses import replace
from decimal import Decimal

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema

from catalog.search import SearchError, parse_criteria
from dropship.api import ErrorOut
from dropship.api_auth import viewing_retailer
from retailers import priced_catalog
from retailers.priced_catalog import CatalogPage
from suppliers.models import Supplier
from suppliers.return_policies import PolicyTerms, policy_terms_by_supplier

MAX_LIMIT = 100

suppliers_router = Router(tags=["catalog"])
catalog_router = Router(tags=["catalog"])


def _limit(raw: str | None, default: int = 24) -> int:
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise SearchError(f"limit must be a whole number from 1 to {MAX_LIMIT}.", field="limit")
    return int(raw)


class SearchParams(Schema):
    q: str | None = None
    category: str | None = None
    min_price: str | None = None
    max_price: str | None = None
    in_stock: str | None = None
    max_handling_days: str | None = None
    ship_from: str | None = None
    min_score: str | None = None
    sort: str | None = None
    cursor: str | None = None
    limit: str | None = None


class CatalogSearchParams(SearchParams):
    supplier: str | None = None


class NamedRef(Schema):
    id: int
    name: str


class FacetOut(Schema):
    id: int | None
    name: str
    count: int


class ReturnPolicyOut(Schema):
    window_days: int = Field(description="Days from delivery a return can be opened; 0: none.")
    restocking_fee_percent: Decimal = Field(
        description="Kept from refunds of goods the shopper no longer wanted (not on "
        "defective, damaged, wrong or not-as-described goods)."
    )
    return_shipping_paid_by: str = Field(description="RETAILER or SUPPLIER.")
    non_returnable_categories: list[str]


class ProductHitOut(Schema):
    id: int
    title: str
    url: str
    supplier: NamedRef
    category: NamedRef | None
    image_url: str | None
    in_stock: bool
    handling_days: int
    ship_from: str
    currency: str
    wholesale_price_from: Decimal | None = None
    estimated_margin: Decimal | None = None
    return_policy: ReturnPolicyOut


class FacetsOut(Schema):
    categories: list[FacetOut]
    suppliers: list[FacetOut]


class SearchOut(Schema):
    items: list[ProductHitOut]
    next_cursor: str | None
    total: int
    total_is_capped: bool
    sort: str
    corrected_query: str | None
    facets: FacetsOut


class SupplierOut(Schema):
    id: int
    company_name: str
    slug: str
    business_type: str
    description: str
    ship_from_country: str
    handling_days: int
    rating: Decimal | None
    listed_product_count: int
    return_policy: ReturnPolicyOut

    @staticmethod
    def resolve_return_policy(supplier: Supplier) -> dict:
        """Read in one query for the page by `list_suppliers`."""
        return supplier.return_policy_out  # type: ignore[attr-defined]


class SuppliersOut(Schema):
    items: list[SupplierOut]
    next_cursor: str | None


def _policy_out(terms: PolicyTerms) -> dict:
    return {
        "window_days": terms.window_days,
        "restocking_fee_percent": terms.restocking_fee_percent,
        "return_shipping_paid_by": terms.return_shipping_paid_by,
        "non_returnable_categories": list(terms.non_returnable_categories),
    }


def _search_out(page: CatalogPage, *, with_prices: bool) -> dict:
    items = []
    policies = policy_terms_by_supplier(supplier_ids={p.supplier_id for p in page.products})
    for product in page.products:
        image = product.image_list[0] if product.image_list else None
        supplier = product.supplier
        items.append(
            {
                "id": product.pk,
                "title": product.title,
                "url": reverse("catalog:browse_product", args=[product.pk]),
                "supplier": {"id": supplier.pk, "name": supplier.company_name},
                "category": {"id": product.category.pk, "name": product.category.name}
                if product.category
                else None,
                "image_url": (image.list_url or None) if image else None,
                "in_stock": product.hit.in_stock,
                "handling_days": supplier.handling_days,
                "ship_from": supplier.ship_from_country,
                "currency": supplier.currency,
                "wholesale_price_from": product.hit.min_price if with_prices else None,
                "estimated_margin": product.hit.est_margin if with_prices else None,
                "return_policy": _policy_out(policies[product.supplier_id]),
            }
        )
    return {
        "items": items,
        "next_cursor": page.next_cursor,
        "total": page.result.total,
        "total_is_capped": page.result.total_is_capped,
        "sort": page.result.criteria.sort,
        "corrected_query": page.result.corrected_query,
        "facets": {
            "categories": [vars(f) for f in page.category_facets],
            "suppliers": [vars(f) for f in page.supplier_facets],
        },
    }


def _search(request: HttpRequest, params: dict, *, supplier_id: int | None = None) -> dict:
    retailer = viewing_retailer(request)
    limit = _limit(params.pop("limit", None))
    cursor = params.pop("cursor", None) or None
    criteria = parse_criteria(
        {k: v for k, v in params.items() if v is not None}, can_see_prices=retailer is not None
    )
    if supplier_id is not None:
        criteria = replace(criteria, supplier_id=supplier_id)
    page = priced_catalog.search_catalog(criteria=criteria, cursor=cursor, limit=limit)
    return _search_out(page, with_prices=retailer is not None)


@catalog_router.get(
    "/search",
    response={200: SearchOut, 400: ErrorOut, 401: ErrorOut},
    auth=None,
    operation_id="catalog_browse_api_catalog_search",
)
def catalog_search(request: HttpRequest, params: Query[CatalogSearchParams]):
    """Search listed products: full-text `q`, filters, `sort`, and `cursor` from `next_cursor`.

    Wholesale prices, price filters (`min_price`, `max_price`) and the price and margin sorts
    need a retailer API key or session."""
    return _search(request, params.dict())


@suppliers_router.get(
    "",
    response={200: SuppliersOut, 400: ErrorOut},
    auth=None,
    operation_id="catalog_browse_api_list_suppliers",
)
def list_suppliers(
    request: HttpRequest,
    q: str = "",
    country: str = "",
    business_type: str = "",
    cursor: str = "",
    limit: str = "",
):
    """Active suppliers, by id. Filter by `q` (name or description), `country` (ship-from, ISO
    alpha-2) and `business_type`; page with `cursor` from `next_cursor`."""
    q = q.strip()
    if len(q) > 100:
        raise SearchError("q must be at most 100 characters.", field="q")
    country = country.strip().upper()
    if country and not (len(country) == 2 and country.isalpha() and country.isascii()):
        raise SearchError("country must be a two-letter country code such as US.", field="country")
    if business_type and business_type not in Supplier.BusinessType.values:
        raise SearchError(
            f"business_type must be one of: {', '.join(Supplier.BusinessType.values)}.",
            field="business_type",
        )
    if cursor and (not cursor.isdigit() or len(cursor) > 18):
        raise SearchError("That cursor is not valid; start from the first page.", field="cursor")
    size = _limit(limit, default=50)
    suppliers = priced_catalog.list_active_suppliers(
        search=q,
        country=country,
        business_type=business_type,
        after_id=int(cursor or 0),
        limit=size + 1,
    )
    has_more = len(suppliers) > size
    suppliers = suppliers[:size]
    policies = policy_terms_by_supplier(supplier_ids=[s.pk for s in suppliers])
    for supplier in suppliers:
        supplier.return_policy_out = _policy_out(policies[supplier.pk])  # type: ignore[attr-defined]
    return {
        "items": suppliers,
        "next_cursor": str(suppliers[-1].pk) if has_more else None,
    }


@suppliers_router.get(
    "/{int:supplier_id}/products",
    response={200: SearchOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut},
    auth=None,
    operation_id="catalog_browse_api_supplier_products",
)
def supplier_products(request: HttpRequest, supplier_id: int, params: Query[SearchParams]):
    """An active supplier's listed products, with the same filters, sorts and cursor as search."""
    priced_catalog.get_active_supplier(supplier_id=supplier_id)
    return _search(request, params.dict(), supplier_id=supplier_id)
