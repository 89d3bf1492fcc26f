"""Shopify's mandatory privacy webhooks erase what they must and nothing more."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from dropship.accounts.roles import PLATFORM_ADMIN
from integrations.models import InboundWebhook, OutboundPush
from orders.models import Order
from orders.services.fraud import address_fingerprint, shopper_fingerprint
from retailers.models import Store
from tests import factories
from tests.integrations.helpers import post_shopify

SHOP = "maple-and-co.myshopify.com"
OTHER_SHOP = "birch-goods.myshopify.com"
ADDRESS = {
    "name": "Bob Norman",
    "address1": "Chestnut Street 92",
    "city": "Louisville",
    "zip": "40202",
    "country_code": "US",
}


def _order(store, number, legacy_id, email, name="Bob Norman"):
    return factories.OrderFactory(
        store=store,
        number=number,
        store_order_id=f"gid://shopify/Order/{legacy_id}",
        shopper_name=name,
        shopper_email=email,
        shipping_address=dict(ADDRESS, name=name),
        address_fingerprint=address_fingerprint(ADDRESS),
        shopper_fingerprint=shopper_fingerprint(email),
    )


def _order_webhook(store, legacy_id, email):
    body = json.dumps({"id": legacy_id, "email": email, "shipping_address": ADDRESS}).encode()
    return InboundWebhook.objects.create(
        source="SHOPIFY",
        topic="orders/create",
        dedup_key=f"evt-{legacy_id}",
        body=body,
        store=store,
        status="PROCESSED",
        headers={"X-Shopify-Topic": "orders/create"},
    )


@pytest.fixture
def world(db):
    shop = factories.StoreFactory(domain=SHOP)
    other = factories.StoreFactory(domain=OTHER_SHOP)
    return {
        "shop": shop,
        "other": other,
        "bob_1": _order(shop, "#1001", 1001, "bob@example.com"),
        "bob_2": _order(shop, "#1002", 1002, "Bob@Example.com"),
        "ann": _order(shop, "#1003", 1003, "ann@example.com", name="Ann Lee"),
        "bob_elsewhere": _order(other, "#2001", 2001, "bob@example.com"),
        "hook_bob_1": _order_webhook(shop, 1001, "bob@example.com"),
        "hook_bob_2": _order_webhook(shop, 1002, "bob@example.com"),
        "hook_ann": _order_webhook(shop, 1003, "ann@example.com"),
        "hook_elsewhere": _order_webhook(other, 2001, "bob@example.com"),
    }


def _send(client, topic, payload, capture):
    body = json.dumps(payload).encode()
    with capture(execute=True):
        response = post_shopify(client, body, topic=topic, shop=SHOP)
    assert response.status_code == 200
    return InboundWebhook.objects.get(topic=topic)


def test_customers_redact_erases_that_shoppers_data_in_that_shop_only(
    client, world, django_capture_on_commit_callbacks
):
    payload = {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "customer": {"id": 191167, "email": "bob@example.com", "phone": "555-625-1199"},
        "orders_to_redact": [1001],
    }
    webhook = _send(client, "customers/redact", payload, django_capture_on_commit_callbacks)
    assert (webhook.status, webhook.last_error) == ("PROCESSED", "")
    for key in ("bob_1", "bob_2"):  # by order id, and by email (case-insensitive)
        order = Order.objects.get(pk=world[key].pk)
        assert (
            order.shopper_name,
            order.shopper_email,
            order.shipping_address,
            order.address_fingerprint,  # the fraud checks' keyed hashes of address and email
            order.shopper_fingerprint,
            order.is_redacted,
        ) == ("", "", None, "", "", True)
        assert order.number == world[key].number  # the order itself stays, for accounting
    for key, name, email in [
        ("ann", "Ann Lee", "ann@example.com"),
        ("bob_elsewhere", "Bob Norman", "bob@example.com"),
    ]:
        order = Order.objects.get(pk=world[key].pk)
        assert (order.shopper_name, order.shopper_email, order.is_redacted) == (name, email, False)
        assert order.shopper_fingerprint == shopper_fingerprint(email)
        assert order.shipping_address == dict(ADDRESS, name=name)
    bodies = {
        key: bytes(InboundWebhook.objects.get(pk=world[key].pk).body)
        for key in ("hook_bob_1", "hook_bob_2", "hook_ann", "hook_elsewhere")
    }
    assert bodies["hook_bob_1"] == bodies["hook_bob_2"] == b""
    assert json.loads(bodies["hook_ann"])["email"] == "ann@example.com"
    assert json.loads(bodies["hook_elsewhere"])["email"] == "bob@example.com"
    webhook.refresh_from_db()
    assert (bytes(webhook.body), webhook.headers) == (
        b"",
        {},
    )  # the request itself named the shopper


def test_customers_redact_also_erases_finished_pushes_for_those_orders(
    client, world, django_capture_on_commit_callbacks
):
    supplier_order = factories.SupplierOrderFactory(order=world["bob_1"])
    done = OutboundPush.objects.create(
        kind="SUPPLIER_ORDER_WEBHOOK",
        idempotency_key="so-1",
        supplier_order=supplier_order,
        payload={"address": ADDRESS},
        status="SUCCEEDED",
    )
    pending = OutboundPush.objects.create(
        kind="SUPPLIER_ORDER_WEBHOOK",
        idempotency_key="so-2",
        supplier_order=supplier_order,
        payload={"address": ADDRESS},
        status="PENDING",
    )
    _send(
        client,
        "customers/redact",
        {"shop_domain": SHOP, "customer": {"email": "bob@example.com"}, "orders_to_redact": []},
        django_capture_on_commit_callbacks,
    )
    done.refresh_from_db()
    pending.refresh_from_db()
    assert (done.payload, pending.payload) == (None, {"address": ADDRESS})


def test_data_request_emails_platform_admins_what_we_hold(
    client, world, django_capture_on_commit_callbacks
):
    admin = factories.UserFactory(email="ops@dropship.example", is_staff=True)
    admin.groups.add(Group.objects.get(name=PLATFORM_ADMIN))
    factories.UserFactory(email="not-admin@example.com", is_staff=True)
    mail.outbox.clear()
    payload = {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "orders_requested": [1001],
        "customer": {"id": 191167, "email": "bob@example.com", "phone": "555-625-1199"},
        "data_request": {"id": 9999},
    }
    webhook = _send(client, "customers/data_request", payload, django_capture_on_commit_callbacks)
    assert webhook.status == "PROCESSED"
    [message] = mail.outbox
    assert message.to == ["ops@dropship.example"]
    assert message.subject == f"Shopify data request for a shopper of {SHOP}"
    assert "Shopify data request 9999" in message.body
    assert "Order #1001" in message.body
    assert "Order #1002" in message.body
    assert "Chestnut Street 92" in message.body
    assert "#1003" not in message.body
    assert "#2001" not in message.body
    assert Order.objects.filter(is_redacted=True).count() == 0  # a report erases nothing


def test_shop_redact_erases_the_shops_data_and_nothing_of_other_shops(
    client, world, django_capture_on_commit_callbacks
):
    Store.objects.filter(pk=world["shop"].pk).update(status="DISCONNECTED", credentials=None)
    _send(
        client,
        "shop/redact",
        {"shop_id": 954889, "shop_domain": SHOP},
        django_capture_on_commit_callbacks,
    )
    shop_orders = Order.objects.filter(store=world["shop"])
    assert {
        (o.shopper_name, o.shopper_email, o.shipping_address, o.is_redacted) for o in shop_orders
    } == {("", "", None, True)}
    assert set(
        InboundWebhook.objects.filter(store=world["shop"]).values_list("body", flat=True)
    ) == {b""}
    other = Order.objects.get(pk=world["bob_elsewhere"].pk)
    assert (other.shopper_email, other.is_redacted) == ("bob@example.com", False)
    assert (
        json.loads(bytes(InboundWebhook.objects.get(pk=world["hook_elsewhere"].pk).body))["id"]
        == 2001
    )
    store = Store.objects.get(pk=world["shop"].pk)
    assert (store.credentials, store.webhook_secret, store.status) == (None, "", "DISCONNECTED")


def test_app_uninstalled_disconnects_the_store_and_wipes_its_token(
    client, world, django_capture_on_commit_callbacks
):
    _send(
        client,
        "app/uninstalled",
        {"id": 690933842, "domain": SHOP, "myshopify_domain": SHOP},
        django_capture_on_commit_callbacks,
    )
    store = Store.objects.get(pk=world["shop"].pk)
    assert (store.status, store.credentials, store.status_reason) == (
        "DISCONNECTED",
        None,
        "The Dropship app was uninstalled from the shop.",
    )
    assert store.disconnected_at is not None
    assert Store.objects.get(pk=world["other"].pk).status == "CONNECTED"
    assert world["shop"].retailer.notifications.get().kind == "store_uninstalled"
