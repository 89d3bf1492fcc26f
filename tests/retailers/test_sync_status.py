"""The sync status page and `GET /api/v1/sync/status`: per store pending changes, last push,
errors and freshness, only for the caller's own retailer, in a fixed number of queries."""

import pytest
from django.db import connection

from catalog.services import set_stock
from dropship.accounts.services import create_api_key
from retailers.sync import status
from retailers.sync.drain import drain_store
from retailers.sync.models import StockReconciliation
from tests import factories
from tests.retailers.sync_support import list_product

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def synced(shopify_sandbox, woo_sandbox):
    retailer = factories.RetailerFactory()
    supplier = factories.SupplierFactory(stock_buffer_percent=100)
    product = factories.ProductFactory(supplier=supplier)
    variants = [factories.VariantFactory(product=product, stock_on_hand=9) for _ in range(2)]
    shop = shopify_sandbox.connect_store(retailer=retailer)
    woo = woo_sandbox.connect_store(retailer=retailer)
    list_product(shop, product, pushed=9)
    list_product(woo, product, pushed=9)
    set_stock(variant=variants[0], quantity=4, source="API")
    drain_store(store_id=shop.pk)  # the Woo store still has 1 pending change
    woo_sandbox.app.revoke_keys("maple-woo")
    return retailer, shop, woo


def test_the_api_reports_each_store_of_the_key_owner_only(client, synced):
    retailer, shop, woo = synced
    drain_store(store_id=woo.pk)  # 401: the store now needs reconnecting
    factories.StoreFactory()  # someone else's
    _, secret = create_api_key(organisation=retailer, name="Ops", created_by=None)

    answer = client.get("/api/v1/sync/status", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert answer.status_code == 200
    body = answer.json()
    assert body["pendingUpdates"] == 1
    assert body["lastSync"] is not None
    by_name = {s["name"]: s for s in body["stores"]}
    assert set(by_name) == {shop.name, woo.name}
    assert by_name[shop.name]["pendingUpdates"] == 0
    assert by_name[shop.name]["errors"] == []
    assert by_name[shop.name]["freshnessP95Seconds"] is not None
    assert by_name[woo.name]["pendingUpdates"] == 1
    assert by_name[woo.name]["status"] == "NEEDS_RECONNECT"
    assert any("API keys" in e for e in by_name[woo.name]["errors"])
    assert any(e.startswith(f"{woo.name}: ") for e in body["errors"])


def test_the_api_answers_401_without_a_key_and_403_to_a_supplier_key(client, synced):
    supplier = factories.SupplierFactory()
    _, secret = create_api_key(organisation=supplier, name="Stock", created_by=None)

    assert client.get("/api/v1/sync/status").status_code == 401
    assert (
        client.get("/api/v1/sync/status", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 403
    )


def test_the_sync_page_and_dashboard_show_the_stores(
    retailer_client, shopify_sandbox, django_assert_max_num_queries
):
    retailer = retailer_client.retailer
    supplier = factories.SupplierFactory(stock_buffer_percent=100)
    for n in range(3):
        product = factories.ProductFactory(supplier=supplier)
        factories.VariantFactory(product=product, stock_on_hand=5)
        store = shopify_sandbox.connect_store(retailer=retailer, domain=f"s{n}.myshopify.com")
        list_product(store, product, pushed=1, dirty=True)

    with django_assert_max_num_queries(14):
        page = retailer_client.get("/retailer/sync/")

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<tr>") == 4 + 4  # stores: header + 3; least fresh listings: header + 3
    assert 'hx-trigger="every 10s"' in html  # pending changes: the table refreshes itself
    dashboard = retailer_client.get("/retailer/").content.decode()
    assert "Stock updates pending" in dashboard
    assert "Stock freshness (p95)" in dashboard


def test_freshness_per_listing(synced):
    from retailers.models import Listing
    from retailers.sync.status import freshness_by_listing

    retailer, shop, woo = synced
    listings = {lst.store_id: lst.pk for lst in Listing.objects.filter(store__retailer=retailer)}

    ages = freshness_by_listing(listing_ids=listings.values())

    assert ages[listings[shop.pk]] is not None  # one variant pushed; the other never confirmed
    assert ages[listings[shop.pk]] >= 0
    assert ages[listings[woo.pk]] is not None  # pending since the change


def test_the_portable_freshness_percentile_interpolates_as_postgresql_does():
    assert status._percentile_cont([float(n * 10) for n in range(11)], 0.95) == 95.0
    assert status._percentile_cont([30.0, 10.0], 0.95) == 29.0
    assert status._percentile_cont([7.0], 0.95) == 7.0


def test_both_engines_paths_give_the_same_freshness_and_last_reconciliation(synced):
    """On PostgreSQL both paths run and must agree; on SQLite the portable one is the page's."""
    _, shop, woo = synced
    for store in (shop, woo, shop):
        StockReconciliation.objects.create(store=store)
    latest = {
        store.pk: StockReconciliation.objects.filter(store=store).latest("created_at", "id").pk
        for store in (shop, woo)
    }
    ids = [shop.pk, woo.pk]

    portable = status._freshness_p95_portable(ids)
    assert set(portable) == {shop.pk, woo.pk}
    assert all(age >= 0 for age in portable.values())
    runs = status._last_reconciliations(ids)
    assert {store_id: run.pk for store_id, run in runs.items()} == latest
    if connection.vendor == "postgresql":
        assert status._freshness_p95_postgresql(ids) == pytest.approx(portable, abs=5)
        portable_runs = status._last_reconciliations_portable(ids)
        assert {run.store_id: run.pk for run in portable_runs} == latest
