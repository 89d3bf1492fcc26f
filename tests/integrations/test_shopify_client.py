"""The Shopify client against the sandbox: products, throttled inventory pushes, orders, fulfilment."""

from dataclasses import replace
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from integrations.base import (
    FulfillmentData,
    FulfillmentLine,
    InventoryChange,
    InventoryResult,
    OrderNote,
    ProductData,
    StoreTemporaryError,
    VariantData,
)
from integrations.models import ApiVersionNotice
from integrations.registry import get_store_client
from integrations.shopify.client import CostThrottle
from sandbox.server import Response
from sandbox.shopify import Plan

SHOP = "maple-and-co.myshopify.com"


def _product(reference: str, variants: int, *, quantity: int = 1) -> ProductData:
    return ProductData(
        reference=reference,
        title=f"Linen apron {reference}",
        description_html="<p>Stonewashed linen.</p>",
        vendor="Maple & Co",
        option_names=("Size",),
        images=("https://cdn.example.com/apron.jpg",),
        variants=tuple(
            VariantData(
                sku=f"APRON-{reference}-{n}",
                price=Decimal("24.99"),
                compare_at_price=Decimal("29.99"),
                options={"Size": f"S{n}"},
                weight_grams=350,
                inventory_quantity=quantity,
            )
            for n in range(variants)
        ),
    )


@pytest.fixture
def store(db, shopify_sandbox):
    return shopify_sandbox.connect_store(domain=SHOP)


def test_products_are_created_with_variants_and_ids_by_sku(shopify_sandbox, store):
    client = get_store_client(store=store)
    [result] = client.upsert_products(products=[_product("A", 3, quantity=5)])
    shop = shopify_sandbox.app.shop(SHOP)
    product = shop.products[result.store_product_id]
    assert (product["title"], product["status"], product["vendor"], product["files"]) == (
        "Linen apron A",
        "ACTIVE",
        "Maple & Co",
        ["https://cdn.example.com/apron.jpg"],
    )
    assert sorted(result.variant_ids) == ["APRON-A-0", "APRON-A-1", "APRON-A-2"]
    variant = shop.variants[result.variant_ids["APRON-A-1"]]
    assert (variant["price"], variant["compareAtPrice"], variant["title"]) == (
        Decimal("24.99"),
        Decimal("29.99"),
        "S1",
    )
    assert variant["inventory_item_id"] == result.inventory_item_ids["APRON-A-1"]
    assert shop.quantity_for_sku("APRON-A-2") == 5
    assert shop.inventory_items[variant["inventory_item_id"]]["weight"] == {
        "value": 350.0,
        "unit": "GRAMS",
    }


def test_updating_a_product_keeps_its_ids(shopify_sandbox, store):
    client = get_store_client(store=store)
    [first] = client.upsert_products(products=[_product("B", 2)])
    changed = _product("B", 2)
    changed = ProductData(
        **{
            **changed.__dict__,
            "title": "Linen apron, sand",
            "store_product_id": first.store_product_id,
            "variants": tuple(
                VariantData(
                    **{
                        **v.__dict__,
                        "price": Decimal("21.00"),
                        "store_variant_id": first.variant_ids[v.sku],
                    }
                )
                for v in changed.variants
            ),
        }
    )
    [second] = client.upsert_products(products=[changed])
    assert (second.store_product_id, second.variant_ids) == (
        first.store_product_id,
        first.variant_ids,
    )
    shop = shopify_sandbox.app.shop(SHOP)
    assert shop.products[first.store_product_id]["title"] == "Linen apron, sand"
    assert {shop.variants[v]["price"] for v in first.variant_ids.values()} == {Decimal("21.00")}


def test_user_errors_come_back_per_product(store):
    bad = ProductData(
        reference="bad", title="", variants=(VariantData(sku="X", price=Decimal("1")),)
    )
    [result] = get_store_client(store=store).upsert_products(products=[bad])
    assert result.error == "input.title: Title can't be blank"
    assert result.store_product_id == ""


