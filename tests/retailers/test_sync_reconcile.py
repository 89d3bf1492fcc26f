"""Reconciliation reads what each store shows back, in pages, and repairs what drifted."""

import pytest

from catalog.services import set_stock
from integrations.shopify.client import ShopifyClient
from retailers.models import ListingVariant
from retailers.sync.drain import drain_store
from retailers.sync.models import StockReconciliation
from retailers.sync.reconcile import reconcile_store, schedule_reconciliations
from tests import factories
from tests.retailers.sync_support import list_product, shown

pytestmark = pytest.mark.django_db


def _listed(sandbox, store_factory, *, count=2, stock=20):
    supplier = factories.SupplierFactory(stock_buffer_percent=100)
    product = factories.ProductFactory(supplier=supplier)
    variants = [
        factories.VariantFactory(product=product, sku=f"{product.handle}-{n}", stock_on_hand=stock)
        for n in range(count)
    ]
    store = store_factory()
    list_product(store, product, pushed=stock)
    drain_store(store_id=store.pk)
    return store, variants


def test_a_quantity_changed_behind_our_back_in_shopify_is_detected_and_repaired(
    shopify_sandbox, monkeypatch
):
    monkeypatch.setattr(ShopifyClient, "inventory_read_batch_size", 1)  # read in pages
    store, (changed, kept) = _listed(shopify_sandbox, shopify_sandbox.connect_store)
    row = ListingVariant.objects.get(variant=changed)
    shopify_sandbox.app.set_available(store.domain, row.inventory_item_id, 99)

    run = reconcile_store(store_id=store.pk)

    assert (run.status, run.checked, run.matched, run.drifted, run.repaired) == (
        StockReconciliation.Status.DONE,
        2,
        1,
        1,
        1,
    )
    assert run.calls == 2
    assert run.samples[0] | {"listing_variant": None} == {
        "listing_variant": None,
        "kind": "drift",
        "store": 99,
        "pushed": 20,
        "advertised": 20,
    }
    row.refresh_from_db()
    assert row.is_inventory_dirty
    assert row.last_pushed_quantity is None

    drain_store(store_id=store.pk)
    assert shown(shopify_sandbox, store, changed) == 20
    assert shown(shopify_sandbox, store, kept) == 20
    again = reconcile_store(store_id=store.pk)
    assert (again.matched, again.drifted) == (2, 0)


def test_woocommerce_drift_missing_items_and_unmarked_changes(woo_sandbox):
    store, (changed, deleted) = _listed(woo_sandbox, woo_sandbox.connect_store)
    site = woo_sandbox.app.sites["maple-woo"]
    row = ListingVariant.objects.get(variant=changed)
    site.variations[int(row.store_variant_id)]["stock_quantity"] = 1  # edited in wp-admin
    # The store lost the second item.
    other = ListingVariant.objects.get(variant=deleted)
    other.store_variant_id = "999999"
    other.save(update_fields=["store_variant_id"])

    run = reconcile_store(store_id=store.pk)

    assert (run.checked, run.drifted, run.missing) == (2, 1, 1)
    drain_store(store_id=store.pk)
    assert shown(woo_sandbox, store, changed) == 20


def test_a_change_that_was_never_marked_is_found_stale(shopify_sandbox):
    store, (variant, _other) = _listed(shopify_sandbox, shopify_sandbox.connect_store)
    type(variant).objects.filter(pk=variant.pk).update(
        stock_on_hand=7
    )  # a write that skipped the service

    run = reconcile_store(store_id=store.pk)

    assert (run.stale, run.repaired) == (1, 1)
    drain_store(store_id=store.pk)
    assert shown(shopify_sandbox, store, variant) == 7


def test_beat_reconciles_each_connected_store_once_per_period(shopify_sandbox):
    store, _variants = _listed(shopify_sandbox, shopify_sandbox.connect_store)
    factories.StoreFactory(status="NEEDS_RECONNECT")

    assert schedule_reconciliations() == 1
    assert schedule_reconciliations() == 0
    assert StockReconciliation.objects.filter(store=store).count() == 1


def test_a_confirmed_match_refreshes_freshness(shopify_sandbox):
    store, (variant, _other) = _listed(shopify_sandbox, shopify_sandbox.connect_store)
    row = ListingVariant.objects.get(variant=variant)
    assert row.inventory_confirmed_at is None  # listed, never confirmed since

    reconcile_store(store_id=store.pk)

    row.refresh_from_db()
    assert row.inventory_confirmed_at is not None
    set_stock(variant=variant, quantity=3, source="API")  # now pending: not confirmed
    reconcile_store(store_id=store.pk)
    assert ListingVariant.objects.get(pk=row.pk).is_inventory_dirty
