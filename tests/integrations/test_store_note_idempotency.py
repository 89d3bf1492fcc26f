"""Order notes are written once: a lost answer is looked for, not sent again, and a note that is
already on the order is not added twice (Shopify and WooCommerce sandboxes, real HTTP)."""

from decimal import Decimal

import pytest

from integrations.base import OrderNote, ProductData, VariantData
from integrations.registry import get_store_client

pytestmark = pytest.mark.django_db

SHOP = "maple-and-co.myshopify.com"


@pytest.fixture(autouse=True)
def _no_client_sleep(client_sleeps):
    return client_sleeps


def _one_product(client, sku: str) -> None:
    [result] = client.upsert_products(
        products=[
            ProductData(
                reference="p1",
                title="Linen apron",
                variants=(VariantData(sku=sku, price=Decimal("9.50"), inventory_quantity=3),),
            )
        ]
    )
    assert result.is_ok, result.error


def test_a_lost_shopify_note_answer_adds_the_note_once(shopify_sandbox):
    store = shopify_sandbox.connect_store(domain=SHOP)
    client = get_store_client(store=store)
    _one_product(client, "APRON-1")
    order = shopify_sandbox.app.create_order(
        SHOP, lines=[{"sku": "APRON-1", "quantity": 1}], deliver=False
    )
    client.add_order_note(note=OrderNote(store_order_id=order["id"], text="Sent to supplier."))
    shopify_sandbox.app.lose_answers(SHOP, "orderUpdate")

    client.add_order_note(note=OrderNote(store_order_id=order["id"], text="Shipped with UPS."))
    # A second run of the same step (a retried task) finds the note there.
    client.add_order_note(note=OrderNote(store_order_id=order["id"], text="Shipped with UPS."))

    assert shopify_sandbox.app.shop(SHOP).orders[order["id"]]["note"] == (
        "Sent to supplier.\nShipped with UPS."
    )
    assert len(shopify_sandbox.app.calls_for(SHOP, "orderUpdate")) == 2


def test_a_lost_woocommerce_note_answer_adds_the_note_once(woo_sandbox):
    store = woo_sandbox.connect_store(slug="maple-woo")
    client = get_store_client(store=store)
    _one_product(client, "TOWEL-1")
    order = woo_sandbox.app.create_order(
        "maple-woo", lines=[{"sku": "TOWEL-1", "quantity": 1}], deliver=False
    )
    woo_sandbox.app.lose_answers("maple-woo", "POST", "orders/*/notes")
    note = OrderNote(
        store_order_id=str(order["id"]), text="Your parcel is delayed.", is_customer_note=True
    )

    client.add_order_note(note=note)
    client.add_order_note(note=note)

    site = woo_sandbox.app.sites["maple-woo"]
    assert [n["note"] for n in site.notes[order["id"]]] == ["Your parcel is delayed."]
    assert [e["kind"] for e in site.emails] == ["customer_note"]
