"""Vendor payloads (the platforms' own fixtures) into our DTOs."""

from decimal import Decimal

import pytest

from integrations.base import (
    OrderLineData,
    PaymentState,
    RefundedLine,
    StoreOrderEventKind,
    StorePermanentError,
)
from integrations.shopify import mappers as shopify_mappers
from integrations.woocommerce import mappers as woo_mappers
from integrations.woocommerce.webhooks import WooCommerceOrderWebhooks
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


# --- payment state (issue 14, points 5 and 10) -----------------------------------------------------
@pytest.mark.parametrize(
    ("financial_status", "gateways", "state"),
    [
        ("paid", ["shopify_payments"], PaymentState.PAID),
        ("partially_refunded", ["shopify_payments"], PaymentState.PAID),
        ("authorized", ["shopify_payments"], PaymentState.AWAITING),
        ("partially_paid", ["manual"], PaymentState.AWAITING),
        ("pending", ["shopify_payments"], PaymentState.AWAITING),
        ("pending", ["Cash on Delivery (COD)"], PaymentState.MANUAL),
        ("pending", ["Bank Deposit"], PaymentState.MANUAL),
        ("pending", ["manual"], PaymentState.MANUAL),
        ("voided", ["shopify_payments"], PaymentState.VOIDED),
        ("expired", ["shopify_payments"], PaymentState.VOIDED),
        ("refunded", ["shopify_payments"], PaymentState.REFUNDED),
        (None, [], PaymentState.AWAITING),
        ("something_new", [], PaymentState.AWAITING),
    ],
)
def test_shopify_financial_status_maps_to_a_payment_state(financial_status, gateways, state):
    body = fixture_json("shopify-order.json")["order"]
    body["financial_status"] = financial_status
    body["payment_gateway_names"] = gateways
    assert shopify_mappers.order_from_webhook(body).payment_state == state


def test_the_fixture_order_is_authorized_not_paid():
    order = shopify_mappers.order_from_webhook(fixture_json("shopify-order.json")["order"])
    assert (order.payment_state, order.payment_label) == (PaymentState.AWAITING, "authorized")


@pytest.mark.parametrize(
    ("status", "method", "state"),
    [
        ("processing", "stripe", PaymentState.PAID),
        ("completed", "stripe", PaymentState.PAID),
        ("on-hold", "bacs", PaymentState.MANUAL),
        ("on-hold", "cheque", PaymentState.MANUAL),
        ("on-hold", "stripe", PaymentState.AWAITING),
        ("pending", "bacs", PaymentState.AWAITING),
        ("refunded", "bacs", PaymentState.REFUNDED),
    ],
)
def test_woocommerce_status_maps_to_a_payment_state(status, method, state):
    body = fixture_json("woocommerce-order.json")
    body["status"], body["payment_method"] = status, method
    assert woo_mappers.order_from_payload(body).payment_state == state


def test_shopify_refund_body_names_the_refunded_lines_whatever_the_restock_type():
    body = {
        "id": 509562969,
        "order_id": 450789469,
        "refund_line_items": [
            {"id": 1, "line_item_id": 466157049, "quantity": 1, "restock_type": "cancel"},
            {"id": 2, "line_item_id": 518995019, "quantity": 2, "restock_type": "no_restock"},
            {"id": 3, "line_item_id": 466157049, "quantity": 1, "restock_type": "return"},
        ],
    }
    assert shopify_mappers.refund_from_webhook(body) == (
        "gid://shopify/Order/450789469",
        "509562969",
        (
            RefundedLine(store_line_id="gid://shopify/LineItem/466157049", quantity=2),
            RefundedLine(store_line_id="gid://shopify/LineItem/518995019", quantity=2),
        ),
    )


def test_woocommerce_order_deleted_body_is_only_the_id():
    parser = WooCommerceOrderWebhooks()
    event = parser.parse_order_webhook(topic="order.deleted", payload={"id": 727})
    assert (event.kind, event.store_order_id, event.cancel_reason) == (
        StoreOrderEventKind.CANCELLED,
        "727",
        "deleted",
    )
    with pytest.raises(StorePermanentError, match="names no order id"):
        parser.parse_order_webhook(topic="order.deleted", payload={})
