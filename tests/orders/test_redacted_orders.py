"""Protected customer data (issue 14, point 4): without level 2 access Shopify withholds the
shopper's name, address, e-mail and phone from order webhooks and from the API. Such an order
no longer fails: its address is read from the fulfillment orders' destination, and when Shopify
withholds that too the order waits, reserved, as an exception the retailer resolves by typing
the address."""

import pytest

from catalog.models import Variant
from integrations.base import PaymentState
from integrations.models import InboundWebhook
from integrations.registry import get_store_client
from integrations.shopify.client import COST_SEEDS
from orders.models import Order, OrderItem, SupplierOrder
from sandbox.shopify import COD_GATEWAY
from tests.orders.store_events import shopify_shop

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

ADDRESS = {
    "name": "Bob Norman",
    "address1": "Chestnut Street 92",
    "city": "Louisville",
    "province": "Kentucky",
    "zip": "40202",
    "country_code": "US",
    "phone": "555-625-1199",
}


@pytest.fixture
def shop(shopify_sandbox, retailer_member):
    retailer = retailer_member.retailer
    retailer.has_payment_terms = True
    retailer.save(update_fields=["has_payment_terms"])
    return shopify_shop(shopify_sandbox, retailer=retailer)


def _reserved(shop) -> int:
    return Variant.objects.get(pk=shop.offers["TOWEL-1"].variant_id).stock_reserved


def test_redacted_order_takes_its_address_from_the_fulfillment_order_and_is_routed(
    client, django_capture_on_commit_callbacks, shop
):
    shop.app.redact_customer_data(shop.store.domain, destination_shared=True)
    shop.app.create_order(shop.store.domain, lines=[{"sku": "TOWEL-1", "quantity": 2}])
    assert shop.replay(client, django_capture_on_commit_callbacks) == [200]
    assert InboundWebhook.objects.get().status == InboundWebhook.Status.PROCESSED
    order = Order.objects.get()
    assert order.is_missing_address is False
    assert order.status == Order.Status.CONFIRMED
    assert order.shipping_address["address1"] == "Chestnut Street 92"
    assert order.shipping_address["name"] == "Bob Norman"
    assert (order.shipping_address["country_code"], order.shipping_country) == ("US", "US")
    assert order.shopper_email == ""  # withheld, and not needed to ship
    assert SupplierOrder.objects.get().status == SupplierOrder.Status.SENT
    [call] = shop.app.calls_for(shop.store.domain, "order")
    assert call.error.startswith("This app is not approved to access the MailingAddress object")
    assert call.requested_cost >= call.actual_cost
    assert _reserved(shop) == 2


def test_redacted_order_without_a_shared_destination_waits_for_the_retailers_address(
    client, django_capture_on_commit_callbacks, shop, retailer_member
):
    shop.app.redact_customer_data(shop.store.domain)
    shop.app.create_order(shop.store.domain, lines=[{"sku": "TOWEL-1", "quantity": 2}])
    shop.replay(client, django_capture_on_commit_callbacks)
    order = Order.objects.get()
    assert (order.status, order.is_missing_address) == (Order.Status.EXCEPTION, True)
    assert order.shipping_address["address1"] == ""
    assert order.shipping_country == "US"  # Shopify keeps the region
    assert list(order.items.values_list("status", flat=True)) == [OrderItem.Status.RESERVED]
    assert _reserved(shop) == 2
    assert not SupplierOrder.objects.exists()
    [note] = retailer_member.retailer.notifications.filter(kind="orders.address_missing")
    assert note.message == (
        f"Order {order.number}: shipping address not shared by {shop.store.name}. "
        "Enter it to send the order on."
    )
    client.force_login(retailer_member.user)
    page = client.get(f"/retailer/orders/{order.pk}/").content.decode()
    assert f"Shipping address not shared by {shop.store.name}" in page
    assert f'action="/retailer/orders/{order.pk}/address/"' in page

    # Bad input: no street. The retailer is told which field; nothing changes.
    response = client.post(
        f"/retailer/orders/{order.pk}/address/", {**ADDRESS, "address1": ""}, follow=True
    )
    assert "Enter the street address." in response.content.decode()
    order.refresh_from_db()
    assert (order.is_missing_address, order.shipping_address["address1"]) == (True, "")
    assert not SupplierOrder.objects.exists()

    client.post(f"/retailer/orders/{order.pk}/address/", ADDRESS)
    order.refresh_from_db()
    assert (order.status, order.is_missing_address) == (Order.Status.CONFIRMED, False)
    assert order.shipping_address["address1"] == "Chestnut Street 92"
    assert order.shipping_address["province"] == "Kentucky"
    assert SupplierOrder.objects.get().status == SupplierOrder.Status.SENT
    assert _reserved(shop) == 2
    assert order.events.filter(message="Shipping address entered by the retailer.").exists()


