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


SHOPIFY_ADDRESS = {
    "name": "Bob Norman",
    "company": "",
    "address1": "Chestnut Street 92",
    "address2": "Apt 4",
    "city": "Louisville",
    "province": "Kentucky",
    "province_code": "KY",
    "zip": "40202",
    "country": "United States",
    "country_code": "us",
    "phone": "+1 555-0100",
}
SHIP_TO = {
    "name": "Bob Norman",
    "company": "",
    "lines": ["Chestnut Street 92", "Apt 4"],
    "city": "Louisville",
    "region": "Kentucky",
    "region_code": "KY",
    "postcode": "40202",
    "country": "United States",
    "country_code": "US",
    "phone": "+1 555-0100",
}


@pytest.mark.embedded
def test_a_supplier_fulfils_an_order_using_only_the_api(client, supplier, auth):
    order = factories.OrderFactory(shipping_address=SHOPIFY_ADDRESS, number="#1042")
    supplier_order = factories.make_supplier_order(
        supplier=supplier, order=order, lines=[(2, None), (1, None)]
    )
    factories.make_supplier_order(supplier=supplier, status="ACCEPTED")  # not new

    # 1. the new orders
    new = client.get(BASE, {"status": "new"}, **auth)
    assert new.status_code == 200
    assert [o["id"] for o in new.json()["items"]] == [supplier_order.pk]

    # 2. accept it
    accepted = client.post(f"{BASE}/{supplier_order.pk}/accept", **auth)
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "ACCEPTED"

    # 3. read where it goes and what is in it
    detail = client.get(f"{BASE}/{supplier_order.pk}", **auth).json()
    assert detail["ship_to"] == SHIP_TO
    assert [(line["sku"], line["quantity"]) for line in detail["lines"]] == [
        (item.sku, item.quantity) for item in supplier_order.items.order_by("pk")
    ]

    # 4. print the packing slip from the link, with the same key
    slip = client.get(detail["packing_slip_url"], **auth)
    assert slip.status_code == 200
    assert slip["Content-Type"] == "application/pdf"
    assert slip["Content-Disposition"] == (
        f'attachment; filename="packing-slip-{supplier_order.number}.pdf"'
    )
    assert slip.content.startswith(b"%PDF-")

    # 5. ship everything with tracking
    shipped = client.post(
        f"{BASE}/{supplier_order.pk}/ship",
        {"carrier": "UPS", "tracking_number": UPS},
        content_type="application/json",
        **auth,
    )
    assert shipped.status_code == 200, shipped.content
    assert shipped.json()["order"]["status"] == "SHIPPED"
    assert shipped.json()["shipment"]["tracking_number"] == UPS
    supplier_order.refresh_from_db()
    assert (supplier_order.status, supplier_order.tracking_number) == ("SHIPPED", UPS)


def test_the_list_carries_the_ship_to_and_an_absolute_packing_slip_link(client, supplier, auth):
    supplier_order = factories.make_supplier_order(
        supplier=supplier, order=factories.OrderFactory(shipping_address=SHOPIFY_ADDRESS)
    )

    item = client.get(BASE, **auth).json()["items"][0]

    assert item["ship_to"] == SHIP_TO
    assert item["packing_slip_url"] == (
        f"http://testserver/api/v1/supplier/orders/{supplier_order.pk}/packing-slip"
    )


def test_a_redacted_address_is_null_ship_to(client, supplier, auth):
    supplier_order = factories.make_supplier_order(
        supplier=supplier, order=factories.OrderFactory(shipping_address=None)
    )

    assert client.get(f"{BASE}/{supplier_order.pk}", **auth).json()["ship_to"] is None


def test_the_list_pages_with_a_cursor(client, supplier, auth):
    orders = [factories.make_supplier_order(supplier=supplier) for _ in range(3)]

    first = client.get(BASE, {"limit": 2}, **auth).json()
    second = client.get(BASE, {"limit": 2, "cursor": first["next_cursor"]}, **auth).json()

    assert [o["id"] for o in first["items"]] == [orders[2].pk, orders[1].pk]
    assert [o["id"] for o in second["items"]] == [orders[0].pk]
    assert (first["has_more"], second["has_more"], second["next_cursor"]) == (True, False, None)


def test_another_suppliers_packing_slip_is_404_and_a_retailer_key_403(client, auth):
    other = factories.make_supplier_order()
    _, retailer_secret = create_api_key(
        organisation=factories.RetailerFactory(), name="shop", created_by=None
    )

    mine_not = client.get(f"{BASE}/{other.pk}/packing-slip", **auth)
    retailer = client.get(
        f"{BASE}/{other.pk}/packing-slip", HTTP_AUTHORIZATION=f"Bearer {retailer_secret}"
    )
    nobody = client.get(f"{BASE}/{other.pk}/packing-slip")

    assert mine_not.status_code == 404
    assert problem(mine_not) == {"detail": "Not found.", "field": None}
    assert retailer.status_code == 403
    assert nobody.status_code == 401


def test_a_reject_without_a_reason_is_422_naming_it(client, supplier, auth):
    supplier_order = factories.make_supplier_order(supplier=supplier)

    response = client.post(
        f"{BASE}/{supplier_order.pk}/reject", {}, content_type="application/json", **auth
    )

    assert response.status_code == 422
    assert response.json()["field"] == "reason"
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.SENT
