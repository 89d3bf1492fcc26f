"""The supplier shipping rates API: read and replace the set through the settings page's service."""

import json

import pytest

from dropship.accounts.services import create_api_key
from suppliers.models import ShippingRate, Supplier
from tests import factories
from tests.problems import problem

pytestmark = pytest.mark.django_db
URL = "/api/v1/supplier/shipping-rates"
GROUND = {
    "carrier": "UPS",
    "service": "Ground",
    "zone": "DOMESTIC",
    "price": "5.90",
    "additional_item_price": "1.50",
    "min_days": 2,
    "max_days": 5,
}
EXPRESS = {
    "carrier": "DHL",
    "service": "Express",
    "zone": "INTERNATIONAL",
    "price": "24.00",
    "min_days": 3,
    "max_days": 8,
}


@pytest.fixture
def supplier():
    return factories.SupplierFactory(handling_days=2)


@pytest.fixture
def auth(supplier):
    _, secret = create_api_key(organisation=supplier, name="ERP", created_by=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _put(client, body, auth):
    return client.put(URL, data=json.dumps(body), content_type="application/json", **auth)


@pytest.mark.embedded
def test_read_then_replace_the_rates(client, supplier, auth):
    old = factories.ShippingRateFactory(supplier=supplier, carrier="USPS", service="Priority")
    factories.ShippingRateFactory(carrier="THEIRS")

    before = client.get(URL, **auth)
    replaced = _put(client, {"handling_days": 3, "rates": [GROUND, EXPRESS]}, auth)

    assert before.status_code == 200
    assert [r["id"] for r in before.json()["rates"]] == [old.pk]
    assert replaced.status_code == 200, replaced.content
    body = replaced.json()
    assert (body["handling_days"], body["min_order_value"], body["currency"]) == (3, "0.00", "USD")
    assert [
        (r["carrier"], r["service"], r["zone"], r["price"], r["additional_item_price"])
        for r in body["rates"]
    ] == [
        ("UPS", "Ground", "DOMESTIC", "5.90", "1.50"),
        ("DHL", "Express", "INTERNATIONAL", "24.00", "0.00"),
    ]
    assert set(
        ShippingRate.objects.filter(supplier=supplier).values_list("carrier", flat=True)
    ) == {"UPS", "DHL"}
    assert ShippingRate.objects.filter(carrier="THEIRS").count() == 1


def test_duplicate_routes_and_reversed_days_are_refused_and_nothing_changes(client, supplier, auth):
    factories.ShippingRateFactory(supplier=supplier, carrier="USPS", service="Priority")

    twice = _put(client, {"rates": [GROUND, GROUND]}, auth)
    reversed_days = _put(client, {"rates": [GROUND | {"min_days": 9, "max_days": 2}]}, auth)

    assert twice.status_code == 400
    assert problem(twice)["field"] == "rates"
    assert reversed_days.status_code == 400
    assert problem(reversed_days) == {
        "detail": "A rate's max days must be at least its min days.",
        "field": "rates",
    }
    assert list(
        ShippingRate.objects.filter(supplier=supplier).values_list("carrier", flat=True)
    ) == ["USPS"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rates": []}, "rates"),
        ({"rates": [GROUND | {"zone": "MARS"}]}, "rates.0.zone"),
        ({"rates": [GROUND | {"price": "-1"}]}, "rates.0.price"),
        ({"rates": [GROUND | {"carrier": "x" * 33}]}, "rates.0.carrier"),
        ({"handling_days": 61, "rates": [GROUND]}, "handling_days"),
        ({"rates": [GROUND] * 101}, "rates"),
    ],
)
def test_bad_bodies_answer_422_naming_the_field(client, supplier, auth, body, field):
    response = _put(client, body, auth)

    assert response.status_code == 422
    assert response.json()["field"] == field
    assert not ShippingRate.objects.filter(supplier=supplier).exists()


def test_a_suspended_supplier_cannot_change_its_rates(client, supplier, auth):
    Supplier.objects.filter(pk=supplier.pk).update(status=Supplier.Status.SUSPENDED)

    response = _put(client, {"rates": [GROUND]}, auth)

    assert response.status_code == 400
    assert problem(response)["detail"] == "This part of your account cannot be changed now."
    assert not ShippingRate.objects.exists()


def test_a_retailer_key_is_403_and_no_key_401(client):
    _, secret = create_api_key(
        organisation=factories.RetailerFactory(), name="Shop", created_by=None
    )
    retailer = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    assert client.get(URL, **retailer).status_code == 403
    assert _put(client, {"rates": [GROUND]}, retailer).status_code == 403
    assert client.get(URL).status_code == 401
    assert ShippingRate.objects.count() == 0
