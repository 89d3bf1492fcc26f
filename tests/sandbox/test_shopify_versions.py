"""The Shopify sandbox as the contract for API versions and the 2026-04+ input shapes.

Versions (shopify.dev/docs/api/usage/versioning): a retired version is served by the oldest
supported one and the answer says which in `X-Shopify-API-Version`. From 2026-04
inventorySetQuantities takes `changeFromQuantity` on every quantity and an `@idempotent` key
(shopify.dev/changelog/making-changefromquantity-field-required,
shopify.dev/changelog/posts/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations);
productSet upserts by `identifier` (shopify.dev/changelog/productset-and-customerset-mutations-now-support-upserts).
"""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.django_db

SHOP = "versions.myshopify.com"
SET = """mutation($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { code field message } }
}"""
SET_WITHOUT_KEY = """mutation($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { userErrors { code field message } }
}"""
PRODUCT_SET = """mutation($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {
  productSet(identifier: $identifier, input: $input) { product { id handle } userErrors { code message } }
}"""


@pytest.fixture
def shop(shopify_sandbox):
    app = shopify_sandbox.app
    app.add_shop(SHOP)
    token = app.issue_token(SHOP)

    def call(query: str, variables: dict, version: str = "2026-10") -> requests.Response:
        return requests.post(
            f"{shopify_sandbox.base_url}/{SHOP}/admin/api/{version}/graphql.json",
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": token},
            timeout=10,
        )

    return app, call


def _item(app, quantity: int) -> str:
    """An inventory item of the shop showing `quantity` available."""
    shop = app.shop(SHOP)
    item_id = f"gid://shopify/InventoryItem/{app.next_id()}"
    shop.inventory_items[item_id] = {
        "id": item_id,
        "sku": "MUG-1",
        "tracked": True,
        "levels": {shop.location_id: {"available": quantity, "on_hand": quantity}},
        "weight": None,
    }
    return item_id


def _quantities(app, item_id: str, quantity: int, **extra) -> dict:
    return {
        "input": {
            "name": "available",
            "reason": "correction",
            "quantities": [
                {
                    "inventoryItemId": item_id,
                    "locationId": app.shop(SHOP).location_id,
                    "quantity": quantity,
                    **extra,
                }
            ],
        }
    }


def test_a_supported_version_is_served_as_asked_and_says_so(shop):
    app, call = shop
    answer = call("query { shop { name } }", {}, version="2026-10")
    assert answer.status_code == 200
    assert answer.headers["X-Shopify-API-Version"] == "2026-10"
    assert app.calls[-1].api_version == "2026-10"


def test_a_retired_version_falls_forward_to_the_oldest_supported_one(shop):
    app, call = shop
    answer = call("query { shop { name } }", {}, version="2025-07")
    assert answer.status_code == 200  # Shopify answers, it does not refuse
    assert answer.headers["X-Shopify-API-Version"] == "2026-01"

    app.set_supported_versions("2026-07", "2026-10", "2027-01")
    answer = call("query { shop { name } }", {}, version="2026-04")
    assert answer.headers["X-Shopify-API-Version"] == "2026-07"


def test_from_2026_04_the_compare_quantity_fields_are_gone(shop):
    app, call = shop
    item = _item(app, 5)
    old_shape = _quantities(app, item, 7, compareQuantity=5)
    old_shape["input"]["ignoreCompareQuantity"] = True

    refused = call(SET, {**old_shape, "key": "k-old"}).json()
    assert "'compareQuantity' is not defined" in refused["errors"][0]["message"]
    assert app.shop(SHOP).quantity(item) == 5
    # 2026-01 still takes them.
    taken = call(SET_WITHOUT_KEY, old_shape, version="2026-01").json()
    assert taken["data"]["inventorySetQuantities"]["userErrors"] == []
    assert app.shop(SHOP).quantity(item) == 7


def test_from_2026_04_change_from_quantity_must_be_on_every_quantity(shop):
    app, call = shop
    item = _item(app, 5)

    missing = call(SET, {**_quantities(app, item, 7), "key": "k1"}).json()
    [error] = missing["data"]["inventorySetQuantities"]["userErrors"]
    assert error["field"] == ["input", "quantities", "0", "changeFromQuantity"]
    assert app.shop(SHOP).quantity(item) == 5

    # An explicit null opts out of the check.
    blind = call(SET, {**_quantities(app, item, 7, changeFromQuantity=None), "key": "k2"}).json()
    assert blind["data"]["inventorySetQuantities"]["userErrors"] == []
    assert app.shop(SHOP).quantity(item) == 7


