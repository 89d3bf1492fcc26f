"""Faults the inventory sync survives: a killed drain, a throttled or down store, a revoked
token, an item the store refuses, concurrent drains — nothing lost, nothing older wins."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from catalog.models import Variant
from catalog.services import set_stock
from dropship.accounts.models import Notification, Role
from integrations.shopify.client import ShopifyClient
from retailers.models import Listing, ListingVariant, Store
from retailers.sync import drain as drain_module
from retailers.sync.drain import drain_store, kick_drains
from retailers.sync.models import StoreSyncState
from tests import factories
from tests.retailers.sync_support import list_product, shown


def _product_with_variants(count: int, *, stock: int = 20):
    supplier = factories.SupplierFactory(stock_buffer_percent=100)
    product = factories.ProductFactory(supplier=supplier)
    variants = [
        factories.VariantFactory(product=product, sku=f"{product.handle}-{n}", stock_on_hand=stock)
        for n in range(count)
    ]
    return product, variants


def _set_all(variants, quantity_for):
    for index, variant in enumerate(variants):
        set_stock(variant=variant, quantity=quantity_for(index), source="API")


@pytest.mark.django_db
def test_a_drain_killed_mid_batch_resumes_without_loss_or_duplicates(shopify_sandbox, monkeypatch):
    monkeypatch.setattr(ShopifyClient, "inventory_batch_size", 2)
    product, variants = _product_with_variants(5)
    store = shopify_sandbox.connect_store()
    list_product(store, product, pushed=20)
    _set_all(variants, lambda i: i + 1)

    # The worker dies after the store took the second batch, before we wrote it down.
    real_record = drain_module._record_pushed
    seen = {"batches": 0}

    def dying_record(rows, *, confirmed):
        if confirmed:
            seen["batches"] += 1
            if seen["batches"] == 2:
                raise RuntimeError("worker killed")
        return real_record(rows, confirmed=confirmed)

    monkeypatch.setattr(drain_module, "_record_pushed", dying_record)
    with pytest.raises(RuntimeError):
        drain_store(store_id=store.pk)
    monkeypatch.setattr(drain_module, "_record_pushed", real_record)

    assert ListingVariant.objects.filter(store=store, is_inventory_dirty=True).count() == 3
    # A killed process would not have released its lease: the next drain waits for it to expire.
    StoreSyncState.objects.filter(store=store).update(
        lease_token="dead", lease_expires_at=timezone.now() + timedelta(seconds=60)
    )
    assert drain_store(store_id=store.pk).outcome == "busy"
    StoreSyncState.objects.filter(store=store).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    calls_before = len(shopify_sandbox.app.calls_for(store.domain, "inventorySetQuantities"))
    result = drain_store(store_id=store.pk)

    assert (result.outcome, result.pushed) == ("done", 3)  # only what was not recorded
    assert len(shopify_sandbox.app.calls_for(store.domain, "inventorySetQuantities")) == (
        calls_before + 2
    )
    assert [shown(shopify_sandbox, store, v) for v in variants] == [1, 2, 3, 4, 5]
    assert not ListingVariant.objects.filter(store=store, is_inventory_dirty=True).exists()


@pytest.mark.django_db
def test_a_value_pushed_by_a_killed_drain_is_not_mistaken_for_the_stores_later(
    shopify_sandbox, monkeypatch
):
    product, (variant,) = _product_with_variants(1)
    store = shopify_sandbox.connect_store()
    list_product(store, product, pushed=20)
    set_stock(variant=variant, quantity=7, source="API")

    real_record = drain_module._record_pushed

    def killed(rows, *, confirmed):
        if confirmed:
            raise RuntimeError("worker killed after the store took 7")
        return real_record(rows, confirmed=confirmed)

    monkeypatch.setattr(drain_module, "_record_pushed", killed)
    with pytest.raises(RuntimeError):
        drain_store(store_id=store.pk)
    monkeypatch.undo()
    assert shown(shopify_sandbox, store, variant) == 7
    set_stock(variant=variant, quantity=20, source="API")  # back to what was pushed before

    drain_store(store_id=store.pk)

    assert shown(shopify_sandbox, store, variant) == 20


@pytest.mark.django_db
def test_a_store_throttled_to_one_call_a_second_converges_with_no_rejected_call(
    shopify_sandbox, monkeypatch
):
    monkeypatch.setattr(ShopifyClient, "inventory_batch_size", 2)
    product, variants = _product_with_variants(6)
    store = shopify_sandbox.connect_store()
    list_product(store, product, pushed=20)
    # inventorySetQuantities costs 12 points (mutation 10 + two objects): one call a second.
    shopify_sandbox.app.throttle_to(store.domain, calls_per_second=1, call_cost=12)
    _set_all(variants, lambda i: 10 + i)

    result = drain_store(store_id=store.pk)

    assert (result.outcome, result.pushed, result.calls) == ("done", 6, 3)
    assert shopify_sandbox.app.rejected_calls(store.domain) == []
    assert [shown(shopify_sandbox, store, v) for v in variants] == [10, 11, 12, 13, 14, 15]


@pytest.mark.django_db
def test_a_store_that_is_down_backs_off_then_converges(woo_sandbox):
    product, variants = _product_with_variants(2)
    store = woo_sandbox.connect_store()
    list_product(store, product, pushed=20)
    _set_all(variants, lambda i: 3 + i)
    woo_sandbox.app.take_down("maple-woo", seconds=3600)

    result = drain_store(store_id=store.pk)

    assert result.outcome == "backoff"
    state = StoreSyncState.objects.get(store=store)
    assert state.consecutive_failures == 1
    # the drain's first backoff (dropship.core.retry.INVENTORY_DRAIN): 5-10 s, less time elapsed
    assert timedelta(seconds=4) < state.next_attempt_at - timezone.now() <= timedelta(seconds=10)
    assert "503" in state.last_error
    assert drain_store(store_id=store.pk).outcome == "backoff"  # no hammering while down
    assert kick_drains() == 0

    woo_sandbox.app.bring_up("maple-woo")
    StoreSyncState.objects.filter(store=store).update(next_attempt_at=timezone.now())
    assert drain_store(store_id=store.pk).outcome == "done"
    assert [shown(woo_sandbox, store, v) for v in variants] == [3, 4]
    assert StoreSyncState.objects.get(store=store).consecutive_failures == 0


@pytest.mark.django_db
def test_a_revoked_token_marks_the_store_for_reconnection_and_stops(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    product, variants = _product_with_variants(1)
    store = shopify_sandbox.connect_store()
    list_product(store, product, pushed=20)
    set_stock(variant=variants[0], quantity=2, source="API")
    shopify_sandbox.app.revoke_tokens(store.domain)

    with django_capture_on_commit_callbacks(execute=True):
        result = drain_store(store_id=store.pk)

    assert result.outcome == "reconnect"
    store.refresh_from_db()
    assert store.status == Store.Status.NEEDS_RECONNECT
    assert Notification.objects.filter(
        retailer=store.retailer, kind="store_needs_reconnect"
    ).exists()
    assert ListingVariant.objects.get(store=store).is_inventory_dirty  # kept for later
    assert kick_drains() == 0
    assert drain_store(store_id=store.pk).outcome == "skipped"
    assert len(shopify_sandbox.app.calls_for(store.domain, "unauthorized")) == 1


@pytest.mark.django_db
def test_an_item_the_store_refuses_does_not_block_the_others(shopify_sandbox):
    product, variants = _product_with_variants(3)
    store = shopify_sandbox.connect_store()
    list_product(store, product, pushed=20)
    gone = ListingVariant.objects.get(store=store, variant=variants[1])
    shopify_sandbox.app.shop(store.domain).inventory_items.pop(gone.inventory_item_id)
    _set_all(variants, lambda i: 5)

    result = drain_store(store_id=store.pk)

    assert (result.pushed, result.failed_items) == (2, 1)
    assert (
        shown(shopify_sandbox, store, variants[0])
        == shown(shopify_sandbox, store, variants[2])
        == 5
    )
    gone.refresh_from_db()
    assert gone.is_inventory_dirty
    assert "could not be found" in gone.inventory_error
    assert gone.inventory_retry_at > timezone.now()
    assert kick_drains() == 0  # put aside until its retry time, not retried in a loop


@pytest.mark.django_db
def test_out_of_stock_unpublishes_and_restock_republishes(shopify_sandbox, woo_sandbox):
    product, variants = _product_with_variants(1)
    retailer = factories.RetailerFactory(unpublish_when_out_of_stock=True)
    shop = shopify_sandbox.connect_store(retailer=retailer)
    woo = woo_sandbox.connect_store(retailer=retailer)
    shop_listing = list_product(shop, product, pushed=20)
    woo_listing = list_product(woo, product, pushed=20)

    set_stock(variant=variants[0], quantity=0, source="API")
    kick_drains()

    shop_listing.refresh_from_db()
    woo_listing.refresh_from_db()
    assert (shop_listing.is_published, shop_listing.is_delisted_for_stock) == (False, True)
    assert not woo_listing.is_published
    shop_state = shopify_sandbox.app.shop(shop.domain).products[shop_listing.store_product_id]
    assert shop_state["status"] == "DRAFT"
    assert (
        woo_sandbox.app.sites["maple-woo"].products[int(woo_listing.store_product_id)]["status"]
        == "draft"
    )
    assert shown(shopify_sandbox, shop, variants[0]) == 0

    set_stock(variant=variants[0], quantity=4, source="API")
    kick_drains()

    assert shop_state["status"] == "ACTIVE"
    assert (
        woo_sandbox.app.sites["maple-woo"].products[int(woo_listing.store_product_id)]["status"]
        == "publish"
    )
    assert Listing.objects.filter(is_delisted_for_stock=True).count() == 0
    assert shown(shopify_sandbox, shop, variants[0]) == 4


@pytest.mark.django_db
def test_a_retailer_who_keeps_listings_published_only_gets_quantity_zero(shopify_sandbox):
    product, variants = _product_with_variants(1)
    retailer = factories.RetailerFactory(unpublish_when_out_of_stock=False)
    shop = shopify_sandbox.connect_store(retailer=retailer)
    listing = list_product(shop, product, pushed=20)

    set_stock(variant=variants[0], quantity=0, source="API")
    drain_store(store_id=shop.pk)

    listing.refresh_from_db()
    assert listing.is_published
    assert shown(shopify_sandbox, shop, variants[0]) == 0
    assert shopify_sandbox.app.calls_for(shop.domain, "productUpdate") == []


@pytest.mark.django_db
def test_each_store_can_choose_against_the_retailers_default(shopify_sandbox, woo_sandbox, client):
    """The retailer unpublishes by default; its owner keeps the Shopify store published."""
    product, variants = _product_with_variants(1)
    owner = factories.RetailerMemberFactory(retailer__unpublish_when_out_of_stock=True)
    shop = shopify_sandbox.connect_store(retailer=owner.retailer)
    woo = woo_sandbox.connect_store(retailer=owner.retailer)
    shop_listing = list_product(shop, product, pushed=20)
    woo_listing = list_product(woo, product, pushed=20)
    client.force_login(owner.user)

    response = client.post(
        reverse("retailers:store_out_of_stock", args=[shop.pk]),
        {"unpublish_when_out_of_stock": "keep"},
    )
    set_stock(variant=variants[0], quantity=0, source="API")
    kick_drains()

    assert response.status_code == 302
    shop_listing.refresh_from_db()
    woo_listing.refresh_from_db()
    assert (shop_listing.is_published, woo_listing.is_published) == (True, False)
    assert shopify_sandbox.app.calls_for(shop.domain, "productUpdate") == []
    assert shown(shopify_sandbox, shop, variants[0]) == 0


@pytest.mark.django_db
def test_the_out_of_stock_choice_takes_only_known_values_and_only_from_owners(client):
    owner = factories.RetailerMemberFactory(retailer__unpublish_when_out_of_stock=False)
    store = factories.StoreFactory(retailer=owner.retailer)
    url = reverse("retailers:store_out_of_stock", args=[store.pk])
    client.force_login(owner.user)

    refused = client.post(url, {"unpublish_when_out_of_stock": "sometimes"}, follow=True)
    store.refresh_from_db()
    assert store.unpublish_when_out_of_stock is None
    assert "Choose unpublish, keep published or your default." in refused.content.decode()
    assert "Your default (keep published)" in refused.content.decode()

    client.post(url, {"unpublish_when_out_of_stock": "unpublish"})
    store.refresh_from_db()
    assert store.unpublishes_when_out_of_stock is True
    client.post(url, {"unpublish_when_out_of_stock": ""})
    store.refresh_from_db()
    assert (store.unpublish_when_out_of_stock, store.unpublishes_when_out_of_stock) == (None, False)

    staff = factories.RetailerMemberFactory(retailer=owner.retailer, role=Role.STAFF)
    client.force_login(staff.user)
    assert client.post(url, {"unpublish_when_out_of_stock": "unpublish"}).status_code == 403
    store.refresh_from_db()
    assert store.unpublish_when_out_of_stock is None


@pytest.mark.django_db(transaction=True)
def test_no_older_value_overwrites_a_newer_one_under_concurrent_drains(shopify_sandbox):
    product, (variant,) = _product_with_variants(1, stock=0)
    store = shopify_sandbox.connect_store()
    list_product(store, product, pushed=0)
    errors: list[BaseException] = []
    stop = threading.Event()

    def changer():
        try:
            for quantity in range(1, 41):
                set_stock(
                    variant=Variant.objects.get(pk=variant.pk), quantity=quantity, source="API"
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()
            connection.close()

    def drainer():
        try:
            while not stop.is_set():
                drain_store(store_id=store.pk)
            drain_store(store_id=store.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=changer)] + [
        threading.Thread(target=drainer) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    while drain_store(store_id=store.pk).outcome == "busy":
        pass

    row = ListingVariant.objects.get(store=store)
    pushed = [
        call.variables["input"]["quantities"][0]["quantity"]
        for call in shopify_sandbox.app.calls_for(store.domain, "inventorySetQuantities")
    ]
    assert pushed == sorted(pushed)  # every push is at least as new as the one before
    assert pushed[-1] == 40
    assert shown(shopify_sandbox, store, variant) == 40
    assert (row.is_inventory_dirty, row.last_pushed_quantity) == (False, 40)


@pytest.mark.django_db
def test_a_woocommerce_site_that_answers_429_still_gets_every_change(woo_sandbox, monkeypatch):
    from integrations.woocommerce.client import WooCommerceClient

    monkeypatch.setattr(WooCommerceClient, "inventory_batch_size", 1)  # one call per item
    monkeypatch.setattr("integrations.woocommerce.client.BATCH_LIMIT", 1)
    product, variants = _product_with_variants(2)
    store = woo_sandbox.connect_store()
    list_product(store, product, pushed=20)
    woo_sandbox.app.throttle_to("maple-woo", calls_per_second=1)
    _set_all(variants, lambda i: 30 + i)

    result = drain_store(store_id=store.pk)

    assert (result.outcome, result.pushed) == ("done", 2)
    assert [shown(woo_sandbox, store, v) for v in variants] == [30, 31]
    # The site refused the calls that came too soon (429 + Retry-After); the client waited.
    assert [c.status for c in woo_sandbox.app.rejected_calls("maple-woo")] == [429]


def _item_id(store, variant) -> str:
    return ListingVariant.objects.get(store=store, variant=variant).inventory_item_id


@pytest.mark.django_db
def test_a_sale_in_the_store_since_our_last_push_is_seen_before_it_is_overwritten(
    shopify_sandbox,
):
    """inventorySetQuantities compares with what we last saw (changeFromQuantity, mandatory from
    2026-04): the store's own sale answers CHANGE_FROM_QUANTITY_STALE, the drain's client reads
    the item again and sets it from the fresh value."""
    product, (variant,) = _product_with_variants(1)
    store = shopify_sandbox.connect_store()
    list_product(store, product, pushed=20)
    item = _item_id(store, variant)
    shopify_sandbox.app.set_available(store.domain, item, 18)  # a shopper bought 2 in the store
    set_stock(variant=variant, quantity=30, source="API")

    result = drain_store(store_id=store.pk)

    assert (result.outcome, result.pushed, result.failed_items) == ("done", 1, 0)
    sets = shopify_sandbox.app.calls_for(store.domain, "inventorySetQuantities")
    assert [c.variables["input"]["quantities"][0]["changeFromQuantity"] for c in sets] == [20, 18]
    assert shown(shopify_sandbox, store, variant) == 30
    row = ListingVariant.objects.get(store=store, variant=variant)
    assert (row.store_quantity, row.last_pushed_quantity, row.is_inventory_dirty) == (30, 30, False)


@pytest.mark.django_db
def test_a_quantity_that_keeps_moving_stays_dirty_with_the_reason(shopify_sandbox):
    product, (variant,) = _product_with_variants(1)
    store = shopify_sandbox.connect_store()
    list_product(store, product, pushed=20)
    item = _item_id(store, variant)
    shopify_sandbox.app.sell_during_sets(store.domain, item, count=100)
    set_stock(variant=variant, quantity=30, source="API")

    result = drain_store(store_id=store.pk)

    assert (result.pushed, result.failed_items) == (0, 1)
    assert len(shopify_sandbox.app.calls_for(store.domain, "inventorySetQuantities")) == 3
    assert shown(shopify_sandbox, store, variant) == 17  # three sales, none overwritten
    row = ListingVariant.objects.get(store=store, variant=variant)
    assert row.is_inventory_dirty
    assert row.inventory_error == (
        f"{item}: the store's quantity kept changing while we set it (now 17); "
        "it will be pushed again."
    )
    assert row.inventory_retry_at is not None
    assert row.store_quantity == 17  # the next push compares with what the store showed last


@pytest.mark.django_db
def test_reconciliation_remembers_what_the_store_shows_for_the_next_push(shopify_sandbox):
    from retailers.sync.reconcile import reconcile_store  # local: only this test reconciles

    product, (variant,) = _product_with_variants(1)
    store = shopify_sandbox.connect_store()
    list_product(store, product, pushed=20)
    shopify_sandbox.app.set_available(store.domain, _item_id(store, variant), 15)

    reconcile_store(store_id=store.pk)

    row = ListingVariant.objects.get(store=store, variant=variant)
    assert (row.store_quantity, row.is_inventory_dirty) == (15, True)
    drain_store(store_id=store.pk)
    [push] = shopify_sandbox.app.calls_for(store.domain, "inventorySetQuantities")
    assert push.variables["input"]["quantities"][0]["changeFromQuantity"] == 15
    assert shown(shopify_sandbox, store, variant) == 20
