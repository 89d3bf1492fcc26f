"""The read endpoints a load test hammers answer a page in a fixed number of queries, however many
rows and related rows the page holds (issue 18: read endpoints p95 under load)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dropship.accounts.services import create_api_key
from tests import factories


def _queries(client, path: str, secret: str) -> tuple[int, list[str], dict]:
    """A page's queries once the key's last-use stamp is fresh (the first call writes it)."""
    client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert answer.status_code == 200, answer.content
    return len(captured), [query["sql"] for query in captured.captured_queries], answer.json()


def _with_2_then_20(client, path: str, secret: str, add) -> tuple[int, int, list[str]]:
    """The page's queries with 2 rows, then with 20 (`add(n)` creates n more): (few, many, SQL)."""
    add(2)
    few, _, first = _queries(client, path, secret)
    add(18)
    many, sql, second = _queries(client, path, secret)
    assert (len(first["items"]), len(second["items"])) == (2, 20)
    return few, many, sql


@pytest.mark.django_db
def test_supplier_products_page_costs_the_same_queries_for_2_or_20_products(client):
    supplier = factories.SupplierFactory()
    secret = create_api_key(organisation=supplier, name="ERP", created_by=None)[1]

    def add(count: int) -> None:
        for product in factories.ProductFactory.create_batch(count, supplier=supplier):
            factories.VariantFactory.create_batch(2, product=product, supplier=supplier)

    few, many, sql = _with_2_then_20(client, "/api/v1/supplier/products?limit=50", secret, add)

    # the key, the page of products, their variants, their images
    assert many == few <= 4, sql


@pytest.mark.django_db
def test_retailer_orders_page_costs_the_same_queries_for_2_or_20_orders(client):
    store = factories.StoreFactory()
    secret = create_api_key(organisation=store.retailer, name="ERP", created_by=None)[1]

    def add(count: int) -> None:
        for order in factories.OrderFactory.create_batch(count, store=store):
            factories.SupplierOrderFactory(order=order)

    few, many, sql = _with_2_then_20(client, "/api/v1/orders?limit=50", secret, add)

    # the key (with its organisation), the page of orders
    assert many == few <= 2, sql
