"""Retailer analytics (/retailer/analytics/ and GET /api/v1/analytics/sales) over real orders
received through the store webhook and routed by the services: numbers to the cent, the previous
period, breakdowns, CSV escaping, tenant isolation and a fixed number of queries."""

import csv
import io
from decimal import Decimal as D

import pytest

from dropship.accounts.services import create_api_key
from dropship.core.spreadsheet_export import escape_cell as csv_cell
from tests import factories
from tests.integrations.helpers import post_shopify
from tests.orders.pipeline import body, make_offer, make_supplier, numeric, shopify_order

pytestmark = pytest.mark.django_db

RANGE = {"from": "2026-11-01", "to": "2026-11-30"}


def _order(client, capture, store, offer, *, quantity, placed):
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, quantity)])
    payload["created_at"] = placed
    with capture(execute=True):
        post_shopify(client, body(payload), topic="orders/create", shop=store.domain)


@pytest.fixture
def sales(retailer_client, django_capture_on_commit_callbacks):
    """Three orders in November (199.00 a unit, the fixture's price) and one in October.

    Mug (Maple Goods, wholesale 10.00, domestic rates 5.00 + 1.00 a further unit, fee 2.00):
      Nov 3  2 mugs:  revenue 398.00, cost 20.00 + 6.00 + 2.00 = 28.00
      Nov 20 1 mug:   revenue 199.00, cost 10.00 + 5.00 + 2.00 = 17.00
    Lamp (Birch Works, wholesale 150.00):
      Nov 20 1 lamp:  revenue 199.00, cost 150.00 + 5.00 + 2.00 = 157.00
      Oct 15 1 lamp:  the previous period (Oct 2 – Oct 31): revenue 199.00, cost 157.00
    """
    retailer = retailer_client.retailer
    retailer.has_payment_terms = True
    retailer.save()
    store = factories.StoreFactory(retailer=retailer, name="Maple & Co")
    mug = make_offer(store=store, supplier=make_supplier(company_name="Maple Goods"))
    lamp = make_offer(
        store=store, supplier=make_supplier(company_name="Birch Works"), wholesale="150.00"
    )
    capture = django_capture_on_commit_callbacks
    _order(retailer_client, capture, store, mug, quantity=2, placed="2026-11-03T10:00:00Z")
    _order(retailer_client, capture, store, mug, quantity=1, placed="2026-11-20T10:00:00Z")
    _order(retailer_client, capture, store, lamp, quantity=1, placed="2026-11-20T11:00:00Z")
    _order(retailer_client, capture, store, lamp, quantity=1, placed="2026-10-15T10:00:00Z")
    return retailer, store, mug, lamp


