from decimal import Decimal as D

import pytest

from orders.shipping import ShippingLine, ShippingUnavailable, quote_shipping
from tests.factories import ShippingRateFactory, SupplierFactory

# A README flow: `make test` runs it on SQLite as well.
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def supplier():
    supplier = SupplierFactory(ship_from_country="US", company_name="Northwind")
    ShippingRateFactory(
        supplier=supplier,
        carrier="USPS",
        service="Ground",
        shipping_class="standard",
        zone="DOMESTIC",
        price=D("4.50"),
        additional_item_price=D("1.00"),
    )
    ShippingRateFactory(
        supplier=supplier,
        carrier="UPS",
        service="2nd Day",
        shipping_class="standard",
        zone="DOMESTIC",
        price=D("11.00"),
        additional_item_price=D("0.00"),
    )
    ShippingRateFactory(
        supplier=supplier,
        carrier="UPS",
        service="Ground",
        shipping_class="bulky",
        zone="DOMESTIC",
        price=D("12.50"),
        additional_item_price=D("4.00"),
    )
    ShippingRateFactory(
        supplier=supplier,
        carrier="DHL",
        service="Express",
        shipping_class="standard",
        zone="INTERNATIONAL",
        price=D("18.00"),
        additional_item_price=D("3.00"),
    )
    return supplier


def test_each_shipping_class_ships_with_the_cheapest_domestic_rate(supplier):
    quote = quote_shipping(
        supplier=supplier,
        destination_country="us",
        lines=[ShippingLine("standard", 2), ShippingLine("standard", 1), ShippingLine("bulky", 2)],
    )
    # standard: USPS 4.50 + 2 × 1.00 = 6.50 (cheaper than UPS 11.00); bulky: 12.50 + 4.00
    assert quote.total == D("23.00")
    assert quote.zone == "DOMESTIC"
    assert quote.carriers == ["UPS", "USPS"]


def test_many_units_can_make_a_flat_rate_the_cheapest(supplier):
    quote = quote_shipping(
        supplier=supplier, destination_country="US", lines=[ShippingLine("standard", 9)]
    )
    assert quote.total == D("11.00")  # USPS would be 4.50 + 8 × 1.00 = 12.50
    assert quote.carriers == ["UPS"]


def test_abroad_the_international_rates_apply(supplier):
    quote = quote_shipping(
        supplier=supplier, destination_country="DE", lines=[ShippingLine("standard", 2)]
    )
    assert (quote.total, quote.zone) == (D("21.00"), "INTERNATIONAL")


def test_a_class_the_supplier_does_not_ship_to_the_destination_is_refused_by_name(supplier):
    with pytest.raises(ShippingUnavailable) as caught:
        quote_shipping(
            supplier=supplier, destination_country="DE", lines=[ShippingLine("bulky", 1)]
        )
    assert caught.value.message == "Northwind has no shipping rate for “bulky” items to DE."