def test_publish_and_unpublish(shopify_sandbox, store):
    client = get_store_client(store=store)
    [result] = client.upsert_products(products=[_product("C", 1)])
    client.set_product_published(store_product_id=result.store_product_id, is_published=False)
    assert shopify_sandbox.app.shop(SHOP).products[result.store_product_id]["status"] == "DRAFT"
    client.set_product_published(store_product_id=result.store_product_id, is_published=True)
    assert shopify_sandbox.app.shop(SHOP).products[result.store_product_id]["status"] == "ACTIVE"


def _thousand_variants(client) -> dict[str, str]:
    results = client.upsert_products(products=[_product(str(p), 250) for p in range(4)])
    items = {}
    for result in results:
        assert result.error == ""
        items.update(result.inventory_item_ids)
    assert len(items) == 1000
    return items


def test_pushing_1000_inventory_changes_at_the_standard_plan_rate(shopify_sandbox, store):
    """Standard plan (shopify.dev: 100 points/s). Creating 1,000 variants drains the bucket past
    one call's cost, so the pushes only pass unthrottled if the client paces itself."""
    client = get_store_client(store=store)
    items = _thousand_variants(client)
    wanted = {sku: (index * 7) % 53 for index, sku in enumerate(sorted(items))}
    result = client.set_inventory(
        changes=[
            InventoryChange(quantity=q, inventory_item_id=items[sku], expected_quantity=1)
            for sku, q in wanted.items()
        ]
    )
    assert result == InventoryResult(
        calls=4, updated=1000, errors=(), shown={"": wanted[sorted(items)[-1]]}
    )
    shop = shopify_sandbox.app.shop(SHOP)
    assert {sku: shop.quantity_for_sku(sku) for sku in wanted} == wanted
    assert shopify_sandbox.app.rejected_calls() == []
    pushes = shopify_sandbox.app.calls_for(SHOP, "inventorySetQuantities")
    assert [len(c.variables["input"]["quantities"]) for c in pushes] == [250, 250, 250, 250]


def test_client_paces_itself_when_the_bucket_cannot_hold_every_call(shopify_sandbox, store):
    client = get_store_client(store=store)
    items = _thousand_variants(client)
    # A bucket of 30 points restoring 10/s cannot take four 13-point calls back to back.
    shopify_sandbox.app.set_plan(SHOP, Plan(maximum_available=30, restore_rate=10))
    result = client.set_inventory(
        changes=[
            InventoryChange(quantity=3, inventory_item_id=item, expected_quantity=1)
            for item in items.values()
        ]
    )
    assert (result.calls, result.updated) == (4, 1000)
    assert shopify_sandbox.app.rejected_calls() == []
    assert {shopify_sandbox.app.shop(SHOP).quantity_for_sku(sku) for sku in items} == {3}


def test_a_throttled_answer_waits_and_retries(shopify_sandbox, store):
    client = get_store_client(store=store)
    [result] = client.upsert_products(products=[_product("D", 2)])
    throttle = CostThrottle(SHOP)
    cache.delete_many([throttle.key, throttle.cost_key])  # another process drained the bucket
    shopify_sandbox.app.set_plan(
        SHOP, Plan(maximum_available=100, restore_rate=50), currently_available=0
    )
    outcome = client.set_inventory(
        changes=[
            InventoryChange(quantity=9, inventory_item_id=i, expected_quantity=1)
            for i in result.inventory_item_ids.values()
        ]
    )
    assert (outcome.updated, outcome.calls) == (2, 2)
    assert [c.throttled for c in shopify_sandbox.app.calls_for(SHOP, "inventorySetQuantities")] == [
        True,
        False,
    ]
    assert shopify_sandbox.app.shop(SHOP).quantity_for_sku("APRON-D-1") == 9


def test_429_with_retry_after_is_waited_out(shopify_sandbox, store, client_sleeps):
    client = get_store_client(store=store)
    shopify_sandbox.app.inject(
        SHOP, Response.json({"errors": "Exceeded 2 calls per second"}, 429, {"Retry-After": "0.2"})
    )
    assert client.verify_connection().name == "Maple And Co"
    assert [c.status for c in shopify_sandbox.app.calls_for(SHOP)] == [429, 200]
    assert client_sleeps == [0.2]


