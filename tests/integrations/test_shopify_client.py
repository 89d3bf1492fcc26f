"""The Shopify client against the sandbox: products, throttled inventory pushes, orders, fulfilment."""

from decimal import Decimal

import pytest
from django.core.cache import cache

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
            InventoryChange(quantity=q, inventory_item_id=items[sku]) for sku, q in wanted.items()
        ]
    )
    assert result == InventoryResult(calls=4, updated=1000, errors=())
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
        changes=[InventoryChange(quantity=3, inventory_item_id=item) for item in items.values()]
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
            InventoryChange(quantity=9, inventory_item_id=i)
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
                InventoryChange(quantity=9, inventory_item_id=i)
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
