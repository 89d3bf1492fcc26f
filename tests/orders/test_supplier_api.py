"""The supplier order API: list by status, accept, ship; another supplier's order is 404."""

import pytest

from dropship.accounts.services import create_api_key
from orders.models import Shipment, SupplierOrder
from tests import factories
from tests.problems import problem

pytestmark = pytest.mark.django_db
UPS = "1Z999AA10123456784"
BASE = "/api/v1/supplier/orders"


@pytest.fixture
def supplier():
    return factories.SupplierFactory()


@pytest.fixture
def auth(supplier):
    user = factories.SupplierMemberFactory(supplier=supplier).user
    _, secret = create_api_key(organisation=supplier, name="ERP", created_by=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_list_filters_by_status_and_hides_unpaid_and_foreign_orders(client, supplier, auth):
    new = factories.make_supplier_order(supplier=supplier)
    accepted = factories.make_supplier_order(supplier=supplier, status="ACCEPTED")
    factories.make_supplier_order(supplier=supplier, status="PENDING")
    factories.make_supplier_order()

    everything = client.get(BASE, **auth).json()
    assert {o["number"] for o in everything["items"]} == {new.number, accepted.number}
    only_new = client.get(BASE, {"status": "new"}, **auth).json()
    assert [o["number"] for o in only_new["items"]] == [new.number]
    only_accepted = client.get(BASE, {"status": "accepted"}, **auth).json()
    assert [o["id"] for o in only_accepted["items"]] == [accepted.pk]
    bad = client.get(BASE, {"status": "lost"}, **auth)
    assert bad.status_code == 400
    assert "Unknown status" in bad.json()["detail"]


def test_accept_then_ship_some_lines_by_sku(client, supplier, auth):
    supplier_order = factories.make_supplier_order(supplier=supplier, lines=[(2, None), (1, None)])
    first_sku = supplier_order.items.order_by("pk").first().sku

    accepted = client.post(f"{BASE}/{supplier_order.pk}/accept", **auth)
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "ACCEPTED"

    shipped = client.post(
        f"{BASE}/{supplier_order.pk}/ship",
        {"carrier": "UPS", "tracking_number": UPS, "lines": [{"sku": first_sku, "quantity": 2}]},
        content_type="application/json",
        **auth,
    )
    assert shipped.status_code == 200, shipped.content
    body = shipped.json()
    assert body["shipment"]["tracking_url"] == f"https://www.ups.com/track?tracknum={UPS}"
    assert body["order"]["status"] == "ACCEPTED"
    assert [(line["sku"], line["quantity_shipped"]) for line in body["order"]["lines"]] == [
        (first_sku, 2),
        (supplier_order.items.order_by("pk").last().sku, 0),
    ]

    again = client.post(
        f"{BASE}/{supplier_order.pk}/ship",
        {"carrier": "UPS", "tracking_number": UPS, "lines": [{"sku": first_sku, "quantity": 2}]},
        content_type="application/json",
        **auth,
    )
    assert again.status_code == 200  # a retried call does not ship twice
    assert Shipment.objects.count() == 1


def test_ship_the_whole_order(client, supplier, auth):
    supplier_order = factories.make_supplier_order(supplier=supplier)
    response = client.post(
        f"{BASE}/{supplier_order.pk}/ship",
        {"carrier": "usps", "tracking_number": "9400111899223100000000"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200
    assert response.json()["order"]["status"] == "SHIPPED"


def test_bad_tracking_is_400_naming_the_field_and_nothing_changes(client, supplier, auth):
    supplier_order = factories.make_supplier_order(supplier=supplier)
    response = client.post(
        f"{BASE}/{supplier_order.pk}/ship",
        {"carrier": "FedEx", "tracking_number": "1Z999AA10123456784"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 400
    assert problem(response) == {
        "detail": "“1Z999AA10123456784” is not a FedEx tracking number (for example 123456789012).",
        "field": "tracking_number",
    }
    assert Shipment.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"carrier": "UPS", "tracking_number": UPS, "lines": [{"sku": "X", "quantity": 0}]},
        {"carrier": "UPS", "tracking_number": UPS, "lines": [{"sku": "X", "quantity": -1}]},
        {"carrier": "UPS"},
    ],
)
def test_malformed_ship_bodies_are_422(client, supplier, auth, payload):
    supplier_order = factories.make_supplier_order(supplier=supplier)
    response = client.post(
        f"{BASE}/{supplier_order.pk}/ship", payload, content_type="application/json", **auth
    )
    assert response.status_code == 422
    assert Shipment.objects.count() == 0


def test_another_suppliers_order_is_404(client, auth):
    other = factories.make_supplier_order()
    assert client.get(f"{BASE}/{other.pk}", **auth).status_code == 404
    assert client.post(f"{BASE}/{other.pk}/accept", **auth).status_code == 404
    response = client.post(
        f"{BASE}/{other.pk}/ship",
        {"carrier": "UPS", "tracking_number": UPS},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == SupplierOrder.Status.SENT


def test_a_retailer_key_is_403_and_no_key_401(client):
    retailer = factories.RetailerFactory()
    user = factories.RetailerMemberFactory(retailer=retailer).user
    _, secret = create_api_key(organisation=retailer, name="shop", created_by=user)
    assert client.get(BASE, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 403
    assert client.get(BASE).status_code == 401