def test_a_stale_change_from_quantity_is_refused_and_changes_nothing(shop):
    app, call = shop
    item = _item(app, 5)
    stale = call(SET, {**_quantities(app, item, 9, changeFromQuantity=6), "key": "k1"}).json()
    [error] = stale["data"]["inventorySetQuantities"]["userErrors"]
    assert error["code"] == "CHANGE_FROM_QUANTITY_STALE"
    assert app.shop(SHOP).quantity(item) == 5

    fresh = call(SET, {**_quantities(app, item, 9, changeFromQuantity=5), "key": "k2"}).json()
    assert fresh["data"]["inventorySetQuantities"]["userErrors"] == []
    assert app.shop(SHOP).quantity(item) == 9


def test_from_2026_04_inventory_sets_need_an_idempotency_key(shop):
    app, call = shop
    item = _item(app, 5)
    answer = call(SET_WITHOUT_KEY, _quantities(app, item, 9, changeFromQuantity=5)).json()
    assert "@idempotent" in answer["errors"][0]["message"]
    assert app.shop(SHOP).quantity(item) == 5


def test_the_same_key_replays_the_first_answer_without_applying_again(shop):
    app, call = shop
    item = _item(app, 5)
    variables = {**_quantities(app, item, 9, changeFromQuantity=5), "key": "same"}
    first = call(SET, variables).json()
    app.set_available(SHOP, item, 4)  # a sale after our set
    again = call(SET, variables).json()

    assert again["data"] == first["data"]
    assert app.shop(SHOP).quantity(item) == 4  # not set back to 9
    assert [a["delta"] for a in app.shop(SHOP).adjustments] == [4]

    other = call(SET, {**_quantities(app, item, 8, changeFromQuantity=4), "key": "same"}).json()
    [error] = other["data"]["inventorySetQuantities"]["userErrors"]
    assert error["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert app.shop(SHOP).quantity(item) == 4


def test_product_set_upserts_by_handle(shop):
    app, call = shop
    first = call(
        PRODUCT_SET,
        {"identifier": {"handle": "mug-ds1"}, "input": {"title": "Mug", "handle": "mug-ds1"}},
    ).json()["data"]["productSet"]["product"]
    again = call(
        PRODUCT_SET,
        {"identifier": {"handle": "mug-ds1"}, "input": {"title": "Mug, blue", "handle": "mug-ds1"}},
    ).json()["data"]["productSet"]["product"]

    assert again == first == {"id": first["id"], "handle": "mug-ds1"}
    assert [p["title"] for p in app.shop(SHOP).products.values()] == ["Mug, blue"]


def test_product_set_without_an_identifier_creates_a_twin_under_a_new_handle(shop):
    app, call = shop
    for _ in range(2):
        call(PRODUCT_SET, {"input": {"title": "Mug", "handle": "mug"}})
    assert sorted(p["handle"] for p in app.shop(SHOP).products.values()) == ["mug", "mug-1"]


def test_product_set_by_an_unknown_id_is_refused(shop):
    app, call = shop
    answer = call(
        PRODUCT_SET,
        {"identifier": {"id": "gid://shopify/Product/1"}, "input": {"title": "Mug"}},
    ).json()
    [error] = answer["data"]["productSet"]["userErrors"]
    assert error["code"] == "PRODUCT_DOES_NOT_EXIST"
    assert app.shop(SHOP).products == {}


def test_the_storefront_shows_only_products_published_to_the_online_store(shop, shopify_sandbox):
    _app, call = shop
    created = call(
        PRODUCT_SET,
        {
            "input": {
                "title": "Hidden mug",
                "productOptions": [{"name": "Title", "values": [{"name": "Default Title"}]}],
                "variants": [
                    {
                        "sku": "MUG-H",
                        "price": "9.00",
                        "optionValues": [{"optionName": "Title", "name": "Default Title"}],
                    }
                ],
            }
        },
    ).json()["data"]["productSet"]["product"]
    storefront = f"{shopify_sandbox.base_url}/{SHOP}/storefront/"
    assert "MUG-H" not in requests.get(storefront, timeout=10).text

    publications = call(
        "query { publications(first: 5) { nodes { id catalog { title } } } }", {}
    ).json()["data"]["publications"]["nodes"]
    online_store = next(p["id"] for p in publications if p["catalog"]["title"] == "Online Store")
    published = call(
        "mutation($id: ID!, $input: [PublicationInput!]!) { publishablePublish(id: $id, input: $input) { userErrors { message } } }",
        {"id": created["id"], "input": [{"publicationId": online_store}]},
    ).json()
    assert published["data"]["publishablePublish"]["userErrors"] == []
    assert "MUG-H" in requests.get(storefront, timeout=10).text
