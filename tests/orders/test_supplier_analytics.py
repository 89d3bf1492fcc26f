"""Supplier analytics (/supplier/analytics/): sales, commission and net payouts to the cent, the
previous period, breakdowns by product and by retailer (named by brand), CSV escaping, the
scorecard with its formula, isolation between suppliers and a fixed number of queries."""

import csv
import io
from datetime import datetime
from decimal import Decimal as D

import pytest

from orders.models import SupplierOrder
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

RANGE = {"from": "2026-11-01", "to": "2026-11-30"}
URL = "/supplier/analytics/"
S = SupplierOrder.Status


def _sale(supplier, retailer, *, placed, lines, shipping, status=S.SHIPPED, commission="5.00"):
    order = factories.OrderFactory(
        store=factories.StoreFactory(retailer=retailer),
        placed_at=datetime.fromisoformat(placed),
    )
    wholesale = sum(D(price) * quantity for _, quantity, price in lines)
    supplier_order = factories.SupplierOrderFactory(
        order=order,
        supplier=supplier,
        status=status,
        wholesale_total=wholesale,
        shipping_total=D(shipping),
        commission_percent=D(commission),
    )
    for product, quantity, price in lines:
        factories.OrderItemFactory(
            order=order,
            supplier_order=supplier_order,
            variant=factories.VariantFactory(product=product),
            quantity=quantity,
            wholesale_unit_price=D(price),
            status="SHIPPED",
        )
    return supplier_order


@pytest.fixture
def sales(supplier_client):
    """November for the signed-in supplier (commission 5 % of wholesale):

    Nov 3   Maple & Co:  2 mugs at 10.00 + shipping 5.00   sales 25.00, commission 1.00
    Nov 20  (no brand):  1 lamp at 150.00 + shipping 10.00 sales 160.00, commission 7.50
    Nov 21  cancelled and unpaid supplier orders            not counted
    Oct 15  Maple & Co:  1 mug + shipping 5.00              the previous period: sales 15.00
    And another supplier's November sale, never shown.
    """
    supplier = supplier_client.supplier
    maple = factories.RetailerFactory(brand_name="Maple & Co", business_name="Maple Trading LLC")
    formula = factories.RetailerFactory(brand_name="", business_name="=cmd|' /C calc'!A0")
    mug = factories.ProductFactory(supplier=supplier, title="Mug")
    lamp = factories.ProductFactory(supplier=supplier, title="+Lamp")
    _sale(
        supplier,
        maple,
        placed="2026-11-03T10:00:00+00:00",
        lines=[(mug, 2, "10.00")],
        shipping="5.00",
    )
    _sale(
        supplier,
        formula,
        placed="2026-11-20T10:00:00+00:00",
        lines=[(lamp, 1, "150.00")],
        shipping="10.00",
    )
    for status in (S.CANCELLED, S.PENDING):
        _sale(
            supplier,
            maple,
            placed="2026-11-21T10:00:00+00:00",
            lines=[(mug, 9, "10.00")],
            shipping="5.00",
            status=status,
        )
    _sale(
        supplier,
        maple,
        placed="2026-10-15T10:00:00+00:00",
        lines=[(mug, 1, "10.00")],
        shipping="5.00",
    )
    other = factories.SupplierFactory()
    _sale(
        other,
        maple,
        placed="2026-11-05T10:00:00+00:00",
        lines=[(factories.ProductFactory(supplier=other, title="Secret kettle"), 1, "99.00")],
        shipping="1.00",
    )
    return supplier


