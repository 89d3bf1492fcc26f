"""Support executes a WooCommerce or custom-store shopper's data request from the admin: find
the shopper's orders by e-mail in one store, export them as JSON or erase them; audited."""

import json

import pytest
from django.contrib.auth.models import Group

from dropship.accounts.roles import SUPPORT_AGENT
from dropship.core.models import AuditLogEntry
from integrations.models import InboundWebhook
from orders.models import Order
from privacy.models import ShopperDataRequest
from retailers.models import Store
from tests import factories
from tests.mfa import login_with_second_factor

# The Privacy page and the retention job are README flows: they run on SQLite too.
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
URL = "/admin/privacy/shopperdatarequest/execute/"


@pytest.fixture
def agent_client(client):
    agent = factories.UserFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name=SUPPORT_AGENT))
    login_with_second_factor(client, agent)
    client.agent = agent
    return client


@pytest.fixture
def woo():
    store = factories.StoreFactory(
        platform=Store.Platform.WOOCOMMERCE, domain="https://shop.example.com"
    )
    mine = factories.OrderFactory(
        store=store, shopper_email="Ann@Example.com", shopper_name="Ann Lee"
    )
    factories.OrderItemFactory(order=mine, title="Mug", sku="MUG-1")
    theirs = factories.OrderFactory(store=store, shopper_email="zed@example.com")
    elsewhere = factories.OrderFactory(shopper_email="ann@example.com")
    return store, mine, theirs, elsewhere


def test_support_finds_and_exports_a_shoppers_orders_as_json(agent_client, woo):
    store, mine, _theirs, _elsewhere = woo
    found = agent_client.post(
        URL, {"store": store.pk, "email": "ann@example.com", "action": "find"}
    )
    assert found.status_code == 200
    assert "1 order(s) found" in found.content.decode()

    response = agent_client.post(
        URL, {"store": store.pk, "email": "ann@example.com", "action": "export"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = json.loads(response.content)
    assert [o["number"] for o in document["orders"]] == [mine.number]
    assert document["orders"][0]["shopper_name"] == "Ann Lee"
    assert document["orders"][0]["items"] == [{"title": "Mug", "sku": "MUG-1", "quantity": 1}]
    request = ShopperDataRequest.objects.get()
    assert (request.action, request.orders, request.handled_by) == ("EXPORT", 1, agent_client.agent)
    assert "ann@example.com" not in json.dumps(request.order_numbers) + request.shopper_fingerprint
    entry = AuditLogEntry.objects.get(action="privacy.shopper_data_exported")
    assert (entry.actor, entry.target_id, entry.data) == (
        agent_client.agent,
        str(store.pk),
        {"orders": [mine.number]},
    )


def test_support_erases_a_shoppers_data_in_one_store_only(agent_client, woo):
    store, mine, theirs, elsewhere = woo
    hook = InboundWebhook.objects.create(
        source="WOOCOMMERCE",
        store=store,
        topic="order.created",
        dedup_key="x",
        body=b'{"billing":{"email":"ann@example.com"}}',
    )

    response = agent_client.post(
        URL, {"store": store.pk, "email": "ann@example.com", "action": "redact"}
    )

    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.shopper_name, mine.shopper_email, mine.shipping_address, mine.is_redacted) == (
        "",
        "",
        None,
        True,
    )
    for untouched in (theirs, elsewhere):
        untouched.refresh_from_db()
        assert not untouched.is_redacted
    assert bytes(InboundWebhook.objects.get(pk=hook.pk).body) == b""
    assert (
        AuditLogEntry.objects.filter(
            action="privacy.shopper_data_erased", actor=agent_client.agent
        ).count()
        == 1
    )


def test_a_bad_email_is_a_form_error_and_nothing_is_recorded(agent_client, woo):
    store, *_ = woo
    response = agent_client.post(
        URL, {"store": store.pk, "email": "not-an-email", "action": "redact"}
    )
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert not ShopperDataRequest.objects.exists()
    assert not Order.objects.filter(is_redacted=True).exists()


def test_the_page_is_for_staff_with_the_permission_only(client, woo, retailer_member):
    client.force_login(retailer_member.user)
    assert client.get(URL).status_code == 302  # to the admin login
    staff_without = factories.UserFactory(is_staff=True)
    login_with_second_factor(client, staff_without)
    assert client.get(URL).status_code == 403


def test_the_store_admin_action_opens_the_page_with_the_store_chosen(agent_client, woo):
    store, *_ = woo
    response = agent_client.post(
        "/admin/retailers/store/",
        {"action": "shopper_data_request", "_selected_action": [store.pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?store={store.pk}"
    page = agent_client.get(response["Location"])
    assert page.status_code == 200
    assert f'<option value="{store.pk}" selected>' in page.content.decode()
