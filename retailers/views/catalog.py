"""The retailer-facing catalog: search and browse at /catalog/ and the product page.

Public for browsing; wholesale prices, price filters and sorts, and the retail price under the
retailer's pricing rule only for a signed-in retailer. Bad parameters show a message, never a 500.
"""

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from catalog.search import PRICE_SORTS, SORTS, SearchError, parse_criteria
from dropship.accounts.access import membership_of
from dropship.core.exchange import NoExchangeRate
from retailers import priced_catalog
from retailers.models import Retailer
from suppliers.models import Supplier
from suppliers.return_policies import policy_terms

FILTER_FIELDS = (
    "q",
    "category",
    "supplier",
    "min_price",
    "max_price",
    "in_stock",
    "max_handling_days",
    "ship_from",
    "min_score",
    "sort",
)

# The choices of the minimum supplier score filter (the API takes any whole number 0-100).
SCORE_OPTIONS = ("90", "80", "70", "50")


def _viewer_retailer(request: HttpRequest) -> Retailer | None:
    """The signed-in retailer, or None for visitors, suppliers and staff."""
    membership = membership_of(request) if request.user.is_authenticated else None
    # Kept for the `organisation` context processor, as the access decorators do.
    request.membership = membership  # type: ignore[attr-defined]  # a public page: no MemberRequest
    return membership.retailer if membership is not None and membership.retailer_id else None


def _with(query: QueryDict, **changes) -> str:
    updated = query.copy()
    updated.pop("cursor", None)
    for name, value in changes.items():
        if value is None:
            updated.pop(name, None)
        else:
            updated[name] = value
    encoded = updated.urlencode()
    return f"?{encoded}" if encoded else "?"


def catalog_search(request: HttpRequest) -> HttpResponse:
    retailer = _viewer_retailer(request)
    can_see_prices = retailer is not None
    values = {name: request.GET.get(name, "") for name in FILTER_FIELDS}
    page, error = None, None
    try:
        criteria = parse_criteria(request.GET, can_see_prices=can_see_prices)
        page = priced_catalog.search_catalog(
            criteria=criteria, cursor=request.GET.get("cursor") or None
        )
    except SearchError as exc:
        error = exc
    query = request.GET.copy()
    if page is not None:
        for facet in page.category_facets:
            facet.url = _with(query, category=str(facet.id) if facet.id else None)
        for facet in page.supplier_facets:
            facet.url = _with(query, supplier=str(facet.id))
    sorts = [
        (key, label) for key, label in SORTS.items() if can_see_prices or key not in PRICE_SORTS
    ]
    countries = (
        Supplier.objects.filter(status=Supplier.Status.ACTIVE)
        .exclude(ship_from_country="")
        .order_by("ship_from_country")
        .values_list("ship_from_country", flat=True)
        .distinct()
    )
    context = {
        "page": page,
        "error": error,
        "values": values,
        "total_label": f"{page.result.total:,}" if page else "",
        "effective_sort": page.result.criteria.sort if page else values["sort"],
        "retailer": retailer,
        "can_see_prices": can_see_prices,
        "sorts": sorts,
        "score_options": SCORE_OPTIONS,
        "category_options": format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (pk, mark_safe(" selected") if selected else "", label)
                for pk, label, selected in priced_catalog.list_category_choices(
                    selected_id=page.result.criteria.category_id if page else None
                )
            ),
        ),
        "countries": list(countries),
        "next_url": _with(query, cursor=page.next_cursor)
        if page is not None and page.next_cursor
        else None,
        "first_url": _with(query) if request.GET.get("cursor") else None,
        "clear_category_url": _with(query, category=None),
        "clear_supplier_url": _with(query, supplier=None),
    }
    return render(request, "catalog/browse/search.html", context, status=400 if error else 200)


def catalog_product(request: HttpRequest, product_id: int) -> HttpResponse:
    retailer = _viewer_retailer(request)
    product = priced_catalog.get_listed_product(product_id=product_id)
    terms = policy_terms(supplier=product.supplier)
    quotes, quote_error = None, ""
    if retailer is not None:
        try:
            quotes = priced_catalog.quote_product_for_retailer(retailer=retailer, product=product)
        except NoExchangeRate as exc:  # wholesale still shows, in the supplier's currency
            quote_error = exc.message
    return render(
        request,
        "catalog/browse/product.html",
        {
            "product": product,
            "supplier": product.supplier,
            "retailer": retailer,
            "can_see_prices": retailer is not None,
            "quotes": quotes,
            "quote_error": quote_error,
            "return_terms": terms,
            "product_returnable": terms.takes_back(product.category),
        },
    )