def _body(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_totals_previous_period_and_products(supplier_client, sales, django_assert_max_num_queries):
    # the report, the scorecard (with its accuracy figures and first replies), stock turnover
    # (three queries) and the navigation's unread message count
    with django_assert_max_num_queries(17):
        response = supplier_client.get(URL, {**RANGE, "interval": "week", "group_by": "product"})
    report = response.context["report"]
    total = report.total
    assert (total.wholesale, total.shipping, total.sales) == (D("170.00"), D("15.00"), D("185.00"))
    assert (total.commission, total.net_payout) == (D("8.50"), D("176.50"))
    assert (total.orders, total.units) == (2, 3)
    assert report.previous.sales == D("15.00")
    assert report.sales_change_percent == D("1133.33")
    assert [(row.label, row.figures.sales) for row in report.groups] == [
        ("+Lamp", D("160.00")),
        ("Mug", D("25.00")),
    ]
    assert [row.label for row in report.top] == ["+Lamp", "Mug"]
    assert len(report.periods) == 2  # two weeks with sales
    body = _body(response)
    assert "Secret kettle" not in body
    assert '<table id="periods">' in body
    assert '<svg viewBox="0 0 600 200"' in body
    assert 'href="/supplier/analytics/"' in body  # in the supplier navigation


def test_retailers_are_named_by_their_brand(supplier_client, sales):
    response = supplier_client.get(URL, {**RANGE, "group_by": "retailer"})
    labels = [row.label for row in response.context["report"].groups]
    assert labels == ["=cmd|' /C calc'!A0", "Maple & Co"]
    assert "Maple Trading LLC" not in _body(response)


def test_csv_escapes_labels_and_keeps_numbers(supplier_client, sales):
    response = supplier_client.get(URL, {**RANGE, "group_by": "retailer", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:6] == ["Group", "Wholesale", "Shipping", "Sales", "Commission", "Net payout"]
    assert rows[1] == [
        "'=cmd|' /C calc'!A0",
        "150.00",
        "10.00",
        "160.00",
        "7.50",
        "152.50",
        "1",
        "1",
    ]
    assert rows[2][0] == "Maple & Co"
    assert rows[-1] == ["Total", "170.00", "15.00", "185.00", "8.50", "176.50", "2", "3"]


def test_another_supplier_sees_only_its_own(client, sales):
    member = factories.SupplierMemberFactory()
    client.force_login(member.user)
    body = _body(client.get(URL, RANGE))
    assert "No sales in this range" in body
    assert "Mug" not in body
    assert "Lamp" not in body


def test_scorecard_with_formula_and_what_to_improve(supplier_client, sales):
    body = _body(supplier_client.get(URL, RANGE))
    assert "New supplier" in body  # none of the fixture's orders were sent in the last 90 days
    assert "Score = 40 × share shipped within handling time" in body
    assert "Returns and disputes" in body
    assert "not yet measured" in body


def test_bad_input_is_explained_and_the_default_range_shown(supplier_client, sales):
    response = supplier_client.get(URL, {"from": "2026-11-30", "to": "2026-11-01"})
    body = _body(response)
    assert "The range starts (2026-11-30) after it ends (2026-11-01)." in body
    response = supplier_client.get(URL, {**RANGE, "group_by": "store"})
    assert "Unknown group_by “store”: use product or retailer." in _body(response)
    assert response.context["report"].group_by == "product"


def test_retailers_cannot_open_it(retailer_client):
    assert retailer_client.get(URL).status_code in (302, 403, 404)


def test_shipping_is_split_over_products_by_wholesale(supplier_client):
    """10.00 shipping over 100.00 + 50.00 of goods: 6.67 and 3.33 (whole amounts, which SQLite
    stores as integers, still divide as decimals)."""
    supplier = supplier_client.supplier
    kettle = factories.ProductFactory(supplier=supplier, title="Kettle")
    cup = factories.ProductFactory(supplier=supplier, title="Cup")
    _sale(
        supplier,
        factories.RetailerFactory(),
        placed="2026-11-10T10:00:00+00:00",
        lines=[(kettle, 1, "100"), (cup, 1, "50")],
        shipping="10",
        commission="3",
    )
    report = supplier_client.get(URL, {**RANGE, "group_by": "product"}).context["report"]
    assert [(r.label, r.figures.shipping, r.figures.commission) for r in report.groups] == [
        ("Cup", D("3.33"), D("1.50")),
        ("Kettle", D("6.67"), D("3.00")),
    ]
    assert (report.total.shipping, report.total.commission) == (D("10.00"), D("4.50"))