def test_a_429_asking_for_longer_than_a_short_wait_raises_its_retry_after_for_the_task(
    shopify_sandbox, store, client_sleeps
):
    client = get_store_client(store=store)
    shopify_sandbox.app.inject(
        SHOP, Response.json({"errors": "Exceeded 2 calls per second"}, 429, {"Retry-After": "30"})
    )
    with pytest.raises(StoreTemporaryError, match=r"^Shopify kept answering 429\.$") as raised:
        client.verify_connection()
    assert raised.value.retry_after == 30.0
    assert client_sleeps == []  # the worker is not held: the task reschedules in 30 s
    assert [c.status for c in shopify_sandbox.app.calls_for(SHOP)] == [429]


def test_a_bucket_that_refills_too_slowly_raises_with_the_time_it_needs(
    shopify_sandbox, store, client_sleeps
):
    client = get_store_client(store=store)
    [result] = client.upsert_products(products=[_product("G", 2)])
    shopify_sandbox.app.set_plan(
        SHOP, Plan(maximum_available=100, restore_rate=1), currently_available=0
    )
    client_sleeps.clear()
    with pytest.raises(
        StoreTemporaryError, match=r"^Shopify stayed throttled for inventorySetQuantities\.$"
    ) as raised:
        client.set_inventory(
            changes=[
                InventoryChange(quantity=9, inventory_item_id=i, expected_quantity=1)
                for i in result.inventory_item_ids.values()
            ]
        )
    # 12 points (a mutation of two items) at 1 point a second, less what refilled meanwhile.
    assert raised.value.retry_after == pytest.approx(12.0, abs=0.5)
    assert client_sleeps == []
    assert shopify_sandbox.app.shop(SHOP).quantity_for_sku("APRON-G-1") == 1


def test_5xx_is_retried_then_reported_as_temporary(shopify_sandbox, store):
    client = get_store_client(store=store)
    error = Response.json({"errors": "Internal error"}, 503)
    shopify_sandbox.app.inject(SHOP, error, error, error)
    with pytest.raises(StoreTemporaryError, match="503"):
        client.verify_connection()
    store.refresh_from_db()
    assert store.status == "CONNECTED"


