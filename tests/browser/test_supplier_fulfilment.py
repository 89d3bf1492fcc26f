"""A supplier fulfils an order in the browser and the shopper sees the tracking in the sandbox
store's order page: accept, a wrong tracking number refused on the field, ship, pushed."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from integrations.base import ProductData, VariantData
from integrations.registry import get_store_client
from tests import factories
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
UPS = "1Z999AA10123456784"


def test_supplier_accepts_and_ships_and_the_storefront_shows_the_tracking(page, shopify_sandbox):
    member = factories.SupplierMemberFactory()
    store = shopify_sandbox.connect_store()
    [result] = get_store_client(store=store).upsert_products(
        products=[
            ProductData(
                reference="p1",
                title="Linen apron",
                variants=(
                    VariantData(sku="APRON-1", price=Decimal("24.99"), inventory_quantity=5),
                ),
            )
        ]
    )
    assert result.is_ok, result.error
    sandbox_order = shopify_sandbox.app.create_order(
        store.domain, lines=[{"sku": "APRON-1", "quantity": 2}], deliver=False
    )
    order = factories.OrderFactory(
        store=store, store_order_id=sandbox_order["id"], number=sandbox_order["name"]
    )
    supplier_order = factories.make_supplier_order(supplier=member.supplier, order=order)
    supplier_order.items.update(store_line_id=sandbox_order["line_items"][0]["gid"])

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(member.user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/supplier/")

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Orders", exact=True
    ).click()
    expect(page.get_by_role("link", name="New 1")).to_be_visible()
    page.get_by_role("link", name=supplier_order.number).click()
    expect(page.get_by_text("Chestnut Street 92")).to_be_visible()
    page.get_by_role("button", name="Accept order").click()
    expect(page.get_by_text(f"Order {supplier_order.number} accepted.")).to_be_visible()

    page.get_by_label("Carrier").select_option("UPS")
    page.get_by_label("Tracking number").fill("1Z999AA10123456785")
    page.get_by_role("button", name="Ship the whole order").click()
    expect(page.get_by_role("alert").filter(has_text="check digit")).to_be_visible()

    page.get_by_label("Tracking number").fill(UPS)
    page.get_by_role("button", name="Ship the whole order").click()
    expect(page.get_by_text("the tracking number is on its way to the store")).to_be_visible()
    parcels = page.get_by_role("table", name="Parcels shipped")
    expect(parcels).to_contain_text(UPS)
    expect(parcels).to_contain_text("Pushed to store")

    page.goto(
        f"{shopify_sandbox.base_url}/{store.domain}/storefront/orders/{sandbox_order['legacy_id']}"
    )
    expect(page.locator("#order-status")).to_have_text("Fulfilled")
    expect(page.locator("#tracking")).to_contain_text(UPS)
