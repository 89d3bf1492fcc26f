"""The WooCommerce client against the sandbox: batches within the 100-item limit, stock, tracking."""

from decimal import Decimal

import pytest

from integrations.base import (
    FulfillmentData,
    FulfillmentLine,
    InventoryChange,
    OrderNote,
    ProductData,
    StorePermanentError,
    StoreTemporaryError,
    VariantData,
)
from integrations.registry import get_store_client
from retailers.services import reconnect_on_auth_error
from sandbox.server import Response


@pytest.fixture
def store(db, woo_sandbox):
    return woo_sandbox.connect_store(slug="maple-woo")


@pytest.fixture
def site(woo_sandbox, store):
    return woo_sandbox.app.sites["maple-woo"]


def _simple(n: int, quantity: int = 4) -> ProductData:
    return ProductData(
        reference=f"s{n}",
        title=f"Tea towel {n}",
        variants=(
            VariantData(
                sku=f"TOWEL-{n}",
                price=Decimal("9.50"),
                inventory_quantity=quantity,
                weight_grams=120,
            ),
        ),
    )


def _variable(reference: str, sizes: int) -> ProductData:
    return ProductData(
        reference=reference,
        title=f"Apron {reference}",
        option_names=("Size",),
        variants=tuple(
            VariantData(
                sku=f"APRON-{reference}-{n}",
                price=Decimal("20.00"),
                compare_at_price=Decimal("25.00"),
                options={"Size": f"S{n}"},
                inventory_quantity=2,
            )
            for n in range(sizes)
        ),
    )


def test_150_simple_products_go_in_two_batch_calls(woo_sandbox, store, site):
    client = get_store_client(store=store)
    results = client.upsert_products(products=[_simple(n) for n in range(150)])
    assert len(results) == 150
    assert all(r.error == "" for r in results)
    batches = [
        c for c in woo_sandbox.app.calls_for("maple-woo") if c.path.endswith("/products/batch")
    ]
    assert [(c.status, c.items) for c in batches] == [(200, 100), (200, 50)]
    product = site.products[int(results[7].store_product_id)]
    assert (
        product["name"],
        product["sku"],
        product["regular_price"],
        product["stock_quantity"],
        product["weight"],
    ) == (
        "Tea towel 7",
        "TOWEL-7",
        "9.50",
        4,
        "0.120",
    )
    assert results[7].variant_ids == {"TOWEL-7": results[7].store_product_id}


def test_the_sandbox_refuses_batches_over_100_items_with_413(woo_sandbox, store):
    client = get_store_client(store=store)
    with pytest.raises(StorePermanentError, match="413"):
        client.request(
            "POST", "products/batch", data={"create": [{"name": f"p{n}"} for n in range(101)]}
        )


def test_variable_product_gets_variations_with_sale_prices(store, site):
    client = get_store_client(store=store)
    [result] = client.upsert_products(products=[_variable("A", 3)])
    parent = site.products[int(result.store_product_id)]
    assert (parent["type"], parent["attributes"][0]["options"]) == ("variable", ["S0", "S1", "S2"])
    variation = site.variations[int(result.variant_ids["APRON-A-2"])]
    assert (
        variation["regular_price"],
        variation["sale_price"],
        variation["price"],
        variation["stock_quantity"],
    ) == (
        "25.00",
        "20.00",
        "20.00",
        2,
    )
    assert variation["attributes"] == [{"name": "Size", "option": "S2"}]


def test_1000_stock_changes_use_batches_of_100(woo_sandbox, store, site):
    client = get_store_client(store=store)
    simple = client.upsert_products(products=[_simple(n) for n in range(600)])
    [variable] = client.upsert_products(products=[_variable("big", 400)])
    changes = [
        InventoryChange(
            quantity=n % 17,
            store_product_id=r.store_product_id,
            store_variant_id=r.store_product_id,
        )
        for n, r in enumerate(simple)
    ] + [
        InventoryChange(
            quantity=n % 11, store_product_id=variable.store_product_id, store_variant_id=vid
        )
        for n, vid in enumerate(variable.variant_ids.values())
    ]
    calls_before = len(woo_sandbox.app.calls)
    result = client.set_inventory(changes=changes)
    assert (result.calls, result.updated, result.errors) == (10, 1000, ())
    assert len(woo_sandbox.app.calls) - calls_before == 10
    assert [site.stock(int(r.store_product_id)) for r in simple[:5]] == [0, 1, 2, 3, 4]
    assert site.stock(int(variable.variant_ids["APRON-big-12"])) == 1
    assert woo_sandbox.app.rejected_calls() == []