def _api(client, organisation, **params):
    _, secret = create_api_key(organisation=organisation, name="test", created_by=None)
    return client.get("/api/v1/analytics/sales", params, HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_the_api_totals_the_orders_to_the_cent_with_the_previous_period(client, sales):
    retailer, *_ = sales
    response = _api(client, retailer, **RANGE, interval="month", group_by="supplier")

    assert response.status_code == 200
    data = response.json()
    assert data["total"] == {
        "revenue": "796.00",
        "cost": "202.00",
        "refunds": "0.00",
        "gross_profit": "594.00",
        "margin_percent": "74.62",
        "orders": 3,
        "units": 4,
        "average_order_value": "265.33",
    }
    previous = data["previous_period"]
    assert (previous["revenue"], previous["cost"], previous["orders"]) == ("199.00", "157.00", 1)
    assert [(p["label"], p["figures"]["gross_profit"]) for p in data["periods"]] == [
        ("2026-11-01", "594.00")
    ]
    assert [
        (g["label"], g["figures"]["revenue"], g["figures"]["cost"]) for g in data["groups"]
    ] == [
        ("Birch Works", "199.00", "157.00"),
        ("Maple Goods", "597.00", "45.00"),
    ]


def test_the_page_breaks_down_by_day_and_product_with_charts_and_tables(
    retailer_client, sales, django_assert_max_num_queries
):
    _retailer, _store, mug, lamp = sales
    with django_assert_max_num_queries(16):
        response = retailer_client.get(
            "/retailer/analytics/", {**RANGE, "interval": "day", "group_by": "product"}
        )

    assert response.status_code == 200
    report = response.context["report"]
    assert [(r.label, r.figures.revenue, r.figures.profit) for r in report.periods] == [
        ("2026-11-03", D("398.00"), D("370.00")),
        ("2026-11-20", D("398.00"), D("224.00")),
    ]
    by_product = {r.label: r.figures.profit for r in report.groups}
    assert by_product == {
        mug.variant.product.title: D("552.00"),
        lamp.variant.product.title: D("42.00"),
    }
    assert report.top_products[0].label == mug.variant.product.title
    page = response.content.decode()
    assert (
        page.count(
            '<svg viewBox="0 0 600 200" width="100%" role="img" aria-hidden="true" class="chart">'
        )
        == 2
    )
    assert "<polyline" in page
    assert "<rect" in page
    assert '<table id="periods">' in page
    assert '<table id="groups">' in page
    assert "<script" not in page.split("<main", 1)[-1].split("</main>", 1)[0]


def test_the_query_count_does_not_grow_with_the_number_of_orders(
    retailer_client, sales, django_capture_on_commit_callbacks
):
    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            retailer_client.get("/retailer/analytics/", {**RANGE, "group_by": "country"})
        return len(ctx.captured_queries)

    before = count()
    _retailer, store, mug, _lamp = sales
    for day in (5, 6, 7):
        _order(
            retailer_client,
            django_capture_on_commit_callbacks,
            store,
            mug,
            quantity=1,
            placed=f"2026-11-{day:02d}T10:00:00Z",
        )
    assert count() == before


def test_another_retailers_orders_never_count(client, sales, django_capture_on_commit_callbacks):
    other = factories.RetailerFactory(has_payment_terms=True)
    other_store = factories.StoreFactory(retailer=other)
    offer = make_offer(store=other_store)
    _order(
        client,
        django_capture_on_commit_callbacks,
        other_store,
        offer,
        quantity=5,
        placed="2026-11-10T10:00:00Z",
    )
    retailer, *_ = sales

    mine = _api(client, retailer, **RANGE).json()["total"]
    theirs = _api(client, other, **RANGE).json()["total"]

    assert (mine["revenue"], mine["orders"]) == ("796.00", 3)
    assert (theirs["revenue"], theirs["orders"]) == ("995.00", 1)


def test_a_supplier_key_is_refused(client):
    supplier = factories.SupplierFactory()
    response = _api(client, supplier)
    assert response.status_code == 403
    assert "retailer API key" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, "starts (2026-11-30) after it ends"),
        ({"from": "2026-11-01", "to": "2999-01-01"}, "ends in the future"),
        ({"from": "2015-01-01", "to": "2026-11-01"}, "at most 5 years"),
        ({"group_by": "colour"}, "Unknown group_by “colour”"),
        ({"interval": "hour"}, "Unknown interval “hour”"),
        ({"from": "yesterday"}, "Dates must look like"),
    ],
)
def test_bad_ranges_answer_400_with_the_reason(client, params, message):
    response = _api(client, factories.RetailerFactory(), **params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_the_csv_has_the_same_numbers_and_never_a_formula(retailer_client, sales):
    _retailer, store, _mug, _lamp = sales
    store.name = '=HYPERLINK("http://evil")'
    store.save(update_fields=["name"])

    response = retailer_client.get("/retailer/analytics/", {**RANGE, "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["Group", "Revenue", "Cost", "Refunds", "Gross profit"]
    assert rows[1][:5] == ['\'=HYPERLINK("http://evil")', "796.00", "202.00", "0.00", "594.00"]
    assert rows[-1][:2] == ["Total", "796.00"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_escaped(start):
    assert csv_cell(f"{start}1+1") == f"'{start}1+1"
    assert csv_cell("Maple & Co") == "Maple & Co"


def test_an_organisation_with_no_orders_is_told_what_to_do(retailer_client):
    response = retailer_client.get("/retailer/analytics/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "No sales in this range" in page
    assert 'class="chart"' not in page


@pytest.mark.embedded
def test_an_orders_shipping_and_fee_split_between_its_lines_keeps_every_cent(
    client, retailer_client, django_capture_on_commit_callbacks
):
    """Two lines of one supplier share its shipping (5.00 + 1.00) and fee (2.00) by wholesale:
    10/160 and 150/160 of 8.00 are 0.50 and 7.50. SQLite keeps whole amounts as integers and
    once divided them as integers (0 and 7), losing a dollar of cost."""
    retailer = retailer_client.retailer
    retailer.has_payment_terms = True
    retailer.save()
    store = factories.StoreFactory(retailer=retailer)
    supplier = make_supplier(company_name="Maple Goods")
    mug = make_offer(store=store, supplier=supplier)
    lamp = make_offer(store=store, supplier=supplier, wholesale="150.00")
    payload = shopify_order(
        lines=[
            (numeric(mug.store_variant_id), mug.variant.sku, 1),
            (numeric(lamp.store_variant_id), lamp.variant.sku, 1),
        ]
    )
    payload["created_at"] = "2026-11-20T10:00:00Z"
    with django_capture_on_commit_callbacks(execute=True):
        post_shopify(retailer_client, body(payload), topic="orders/create", shop=store.domain)

    data = _api(client, retailer, **RANGE, interval="month", group_by="product").json()

    assert data["total"]["cost"] == "168.00"
    assert sorted(g["figures"]["cost"] for g in data["groups"]) == ["10.50", "157.50"]
