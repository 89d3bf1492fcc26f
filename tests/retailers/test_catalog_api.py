"""Public catalog API: /api/v1/suppliers, /api/v1/suppliers/{id}/products, /api/v1/catalog/search."""

from decimal import Decimal

import pytest

from dropship.accounts.services import create_api_key
from suppliers.models import Supplier
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    RetailerFactory,
    SupplierFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/catalog/search"


def _product(title="Copper kettle", price="10.00", **kwargs):
    product = ProductFactory(title=title, **kwargs)
    VariantFactory(product=product, wholesale_price=Decimal(price), msrp=Decimal("30.00"))
    return product


@pytest.fixture
def retailer_key():
    _, secret = create_api_key(organisation=RetailerFactory(), name="feed", created_by=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_search_is_public_and_hides_wholesale_prices(client):
    product = _product(price="12.34")
    body = client.get(SEARCH, {"q": "kettle"}).json()
    assert [item["id"] for item in body["items"]] == [product.pk]
    item = body["items"][0]
    assert item["wholesale_price_from"] is None
    assert item["estimated_margin"] is None
    assert item["url"] == f"/catalog/{product.pk}/"
    assert body["total"] == 1


def test_search_with_a_retailer_key_shows_wholesale_prices(client, retailer_key):
    _product(price="12.34")
    item = client.get(SEARCH, {"q": "kettle"}, **retailer_key).json()["items"][0]
    assert item["wholesale_price_from"] == "12.34"
    assert item["estimated_margin"] == "17.66"


def test_search_with_a_retailer_session_shows_wholesale_prices(retailer_client):
    _product(price="12.34")
    item = retailer_client.get(SEARCH).json()["items"][0]
    assert item["wholesale_price_from"] == "12.34"


def test_supplier_key_gets_no_prices(client):
    _product(price="12.34")
    _, secret = create_api_key(organisation=SupplierFactory(), name="inv", created_by=None)
    item = client.get(SEARCH, HTTP_AUTHORIZATION=f"Bearer {secret}").json()["items"][0]
    assert item["wholesale_price_from"] is None


def test_a_bad_key_is_401_not_silently_anonymous(client):
    _product()
    response = client.get(SEARCH, HTTP_AUTHORIZATION="Bearer drk_nope")
    assert response.status_code == 401


def test_search_pages_with_the_cursor_and_reports_facets(client, retailer_key):
    kitchen = CategoryFactory(name="Kitchen")
    ids = {
        _product(title=f"Steel kettle {i}", price=f"{i + 1}.00", category=kitchen).pk
        for i in range(5)
    }
    seen, cursor = [], None
    while True:
        params = {"q": "kettle", "sort": "price", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        body = client.get(SEARCH, params, **retailer_key).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert set(seen) == ids
    assert len(seen) == 5
    assert body["facets"]["categories"] == [{"id": kitchen.pk, "name": "Kitchen", "count": 5}]


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"q": "x" * 5000}, 400, "The search text is 5,000 characters long; use at most 200."),
        ({"min_price": "-3"}, 400, "Minimum price cannot be negative."),
        ({"max_price": "10"}, 400, "Sign in as a retailer to filter by wholesale price."),
        ({"sort": "margin"}, 400, "Sign in as a retailer to sort by price or margin."),
        ({"category": "424242"}, 400, "There is no category number 424242."),
        ({"supplier": "abc"}, 400, "Supplier must be the number of an existing supplier."),
        (
            {"cursor": "%%%"},
            400,
            "That page link is not valid any more; start again from the first page.",
        ),
        ({"limit": "1000"}, 400, "limit must be a whole number from 1 to 100."),
    ],
)
def test_bad_search_parameters_answer_4xx_with_the_reason(client, params, status, detail):
    _product()
    response = client.get(SEARCH, params)
    assert response.status_code == status
    assert response.json()["detail"] == detail


def test_list_suppliers_shows_only_active_ones_with_filters_and_paging(client):
    active_us = SupplierFactory(company_name="Alpha Goods", ship_from_country="US")
    active_de = SupplierFactory(company_name="Beta Waren", ship_from_country="DE")
    SupplierFactory(company_name="Gamma", status=Supplier.Status.SUSPENDED)
    SupplierFactory(company_name="Delta", status=Supplier.Status.PENDING)
    _product(supplier=active_us)
    body = client.get("/api/v1/suppliers").json()
    assert [s["company_name"] for s in body["items"]] == ["Alpha Goods", "Beta Waren"]
    assert body["items"][0]["listed_product_count"] == 1
    assert client.get("/api/v1/suppliers", {"country": "de"}).json()["items"][0]["id"] == (
        active_de.pk
    )
    first = client.get("/api/v1/suppliers", {"limit": "1"}).json()
    assert first["next_cursor"] == str(active_us.pk)
    second = client.get("/api/v1/suppliers", {"limit": "1", "cursor": first["next_cursor"]}).json()
    assert [s["id"] for s in second["items"]] == [active_de.pk]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"country": "USA"}, "country must be a two-letter country code such as US."),
        (
            {"business_type": "PIRATE"},
            "business_type must be one of: MANUFACTURER, DISTRIBUTOR, WHOLESALER.",
        ),
        ({"cursor": "-1"}, "That cursor is not valid; start from the first page."),
        ({"q": "y" * 101}, "q must be at most 100 characters."),
    ],
)
def test_list_suppliers_bad_input(client, params, detail):
    response = client.get("/api/v1/suppliers", params)
    assert response.status_code == 400
    assert response.json()["detail"] == detail


def test_supplier_products_lists_only_that_suppliers_listed_products(client):
    supplier = SupplierFactory()
    mine = _product(title="Mine kettle", supplier=supplier)
    _product(title="Other kettle")
    body = client.get(f"/api/v1/suppliers/{supplier.pk}/products", {"q": "kettle"}).json()
    assert [item["id"] for item in body["items"]] == [mine.pk]


def test_supplier_products_of_an_inactive_or_unknown_supplier_is_404(client):
    suspended = SupplierFactory(status=Supplier.Status.SUSPENDED)
    _product(supplier=suspended)
    for supplier_id in (suspended.pk, 999999):
        response = client.get(f"/api/v1/suppliers/{supplier_id}/products")
        assert response.status_code == 404
        assert response.json()["detail"] == f"There is no active supplier number {supplier_id}."


def test_search_api_has_no_n_plus_one(client, retailer_key, django_assert_max_num_queries):
    for i in range(20):
        _product(title=f"Glass jar {i}", category=CategoryFactory())
    with django_assert_max_num_queries(12):
        body = client.get(SEARCH, {"q": "jar", "limit": "20"}, **retailer_key).json()
    assert len(body["items"]) == 20


def test_openapi_documents_the_catalog_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/catalog/search",
        "/api/v1/suppliers",
        "/api/v1/suppliers/{supplier_id}/products",
    } <= set(paths)