def test_unpaid_redacted_order_waits_for_both_and_routes_when_paid_after_the_address(
    client, django_capture_on_commit_callbacks, shop, retailer_member
):
    shop.app.redact_customer_data(shop.store.domain)
    placed = shop.app.create_order(
        shop.store.domain,
        lines=[{"sku": "TOWEL-1", "quantity": 1}],
        financial_status="pending",
        gateway=COD_GATEWAY,
    )
    shop.replay(client, django_capture_on_commit_callbacks)
    order = Order.objects.get()
    client.force_login(retailer_member.user)
    client.post(f"/retailer/orders/{order.pk}/address/", ADDRESS)
    order.refresh_from_db()
    assert (order.status, order.is_missing_address, order.is_awaiting_payment) == (
        Order.Status.AWAITING_PAYMENT,
        False,
        True,
    )
    assert not SupplierOrder.objects.exists()
    shop.app.mark_paid(shop.store.domain, placed["id"])
    shop.replay(client, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert SupplierOrder.objects.count() == 1


def test_get_order_reads_a_redacted_order_with_its_payment_state(shop):
    shop.app.redact_customer_data(shop.store.domain)
    placed = shop.app.create_order(
        shop.store.domain,
        lines=[{"sku": "TOWEL-1", "quantity": 1}],
        financial_status="pending",
        gateway=COD_GATEWAY,
        deliver=False,
    )
    data = get_store_client(store=shop.store).get_order(store_order_id=placed["id"])
    assert data.store_order_id == placed["id"]
    assert (data.shopper_name, data.shopper_email, data.shipping_address["address1"]) == (
        "",
        "",
        "",
    )
    assert (data.payment_state, data.payment_label) == (
        PaymentState.MANUAL,
        f"pending ({COD_GATEWAY})",
    )
    assert [line.sku for line in data.lines] == ["TOWEL-1"]


def test_shipping_address_is_none_when_shopify_withholds_the_destination(shop):
    shop.app.redact_customer_data(shop.store.domain)
    placed = shop.app.create_order(
        shop.store.domain, lines=[{"sku": "TOWEL-1", "quantity": 1}], deliver=False
    )
    client = get_store_client(store=shop.store)
    assert client.get_shipping_address(store_order_id=placed["id"]) is None
    shop.app.redact_customer_data(shop.store.domain, destination_shared=True)
    address = client.get_shipping_address(store_order_id=placed["id"])
    assert address["address1"] == "Chestnut Street 92"
    assert (address["city"], address["zip"], address["country_code"]) == (
        "Louisville",
        "40202",
        "US",
    )
    # The order's own address stays withheld: the destination is what carries the street.
    [*_, call] = shop.app.calls_for(shop.store.domain, "order")
    assert call.error.startswith("This app is not approved to access the MailingAddress object")
    # Cost accounting: the query asks for 5 fulfillment orders, close to what it uses.
    assert (call.requested_cost, call.actual_cost) == (
        COST_SEEDS["fulfillmentOrderDestinations"],
        6,
    )
