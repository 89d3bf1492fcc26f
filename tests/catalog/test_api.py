import json

import pytest
from django.test import Client

from catalog.models import StockMovement, Variant
from dropship.accounts.services import create_api_key, revoke_api_key
from tests import factories
from tests.problems import problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def supplier_key():
    member = factories.SupplierMemberFactory()
    api_key, secret = create_api_key(
        organisation=member.supplier, name="ERP", created_by=member.user
    )
    return member.supplier, api_key, secret


def _put(client: Client, sku: str, body, secret: str | None = None, **headers):
    if secret is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client.put(
        f"/api/v1/supplier/variants/{sku}/inventory",
        data=json.dumps(body),
        content_type="application/json",
        **headers,
    )


def _post(client: Client, items, secret: str):
    return client.post(
        "/api/v1/supplier/inventory",
        data=json.dumps({"items": items}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


def test_put_inventory_sets_stock_and_records_the_key_in_the_history(client, supplier_key):
    supplier, api_key, secret = supplier_key
    variant = factories.VariantFactory(
        product__supplier=supplier, sku="MUG-BLUE", stock_on_hand=10, stock_reserved=2
    )

    response = _put(client, "MUG-BLUE", {"quantity": 52}, secret)

    assert response.status_code == 200
    assert response.json() == {
        "sku": "MUG-BLUE",
        "stock_on_hand": 52,
        "stock_reserved": 2,
        "available": 50,
        "advertised": 45,
        "changed": True,
    }
    movement = StockMovement.objects.get(variant=variant)
    assert (movement.source, movement.on_hand_before, movement.on_hand_after) == ("API", 10, 52)
    assert movement.reference == f"API key {api_key.prefix}… (ERP)"


def test_put_inventory_accepts_skus_with_slashes(client, supplier_key):
    supplier, _, secret = supplier_key
    factories.VariantFactory(product__supplier=supplier, sku="AB/12", stock_on_hand=1)

    response = _put(client, "AB/12", {"quantity": 3}, secret)

    assert response.status_code == 200
    assert Variant.objects.get(sku="AB/12").stock_on_hand == 3


@pytest.mark.parametrize(
    "authorization",
    [
        None,  # missing
        "Bearer",  # malformed: no key
        "Token dsk_abc",  # malformed: wrong scheme
        "Bearer dsk_not-a-real-key-at-all",  # invalid
    ],
)
def test_missing_malformed_or_invalid_keys_get_401(client, supplier_key, authorization):
    supplier, _, _ = supplier_key
    variant = factories.VariantFactory(product__supplier=supplier, sku="A", stock_on_hand=5)
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = _put(client, "A", {"quantity": 9}, **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="Dropship API"')
    assert response.json()["code"] == (
        "invalid_api_key" if authorization else "authentication_required"
    )
    variant.refresh_from_db()
    assert variant.stock_on_hand == 5


def test_a_revoked_key_gets_401(client, supplier_key):
    supplier, api_key, secret = supplier_key
    variant = factories.VariantFactory(product__supplier=supplier, sku="A", stock_on_hand=5)
    revoke_api_key(api_key=api_key)

    response = _put(client, "A", {"quantity": 9}, secret)

    assert response.status_code == 401
    variant.refresh_from_db()
    assert variant.stock_on_hand == 5


def test_a_retailer_key_gets_403_on_supplier_endpoints(client):
    retailer = factories.RetailerFactory()
    _, retailer_secret = create_api_key(organisation=retailer, name="Shop", created_by=None)
    variant = factories.VariantFactory(sku="A", stock_on_hand=5)

    put = _put(client, "A", {"quantity": 9}, retailer_secret)
    listing = client.get(
        "/api/v1/supplier/products", HTTP_AUTHORIZATION=f"Bearer {retailer_secret}"
    )

    assert (put.status_code, listing.status_code) == (403, 403)
    variant.refresh_from_db()
    assert variant.stock_on_hand == 5


def test_another_suppliers_key_cannot_see_or_change_my_sku(client, supplier_key):
    supplier, _, _ = supplier_key
    mine = factories.VariantFactory(product__supplier=supplier, sku="MINE-1", stock_on_hand=5)
    other = factories.SupplierFactory()
    _, other_secret = create_api_key(organisation=other, name="Theirs", created_by=None)

    put = _put(client, "MINE-1", {"quantity": 0}, other_secret)
    batch = _post(client, [{"sku": "MINE-1", "quantity": 0}], other_secret)

    assert put.status_code == 404
    assert problem(put) == {"detail": "No variant with SKU MINE-1 in your catalog.", "field": "sku"}
    assert batch.status_code == 200
    assert batch.json()["unknown_skus"] == ["MINE-1"]
    mine.refresh_from_db()
    assert mine.stock_on_hand == 5


def test_a_supplier_members_session_can_use_the_api(supplier_client):
    variant = factories.VariantFactory(
        product__supplier=supplier_client.supplier, sku="S-1", stock_on_hand=1
    )

    response = _put(supplier_client, "S-1", {"quantity": 4})

    assert response.status_code == 200
    movement = StockMovement.objects.get(variant=variant)
    assert movement.actor == supplier_client.supplier.memberships.get().user


def test_a_retailer_members_session_gets_403(retailer_client):
    factories.VariantFactory(sku="S-1", stock_on_hand=1)

    assert _put(retailer_client, "S-1", {"quantity": 4}).status_code == 403


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({"quantity": -1}, "greater than or equal to 0"),
        ({"quantity": 2.5}, "valid integer"),
        ({"quantity": "5"}, "valid integer"),
        ({"quantity": 10_000_001}, "less than or equal to 10000000"),
        ({}, "Field required"),
    ],
)
def test_bad_quantities_get_422_naming_the_field(client, supplier_key, body, message_part):
    supplier, _, secret = supplier_key
    variant = factories.VariantFactory(product__supplier=supplier, sku="A", stock_on_hand=5)

    response = _put(client, "A", body, secret)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "quantity"
    assert message_part in error["message"]
    variant.refresh_from_db()
    assert variant.stock_on_hand == 5


def test_stock_below_reserved_gets_409_with_the_explanation(client, supplier_key):
    supplier, _, secret = supplier_key
    variant = factories.VariantFactory(
        product__supplier=supplier, sku="A", stock_on_hand=10, stock_reserved=4
    )

    response = _put(client, "A", {"quantity": 3}, secret)

    assert response.status_code == 409
    assert problem(response) == {
        "detail": "A: stock 3 is below the 4 units reserved for open orders; set at least 4.",
        "field": "quantity",
    }
    variant.refresh_from_db()
    assert variant.stock_on_hand == 10


def test_batch_applies_valid_items_and_reports_the_rest_by_sku(client, supplier_key):
    supplier, _, secret = supplier_key
    factories.VariantFactory(product__supplier=supplier, sku="A", stock_on_hand=1)
    factories.VariantFactory(product__supplier=supplier, sku="B", stock_on_hand=8)
    factories.VariantFactory(
        product__supplier=supplier, sku="C", stock_on_hand=10, stock_reserved=5
    )
    factories.VariantFactory(sku="THEIRS", stock_on_hand=3)

    response = _post(
        client,
        [
            {"sku": "A", "quantity": 100},
            {"sku": "B", "quantity": 8},
            {"sku": "C", "quantity": 2},
            {"sku": "NOPE", "quantity": 1},
            {"sku": "THEIRS", "quantity": 0},
        ],
        secret,
    )

    assert response.status_code == 200
    assert response.json() == {
        "updated": ["A"],
        "unchanged": ["B"],
        "unknown_skus": ["NOPE", "THEIRS"],
        "refused": [
            {
                "sku": "C",
                "detail": "C: stock 2 is below the 5 units reserved for open orders; set at least 5.",
            }
        ],
    }
    assert dict(Variant.objects.values_list("sku", "stock_on_hand")) == {
        "A": 100,
        "B": 8,
        "C": 10,
        "THEIRS": 3,
    }
    assert StockMovement.objects.count() == 1


def test_batch_with_one_bad_item_is_refused_whole_with_the_item_named(client, supplier_key):
    supplier, _, secret = supplier_key
    factories.VariantFactory(product__supplier=supplier, sku="A", stock_on_hand=1)
    factories.VariantFactory(product__supplier=supplier, sku="B", stock_on_hand=1)

    response = _post(client, [{"sku": "A", "quantity": 5}, {"sku": "B", "quantity": -2}], secret)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "items.1.quantity"
    assert list(Variant.objects.values_list("stock_on_hand", flat=True)) == [1, 1]


def test_batch_limits_and_duplicates_are_refused(client, supplier_key):
    _, _, secret = supplier_key
    too_many = [{"sku": f"S{i}", "quantity": 1} for i in range(1001)]

    over = _post(client, too_many, secret)
    empty = _post(client, [], secret)
    twice = _post(client, [{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 2}], secret)

    assert over.status_code == 422
    assert "at most 1000 items" in over.json()["errors"][0]["message"]
    assert empty.status_code == 422
    assert twice.status_code == 422
    assert "SKU A appears more than once in items." in twice.json()["errors"][0]["message"]


def test_products_lists_only_my_catalog_with_stock_paginated(client, supplier_key):
    supplier, _, secret = supplier_key
    for i in range(3):
        product = factories.ProductFactory(supplier=supplier, title=f"Mine {i}", handle=f"mine-{i}")
        factories.VariantFactory(
            product=product, sku=f"M-{i}", stock_on_hand=10 + i, stock_reserved=1
        )
    factories.VariantFactory(sku="THEIRS")

    first = client.get("/api/v1/supplier/products?limit=2", HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = first.json()
    second = client.get(
        "/api/v1/supplier/products",
        {"limit": 2, "cursor": body["next_cursor"]},
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )

    assert first.status_code == 200
    assert body["has_more"] is True
    assert [p["title"] for p in body["items"]] == ["Mine 2", "Mine 1"]
    variant = Variant.objects.get(sku="M-2")
    assert body["items"][0]["variants"] == [
        {
            "id": variant.pk,
            "product_id": variant.product_id,
            "sku": "M-2",
            "options": {},
            "wholesale_price": "10.00",
            "msrp": "24.99",
            "currency": "USD",
            "weight_grams": 0,
            "shipping_class": "standard",
            "low_stock_threshold": None,
            "stock_on_hand": 12,
            "stock_reserved": 1,
            "available": 11,
            "advertised": 9,
            "stock_updated_at": None,
        }
    ]
    assert [p["title"] for p in second.json()["items"]] == ["Mine 0"]
    assert second.json()["has_more"] is False
    assert second.json()["next_cursor"] is None


def test_the_inventory_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    assert set(paths["/api/v1/supplier/variants/{sku}/inventory"]) == {"put"}
    assert set(paths["/api/v1/supplier/inventory"]) == {"post"}
    assert set(paths["/api/v1/supplier/products"]) == {"get", "post"}
