"""POST /api/v1/orders for custom stores and GET /api/v1/orders/{id}/status."""

import pytest

from catalog.models import Variant
from dropship.accounts.services import create_api_key
from orders.models import FraudRule, Order, SupplierOrder
from tests import factories
from tests.orders.pipeline import make_offer, terms_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def custom_store():
    return terms_store(platform="CUSTOM", domain="shop.custom.example")


def _auth(organisation):
    _, secret = create_api_key(organisation=organisation, name="test", created_by=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _order(offer, **changes):
    body = {
        "store_order_id": "C-1001",
        "number": "C-1001",
        "currency": "USD",
        "shopper_name": "Ada Lovelace",
        "shopper_email": "ada@example.com",
        "shipping_address": {
            "name": "Ada Lovelace",
            "address1": "1 Analytical Way",
            "city": "Boston",
            "zip": "02101",
            "country": "United States",
            "country_code": "us",
        },
        "lines": [
            {
                "store_line_id": "L1",
                "sku": offer.variant.sku,
                "title": "Widget",
                "quantity": 2,
                "unit_price": "24.99",
            },
        ],
        "total": "49.98",
    }
    body.update(changes)
    return body


def test_an_order_for_another_retailers_custom_store_answers_404_like_a_missing_one(
    client, custom_store
):
    offer = make_offer(store=custom_store, stock=5)
    theirs = terms_store(platform="CUSTOM", domain="theirs.custom.example")
    headers = _auth(custom_store.retailer)

    for store_id in (str(theirs.public_id), "00000000-0000-4000-8000-000000000000"):
        response = client.post(
            "/api/v1/orders",
            _order(offer, store=store_id),
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 404, response.content
        assert response.json()["detail"] == "No custom store of yours has that id."
    assert Order.objects.count() == 0


def test_custom_store_order_is_created_then_recognised_as_duplicate(client, custom_store):
    offer = make_offer(store=custom_store, stock=5)
    headers = _auth(custom_store.retailer)
    first = client.post("/api/v1/orders", _order(offer), content_type="application/json", **headers)
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["created"] is True
    assert data["status"] == "CONFIRMED"
    assert data["items"][0]["status"] == "RESERVED"
    assert data["supplier_orders"][0]["status"] == "SENT"
    again = client.post("/api/v1/orders", _order(offer), content_type="application/json", **headers)
    assert again.status_code == 200
    assert again.json()["id"] == data["id"]
    assert Order.objects.count() == 1
    assert Variant.objects.get(pk=offer.variant_id).stock_reserved == 2

    status = client.get(f"/api/v1/orders/{data['id']}/status", **headers)
    assert status.status_code == 200
    assert status.json()["supplier_orders"][0]["number"] == SupplierOrder.objects.get().number
    assert status.json()["supplier_orders"][0]["tracking_number"] == ""


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"lines": [{"store_line_id": "L1", "sku": "X", "quantity": 0}]}, 422, "at least 1"),
        ({"lines": [{"store_line_id": "L1", "sku": "X", "quantity": -1}]}, 422, "at least 1"),
        ({"lines": []}, 422, "no lines"),
        ({"store_order_id": ""}, 422, "no id"),
        ({"currency": "XXX"}, 422, "Currency"),
        ({"shipping_address": {}}, 422, "no street"),
        (
            {"lines": [{"store_line_id": "L1", "sku": "NOT-OURS", "quantity": 1}]},
            422,
            "None of the lines are Dropship products",
        ),
        ({"lines": [{"store_line_id": "L1", "quantity": "many"}]}, 422, ""),
        ({"lines": "nope"}, 422, ""),
    ],
)
def test_bad_api_orders_get_a_clear_4xx_and_write_nothing(
    client, custom_store, change, status, message
):
    offer = make_offer(store=custom_store, stock=5)
    body = _order(offer, **change)
    response = client.post(
        "/api/v1/orders", body, content_type="application/json", **_auth(custom_store.retailer)
    )
    assert response.status_code == status, response.content
    assert message in response.content.decode()
    assert Order.objects.count() == 0
    assert Variant.objects.get(pk=offer.variant_id).stock_reserved == 0


def test_malformed_json_is_a_400_not_a_500(client, custom_store):
    response = client.post(
        "/api/v1/orders",
        b"{not json",
        content_type="application/json",
        **_auth(custom_store.retailer),
    )
    assert response.status_code == 400


def test_long_and_unicode_fields_are_cut_safely(client, custom_store):
    offer = make_offer(store=custom_store, stock=5)
    body = _order(offer)
    body["shipping_address"]["address1"] = "Ünïcødé ✓ " + "a" * 2000
    body["lines"][0]["title"] = "Ω" * 2000
    body["number"] = "N" * 2000
    response = client.post(
        "/api/v1/orders", body, content_type="application/json", **_auth(custom_store.retailer)
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert len(order.shipping_address["address1"]) == 255
    assert len(order.number) == 50
    assert len(order.items.get().title) == 500


def test_status_of_another_retailers_order_is_404_and_suppliers_are_refused(client, custom_store):
    offer = make_offer(store=custom_store, stock=5)
    created = client.post(
        "/api/v1/orders",
        _order(offer),
        content_type="application/json",
        **_auth(custom_store.retailer),
    ).json()
    other = factories.RetailerFactory()
    response = client.get(f"/api/v1/orders/{created['id']}/status", **_auth(other))
    assert response.status_code == 404
    supplier = client.get(f"/api/v1/orders/{created['id']}/status", **_auth(offer.variant.supplier))
    assert supplier.status_code == 403
    assert client.get(f"/api/v1/orders/{created['id']}/status").status_code == 401


def test_order_for_a_store_that_is_not_custom_is_refused(client):
    store = terms_store()  # Shopify: its orders come by webhook
    offer = make_offer(store=store)
    response = client.post(
        "/api/v1/orders", _order(offer), content_type="application/json", **_auth(store.retailer)
    )
    assert response.status_code == 422
    assert "no custom store" in response.json()["detail"]


def test_custom_store_order_billed_abroad_is_held_with_its_reason(client, custom_store):
    FraudRule.objects.filter(retailer=None, kind=FraudRule.Kind.COUNTRY_MISMATCH).update(
        is_enabled=True
    )
    offer = make_offer(store=custom_store, stock=5)

    response = client.post(
        "/api/v1/orders",
        _order(offer, billing_country="fr"),
        content_type="application/json",
        **_auth(custom_store.retailer),
    )

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["review_reasons"], data["supplier_orders"]) == (
        "HELD_FOR_REVIEW",
        "Billing country FR differs from shipping country US.",
        [],
    )
    assert data["items"][0]["status"] == "RESERVED"
    assert not SupplierOrder.objects.exists()
