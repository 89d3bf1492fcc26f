"""The per-store drain pushes the latest advertised quantity to every store, in API-sized
batches, once per change burst, and never lets an older value overwrite a newer one."""

import pytest

from catalog.models import StockMovement
from catalog.services import set_stock
from retailers.models import ListingVariant
from retailers.sync.drain import drain_store, kick_drains
from tests import factories
from tests.retailers.sync_support import list_product, shown

# A README flow: `make test` runs it on SQLite as well.
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def variant():
    supplier = factories.SupplierFactory(stock_buffer_percent=100)
    return factories.VariantFactory(
        product=factories.ProductFactory(supplier=supplier), stock_on_hand=20
    )


def test_one_change_reaches_a_variant_listed_in_three_stores(shopify_sandbox, woo_sandbox, variant):
    retailer = factories.RetailerFactory()
    stores = [
        shopify_sandbox.connect_store(retailer=retailer, domain="one.myshopify.com"),
        shopify_sandbox.connect_store(retailer=retailer, domain="two.myshopify.com"),
        woo_sandbox.connect_store(retailer=retailer, slug="three-woo"),
    ]
    for store in stores:
        list_product(store, variant.product, pushed=20)

    set_stock(variant=variant, quantity=7, source=StockMovement.Source.PAGE)
    assert kick_drains() == 3  # eager in tests: each drain runs now

    sandboxes = [shopify_sandbox, shopify_sandbox, woo_sandbox]
    assert [shown(s, store, variant) for s, store in zip(sandboxes, stores, strict=True)] == [7] * 3
    rows = ListingVariant.objects.filter(variant=variant)
    assert {(r.is_inventory_dirty, r.last_pushed_quantity) for r in rows} == {(False, 7)}
    assert all(r.last_pushed_at and r.inventory_confirmed_at for r in rows)
    assert kick_drains() == 0


def test_ten_rapid_changes_send_one_push_per_store_with_the_final_value(
    shopify_sandbox, woo_sandbox, variant
):
    shop = shopify_sandbox.connect_store()
    woo = woo_sandbox.connect_store()
    list_product(shop, variant.product, pushed=20)
    list_product(woo, variant.product, pushed=20)
    shopify_before = len(shopify_sandbox.app.calls_for(shop.domain, "inventorySetQuantities"))
    woo_before = len(woo_sandbox.app.calls_for("maple-woo"))

    for quantity in range(11, 21):  # 11, 12, ... 20 then 3: ten changes
        set_stock(variant=variant, quantity=quantity - 10 if quantity < 20 else 3, source="API")
    drain_store(store_id=shop.pk)
    drain_store(store_id=woo.pk)

    assert (
        len(shopify_sandbox.app.calls_for(shop.domain, "inventorySetQuantities"))
        == shopify_before + 1
    )
    assert len(woo_sandbox.app.calls_for("maple-woo")) == woo_before + 1
    assert shown(shopify_sandbox, shop, variant) == 3
    assert shown(woo_sandbox, woo, variant) == 3


def test_a_change_back_to_what_the_store_shows_costs_no_call(shopify_sandbox, variant):
    shop = shopify_sandbox.connect_store()
    list_product(shop, variant.product, pushed=20)
    set_stock(variant=variant, quantity=5, source="API")
    set_stock(variant=variant, quantity=20, source="API")

    result = drain_store(store_id=shop.pk)

    assert (result.pushed, result.coalesced, result.calls) == (0, 1, 0)
    assert not ListingVariant.objects.get(variant=variant).is_inventory_dirty


def test_the_buffer_rounds_down_and_paused_listings_show_zero(shopify_sandbox):
    supplier = factories.SupplierFactory(stock_buffer_percent=90)
    variant = factories.VariantFactory(product__supplier=supplier, stock_on_hand=10)
    shop = shopify_sandbox.connect_store()
    listing = list_product(shop, variant.product, pushed=0)
    set_stock(variant=variant, quantity=15, source="API")  # 15 × 90 % = 13.5 → 13
    drain_store(store_id=shop.pk)
    assert shown(shopify_sandbox, shop, variant) == 13

    from retailers.sync import mark_listings_dirty

    listing.status = "PAUSED"
    listing.save(update_fields=["status"])
    mark_listings_dirty(listing_ids=[listing.pk])
    drain_store(store_id=shop.pk)
    assert shown(shopify_sandbox, shop, variant) == 0