def test_order_is_read_and_fulfilled_line_by_line(shopify_sandbox, store):
    client = get_store_client(store=store)
    client.upsert_products(products=[_product("E", 2)])
    order = shopify_sandbox.app.create_order(
        SHOP,
        lines=[{"sku": "APRON-E-0", "quantity": 2}, {"sku": "APRON-E-1", "quantity": 1}],
        deliver=False,
    )
    data = client.get_order(store_order_id=order["id"])
    assert (data.number, data.shopper_name, data.shopper_email, data.shipping_country) == (
        "#1001",
        "Bob Norman",
        "bob.norman@example.com",
        "US",
    )
    assert [(line.sku, line.quantity, line.unit_price) for line in data.lines] == [
        ("APRON-E-0", 2, Decimal("24.99")),
        ("APRON-E-1", 1, Decimal("24.99")),
    ]
    first_line, second_line = data.lines
    result = client.create_fulfillment(
        fulfillment=FulfillmentData(
            store_order_id=data.store_order_id,
            lines=(FulfillmentLine(first_line.store_line_id, 1),),
            carrier="UPS",
            tracking_number="1Z999AA10123456784",
            tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
        )
    )
    shop = shopify_sandbox.app.shop(SHOP)
    fulfillment = shop.fulfillments[result.store_fulfillment_id]
    assert fulfillment["trackingInfo"] == [
        {
            "company": "UPS",
            "number": "1Z999AA10123456784",
            "url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        }
    ]
    assert fulfillment["line_items"] == [{"line_item_id": first_line.store_line_id, "quantity": 1}]
    assert fulfillment["notify_customer"] is True
    client.create_fulfillment(
        fulfillment=FulfillmentData(
            store_order_id=data.store_order_id,
            lines=(
                FulfillmentLine(first_line.store_line_id, 1),
                FulfillmentLine(second_line.store_line_id, 1),
            ),
            carrier="USPS",
            tracking_number="9400111899223197428490",
        )
    )
    [fulfillment_order_id] = order["fulfillment_order_ids"]
    assert shop.fulfillment_orders[fulfillment_order_id]["status"] == "CLOSED"
    with pytest.raises(Exception, match="nothing left to fulfil"):
        client.create_fulfillment(
            fulfillment=FulfillmentData(
                store_order_id=data.store_order_id,
                lines=(FulfillmentLine(first_line.store_line_id, 1),),
                carrier="UPS",
                tracking_number="again",
            )
        )


def test_order_notes_are_appended(shopify_sandbox, store):
    client = get_store_client(store=store)
    client.upsert_products(products=[_product("F", 1)])
    order = shopify_sandbox.app.create_order(
        SHOP, lines=[{"sku": "APRON-F-0", "quantity": 1}], deliver=False
    )
    client.add_order_note(note=OrderNote(store_order_id=order["id"], text="Sent to supplier."))
    client.add_order_note(note=OrderNote(store_order_id=order["id"], text="Shipped with UPS."))
    assert (
        shopify_sandbox.app.shop(SHOP).orders[order["id"]]["note"]
        == "Sent to supplier.\nShipped with UPS."
    )


def test_webhook_registration_is_idempotent_and_removable(shopify_sandbox, store):
    client = get_store_client(store=store)
    first = client.register_webhooks(callback_url="https://dropship.example.com/webhooks/shopify/")
    again = client.register_webhooks(callback_url="https://dropship.example.com/webhooks/shopify/")
    assert [r.store_webhook_id for r in first] == [r.store_webhook_id for r in again]
    assert [r.topic for r in first] == [
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/cancelled",
        "refunds/create",
        "app/uninstalled",
        "fulfillment_orders/hold_released",
        "fulfillment_orders/scheduled_fulfillment_order_ready",
    ]
    client.delete_webhooks(store_webhook_ids=[r.store_webhook_id for r in first])
    assert shopify_sandbox.app.shop(SHOP).webhooks == {}


# --- API version (shopify.dev/docs/api/usage/versioning) --------------------------------------
def test_every_call_asks_for_the_pinned_2026_10_version(shopify_sandbox, store, settings):
    assert settings.SHOPIFY_API_VERSION == "2026-10"
    client = get_store_client(store=store)
    client.verify_connection()
    client.upsert_products(products=[_product("V", 1)])
    assert {c.api_version for c in shopify_sandbox.app.calls_for(SHOP)} == {"2026-10"}
    assert client.served_version == "2026-10"
    assert not ApiVersionNotice.objects.exists()


def test_a_fall_forward_is_recorded_once_for_platform_admins_and_cleared_when_fixed(
    shopify_sandbox, store, settings, caplog, admin_client
):
    settings.SHOPIFY_API_VERSION = "2025-07"  # retired: Shopify serves the oldest supported one
    with caplog.at_level("WARNING", logger="integrations.services"):
        for _ in range(2):  # two tasks, two clients
            client = get_store_client(store=store)
            client.verify_connection()
            client.verify_connection()

    notice = ApiVersionNotice.objects.get(store=store)
    assert (notice.requested_version, notice.served_version) == ("2025-07", "2026-01")
    warnings = [r.getMessage() for r in caplog.records if "fell forward" in r.getMessage()]
    assert warnings == [
        f"Store {store.pk} asked for API version 2025-07 and was served 2026-01 "
        "(the version fell forward)"
    ]
    page = admin_client.get(reverse("admin:retailers_store_changelist"))
    assert "1 store(s) answered with another API version than the pinned one" in page.text
    assert "2026-01" in page.text

    settings.SHOPIFY_API_VERSION = "2026-10"
    get_store_client(store=store).verify_connection()
    assert not ApiVersionNotice.objects.exists()
    page = admin_client.get(reverse("admin:retailers_store_changelist"))
    assert "answered with another API version" not in page.text


# --- productSet: identifier, cost, publication -------------------------------------------------
def test_product_set_asks_for_as_many_variants_as_it_sends(shopify_sandbox, store):
    """shopify.dev rate limits: a connection costs by `first` before it runs; asking for 250
    variants of a one-variant product requested 514 points for 16 used."""
    client = get_store_client(store=store)
    client.upsert_products(products=[_product("ONE", 1), _product("THREE", 3)])
    one, three = shopify_sandbox.app.calls_for(SHOP, "productSet")
    assert (one.requested_cost, one.actual_cost) == (16, 16)
    assert (three.requested_cost, three.actual_cost) == (20, 20)


def test_a_new_product_is_upserted_by_its_handle_and_published_to_the_online_store(
    shopify_sandbox, store
):
    client = get_store_client(store=store)
    apron = replace(_product("H", 2), handle="linen-apron-ds7")
    [first] = client.upsert_products(products=[apron])
    [again] = client.upsert_products(products=[apron])  # a retry of the same create
    shop = shopify_sandbox.app.shop(SHOP)
    assert again.store_product_id == first.store_product_id
    assert list(shop.products) == [first.store_product_id]
    assert shop.products[first.store_product_id]["handle"] == "linen-apron-ds7"
    assert shop.products[first.store_product_id]["publication_ids"] == [
        shop.online_store_publication_id
    ]
    # The Online Store publication is looked up once per shop, then cached.
    assert len(shopify_sandbox.app.calls_for(SHOP, "publications")) == 1
    assert len(shopify_sandbox.app.calls_for(SHOP, "publishablePublish")) == 2


def test_a_product_sent_as_unpublished_stays_out_of_the_online_store(shopify_sandbox, store):
    client = get_store_client(store=store)
    [result] = client.upsert_products(products=[replace(_product("U", 1), is_published=False)])
    shop = shopify_sandbox.app.shop(SHOP)
    assert shop.products[result.store_product_id]["publication_ids"] == []
    assert shopify_sandbox.app.calls_for(SHOP, "publishablePublish") == []


def test_products_are_published_ten_to_a_call(shopify_sandbox, store):
    client = get_store_client(store=store)
    client.upsert_products(products=[_product(f"B{n}", 1) for n in range(21)])
    publishes = shopify_sandbox.app.calls_for(SHOP, "publishablePublish")
    assert [len(c.variables) - 1 for c in publishes] == [10, 10, 1]
    assert [c.requested_cost for c in publishes] == [110, 110, 11]
    shop = shopify_sandbox.app.shop(SHOP)
    assert all(p["publication_ids"] for p in shop.products.values())


def test_publishing_fits_a_small_bucket_refilling_within_the_inline_wait(shopify_sandbox, store):
    """Real time: the sandbox's bucket must refill. Ten publishes (110 points) fit a 200-point
    bucket; twenty in one request (220) never would."""
    client = get_store_client(store=store)
    shopify_sandbox.app.set_plan(
        SHOP, Plan(maximum_available=200, restore_rate=200), currently_available=0
    )
    results = client.upsert_products(products=[_product(f"T{n}", 1) for n in range(20)])
    assert [r.error for r in results] == [""] * 20
    shop = shopify_sandbox.app.shop(SHOP)
    assert all(p["publication_ids"] for p in shop.products.values())


# --- inventory: compare-and-swap and idempotency ------------------------------------------------
def _one_item(client, quantity: int) -> str:
    [result] = client.upsert_products(products=[_product("INV", 1, quantity=quantity)])
    return result.inventory_item_ids["APRON-INV-0"]


def test_inventory_is_set_from_the_quantity_last_seen_under_an_idempotency_key(
    shopify_sandbox, store
):
    client = get_store_client(store=store)
    item = _one_item(client, 4)
    result = client.set_inventory(
        changes=[
            InventoryChange(
                quantity=9, inventory_item_id=item, expected_quantity=4, reference="7", version=3
            )
        ]
    )
    assert (result.updated, result.refused, result.shown) == (1, {}, {"7": 9})
    [call] = shopify_sandbox.app.calls_for(SHOP, "inventorySetQuantities")
    assert [q["changeFromQuantity"] for q in call.variables["input"]["quantities"]] == [4]
    assert "ignoreCompareQuantity" not in call.variables["input"]
    assert len(call.variables["key"]) == 36  # a UUID, derived from the change
    assert shopify_sandbox.app.shop(SHOP).quantity(item) == 9


def test_the_idempotency_key_is_the_same_for_a_retry_and_new_for_a_new_change(
    shopify_sandbox, store
):
    client = get_store_client(store=store)
    item = _one_item(client, 4)

    def push(quantity: int, expected: int, version: int) -> str:
        client.set_inventory(
            changes=[
                InventoryChange(
                    quantity=quantity,
                    inventory_item_id=item,
                    expected_quantity=expected,
                    reference="7",
                    version=version,
                )
            ]
        )
        return shopify_sandbox.app.calls_for(SHOP, "inventorySetQuantities")[-1].variables["key"]

    first = push(9, 4, 1)
    retry = push(9, 4, 1)  # the same change sent again: replayed, not applied twice
    back = push(4, 9, 2)
    again = push(9, 4, 3)  # the same quantities as the first, but a new change
    assert first == retry
    assert len({first, back, again}) == 3
    assert [a["delta"] for a in shopify_sandbox.app.shop(SHOP).adjustments] == [5, -5, 5]


def test_an_unknown_quantity_is_read_before_it_is_set(shopify_sandbox, store):
    client = get_store_client(store=store)
    item = _one_item(client, 6)
    client.set_inventory(changes=[InventoryChange(quantity=2, inventory_item_id=item)])
    calls = shopify_sandbox.app.calls_for(SHOP)
    assert [c.operation for c in calls][-2:] == ["nodes", "inventorySetQuantities"]
    assert calls[-1].variables["input"]["quantities"][0]["changeFromQuantity"] == 6


def test_a_sale_during_the_set_is_read_again_and_the_set_retried_from_it(shopify_sandbox, store):
    client = get_store_client(store=store)
    item = _one_item(client, 5)
    shopify_sandbox.app.sell_during_sets(SHOP, item, count=1)
    result = client.set_inventory(
        changes=[
            InventoryChange(quantity=9, inventory_item_id=item, expected_quantity=5, reference="7")
        ]
    )
    assert (result.updated, result.refused, result.shown) == (1, {}, {"7": 9})
    sets = shopify_sandbox.app.calls_for(SHOP, "inventorySetQuantities")
    assert [c.variables["input"]["quantities"][0]["changeFromQuantity"] for c in sets] == [5, 4]
    assert shopify_sandbox.app.shop(SHOP).quantity(item) == 9


def test_a_quantity_that_keeps_moving_is_given_up_after_two_retries(shopify_sandbox, store):
    client = get_store_client(store=store)
    item = _one_item(client, 20)
    shopify_sandbox.app.sell_during_sets(SHOP, item, count=100)
    result = client.set_inventory(
        changes=[
            InventoryChange(
                quantity=30, inventory_item_id=item, expected_quantity=20, reference="7"
            )
        ]
    )
    assert result.updated == 0
    assert result.refused == {
        "7": f"{item}: the store's quantity kept changing while we set it (now 17); "
        "it will be pushed again."
    }
    assert result.shown == {"7": 17}
    assert len(shopify_sandbox.app.calls_for(SHOP, "inventorySetQuantities")) == 3
    # Three sales happened and none was overwritten.
    assert shopify_sandbox.app.shop(SHOP).quantity(item) == 17


def test_a_lost_inventory_answer_is_retried_under_the_same_key_and_applied_once(
    shopify_sandbox, store, client_sleeps
):
    client = get_store_client(store=store)
    item = _one_item(client, 4)
    shopify_sandbox.app.lose_answers(SHOP, "inventorySetQuantities")
    result = client.set_inventory(
        changes=[
            InventoryChange(quantity=9, inventory_item_id=item, expected_quantity=4, reference="7")
        ]
    )
    assert (result.updated, result.refused) == (1, {})
    first, retry = shopify_sandbox.app.calls_for(SHOP, "inventorySetQuantities")
    assert first.variables == retry.variables
    assert [a["delta"] for a in shopify_sandbox.app.shop(SHOP).adjustments] == [5]
    assert shopify_sandbox.app.shop(SHOP).quantity(item) == 9