def test_unpublish_sets_the_product_to_draft(store, site):
    client = get_store_client(store=store)
    [result] = client.upsert_products(products=[_simple(1)])
    client.set_product_published(store_product_id=result.store_product_id, is_published=False)
    assert site.products[int(result.store_product_id)]["status"] == "draft"


def test_tracking_is_a_customer_note_plus_meta_and_completes_the_order(woo_sandbox, store, site):
    client = get_store_client(store=store)
    client.upsert_products(products=[_simple(1), _simple(2)])
    order = woo_sandbox.app.create_order(
        "maple-woo",
        lines=[{"sku": "TOWEL-1", "quantity": 2}, {"sku": "TOWEL-2", "quantity": 1}],
        deliver=False,
    )
    data = client.get_order(store_order_id=str(order["id"]))
    assert [(line.sku, line.quantity, line.unit_price) for line in data.lines] == [
        ("TOWEL-1", 2, Decimal("9.50")),
        ("TOWEL-2", 1, Decimal("9.50")),
    ]
    first, second = data.lines
    client.create_fulfillment(
        fulfillment=FulfillmentData(
            store_order_id=data.store_order_id,
            lines=(FulfillmentLine(first.store_line_id, 2),),
            carrier="UPS",
            tracking_number="1Z999",
            tracking_url="https://www.ups.com/track?tracknum=1Z999",
        )
    )
    assert site.orders[order["id"]]["status"] == "processing"
    client.create_fulfillment(
        fulfillment=FulfillmentData(
            store_order_id=data.store_order_id,
            lines=(FulfillmentLine(second.store_line_id, 1),),
            carrier="USPS",
            tracking_number="9400",
            notify_customer=False,
            is_order_complete=True,
        )
    )
    notes = site.notes[order["id"]]
    assert [(n["note"], n["customer_note"]) for n in notes] == [
        (
            "Shipped 2 × Tea towel 1 with UPS, tracking number 1Z999. Track it at https://www.ups.com/track?tracknum=1Z999",
            True,
        ),
        ("Shipped 1 × Tea towel 2 with USPS, tracking number 9400.", False),
    ]
    meta = {m["key"]: m["value"] for m in site.orders[order["id"]]["meta_data"]}
    assert [s["tracking_number"] for s in meta["_dropship_shipments"]] == ["1Z999", "9400"]
    assert site.orders[order["id"]]["status"] == "completed"


def test_order_note(woo_sandbox, store, site):
    client = get_store_client(store=store)
    client.upsert_products(products=[_simple(3)])
    order = woo_sandbox.app.create_order(
        "maple-woo", lines=[{"sku": "TOWEL-3", "quantity": 1}], deliver=False
    )
    client.add_order_note(
        note=OrderNote(store_order_id=str(order["id"]), text="Backordered at the supplier.")
    )
    assert [n["note"] for n in site.notes[order["id"]]] == ["Backordered at the supplier."]


def test_revoked_keys_mark_the_store_for_reconnection(
    woo_sandbox, store, django_capture_on_commit_callbacks
):
    woo_sandbox.app.revoke_keys("maple-woo")
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(StorePermanentError, match="refused our API keys"),
        reconnect_on_auth_error(store=store),  # the caller marks the store, not the registry
    ):
        get_store_client(store=store).verify_connection()
    store.refresh_from_db()
    assert store.status == "NEEDS_RECONNECT"


def test_a_429_within_a_short_wait_is_waited_out(woo_sandbox, store, client_sleeps):
    woo_sandbox.app.inject(
        "maple-woo", Response.json({"code": "too_many_requests"}, 429, {"Retry-After": "1"})
    )
    assert get_store_client(store=store).verify_connection().currency == "USD"
    assert [c.status for c in woo_sandbox.app.calls_for("maple-woo")] == [429, 200]
    assert client_sleeps == [1.0]


def test_a_429_asking_for_longer_than_a_short_wait_raises_its_retry_after_for_the_task(
    woo_sandbox, store, client_sleeps
):
    woo_sandbox.app.inject(
        "maple-woo", Response.json({"code": "too_many_requests"}, 429, {"Retry-After": "30"})
    )
    with pytest.raises(StoreTemporaryError, match=r"^WooCommerce answered 429\.$") as raised:
        get_store_client(store=store).verify_connection()
    assert raised.value.retry_after == 30.0
    assert client_sleeps == []
    assert [c.status for c in woo_sandbox.app.calls_for("maple-woo")] == [429]
