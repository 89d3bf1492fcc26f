"""Stock turnover on the supplier's analytics (orders/supplier_analytics.get_stock_turnover):
units sold over the range ÷ the time-weighted average on hand rebuilt from stock movements."""

from datetime import date, datetime
from decimal import Decimal as D

import pytest

from catalog.models import StockMovement
from orders.models import SupplierOrder
from orders.supplier_analytics import get_stock_turnover
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)
NOW = datetime.fromisoformat("2026-12-10T00:00:00+00:00")


def _move(variant, at, before, after, source=StockMovement.Source.SHIPMENT, reserved=(0, 0)):
    movement = StockMovement.objects.create(
        variant=variant,
        source=source,
        on_hand_before=before,
        on_hand_after=after,
        reserved_before=reserved[0],
        reserved_after=reserved[1],
    )
    StockMovement.objects.filter(pk=movement.pk).update(created_at=datetime.fromisoformat(at))


def _sold(supplier, variant, quantity, placed):
    order = factories.OrderFactory(placed_at=datetime.fromisoformat(placed))
    supplier_order = factories.SupplierOrderFactory(
        order=order,
        supplier=supplier,
        status=SupplierOrder.Status.SHIPPED,
        wholesale_total=D("10.00") * quantity,
    )
    factories.OrderItemFactory(
        order=order,
        supplier_order=supplier_order,
        variant=variant,
        quantity=quantity,
        wholesale_unit_price=D("10.00"),
        status="SHIPPED",
    )


@pytest.fixture
def supplier():
    return factories.SupplierFactory()


def test_turnover_is_units_sold_over_the_time_weighted_stock(supplier):
    """Mug: 20 on hand until Nov 16, then 10 (a shipment), and 40 from Dec 5 (after the range):
    15 on average over November; 3 sold → 0.20. A reservation (on hand unchanged) does not
    count as a change. Lamp sold 2 with nothing on hand: no turnover. Vase: never stocked, never
    sold: left out."""
    mug = factories.VariantFactory(
        product__supplier=supplier, product__title="Mug", stock_on_hand=40
    )
    _move(mug, "2026-11-16T00:00:00+00:00", 20, 10)
    _move(mug, "2026-11-20T00:00:00+00:00", 10, 10, StockMovement.Source.RESERVATION, (0, 3))
    _move(mug, "2026-12-05T00:00:00+00:00", 10, 40, StockMovement.Source.FEED)
    _sold(supplier, mug, 3, "2026-11-10T10:00:00+00:00")
    _sold(supplier, mug, 5, "2026-10-10T10:00:00+00:00")  # before the range
    lamp = factories.VariantFactory(
        product__supplier=supplier, product__title="Lamp", stock_on_hand=0
    )
    _sold(supplier, lamp, 2, "2026-11-12T10:00:00+00:00")
    factories.VariantFactory(product__supplier=supplier, product__title="Vase", stock_on_hand=0)

    rows = get_stock_turnover(supplier=supplier, start=NOV_1, end=NOV_30, now=NOW)

    assert [(r.title, r.units_sold, r.average_on_hand, r.turnover) for r in rows] == [
        ("Mug", 3, D("15.0"), D("0.20")),
        ("Lamp", 2, D("0.0"), None),
    ]


def test_without_movements_the_stock_was_what_it_is_now(supplier):
    cup = factories.VariantFactory(
        product__supplier=supplier, product__title="Cup", stock_on_hand=8
    )
    _sold(supplier, cup, 4, "2026-11-02T10:00:00+00:00")

    rows = get_stock_turnover(supplier=supplier, start=NOV_1, end=NOV_30, now=NOW)

    assert [(r.units_sold, r.average_on_hand, r.turnover) for r in rows] == [
        (4, D("8.0"), D("0.50"))
    ]


def test_another_suppliers_sales_and_stock_are_not_counted(supplier):
    other = factories.VariantFactory(product__title="Theirs", stock_on_hand=5)
    _sold(other.supplier, other, 1, "2026-11-02T10:00:00+00:00")

    assert get_stock_turnover(supplier=supplier, start=NOV_1, end=NOV_30, now=NOW) == []


def test_the_analytics_page_shows_the_turnover_table(supplier_client):
    cup = factories.VariantFactory(
        product__supplier=supplier_client.supplier, product__title="Cup", stock_on_hand=8
    )
    _sold(supplier_client.supplier, cup, 4, "2026-11-02T10:00:00+00:00")

    body = supplier_client.get("/supplier/analytics/", {"from": "2026-11-01", "to": "2026-11-30"})
    html = body.content.decode()

    assert 'id="turnover"' in html
    assert "Cup" in html
    assert "0.50×" in html
