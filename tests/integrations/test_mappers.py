"""Vendor payloads (the platforms' own fixtures) into our DTOs."""

from decimal import Decimal

from integrations.base import OrderLineData
from integrations.shopify import mappers as shopify_mappers
from integrations.woocommerce import mappers as woo_mappers
from tests.integrations.helpers import fixture_json


def test_shopify_order_webhook_body_maps_to_order_data():
    order = shopify_mappers.order_from_webhook(fixture_json("shopify-order.json")["order"])
    assert (order.store_order_id, order.number, order.currency, order.total) == (
        "gid://shopify/Order/450789469",
        "#1001",
        "USD",
        Decimal("409.94"),
    )
    assert (order.shopper_name, order.shopper_email, order.shipping_country) == (
        "Bob Norman",
        "bob.norman@hostmail.com",
        "US",
    )
    assert order.shipping_address == {
        "name": "Bob Norman",
        "company": "",
        "address1": "Chestnut Street 92",
        "address2": "",
        "city": "Louisville",
        "province": "Kentucky",
        "province_code": "KY",
        "zip": "40202",
        "country": "United States",
        "country_code": "US",
        "phone": "555-625-1199",
    }
    assert order.lines[0] == OrderLineData(
        store_line_id="gid://shopify/LineItem/466157049",
        store_variant_id="gid://shopify/ProductVariant/39072856",
        store_product_id="gid://shopify/Product/632910392",
        sku="IPOD2008GREEN",
        title="IPod Nano - 8gb - green",
        quantity=1,
        unit_price=Decimal("199.00"),
    )
    assert [line.sku for line in order.lines] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    assert order.is_cancelled is False


def test_woocommerce_order_maps_to_order_data():
    order = woo_mappers.order_from_payload(fixture_json("woocommerce-order.json"))
    assert (order.store_order_id, order.number, order.currency, order.total, order.status) == (
        "727",
        "727",
        "USD",
        Decimal("29.35"),
        "processing",
    )
    assert (order.shopper_name, order.shopper_email, order.shipping_address["zip"]) == (
        "John Doe",
        "john.doe@example.com",
        "94103",
    )
    assert order.lines == (
        OrderLineData("315", "93", "", "Woo Single #1", 2, Decimal("3.00"), "93"),
        OrderLineData(
            "316",
            "23",
            "Bar3",
            "Ship Your Idea &ndash; Color: Black, Size: M Test",
            1,
            Decimal("12.00"),
            "22",
        ),
    )
