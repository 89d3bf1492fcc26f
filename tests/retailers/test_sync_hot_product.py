"""A popular variant listed in 5,000 stores: concurrent orders reserve exactly the stock there is,
and every store's listing is marked by the fan-out after commit, none left behind."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from catalog.models import StockMovement, Variant
from catalog.services.reservations import reserve_stock
from retailers.models import Listing, ListingVariant, Store, StoreSyncState, VariantChange
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

STORES = 5_000
STOCK = 30
THREADS = 8
ORDERS_PER_THREAD = 10


def _listed_in_stores(variant: Variant, count: int) -> None:
    retailer = factories.RetailerFactory()
    stores = Store.objects.bulk_create(
        [
            Store(
                retailer=retailer,
                name=f"Store {n}",
                platform=Store.Platform.SHOPIFY,
                domain=f"hot-{n}.myshopify.com",
                credentials={},
                status=Store.Status.CONNECTED,
            )
            for n in range(count)
        ]
    )
    listings = Listing.objects.bulk_create(
        [
            Listing(store=store, product=variant.product, store_product_id=f"p{n}")
            for n, store in enumerate(stores)
        ]
    )
    ListingVariant.objects.bulk_create(
        [
            ListingVariant(
                listing=listing,
                variant=variant,
                store=listing.store,
                store_variant_id=f"v{n}",
                retail_price=Decimal("19.99"),
                is_inventory_dirty=False,
            )
            for n, listing in enumerate(listings)
        ]
    )


def test_a_variant_listed_in_5000_stores_never_oversells_and_every_listing_is_marked():
    if connection.vendor != "postgresql":
        pytest.skip("row locks under concurrency need PostgreSQL")
    supplier = factories.SupplierFactory(stock_buffer_percent=100)
    variant = factories.VariantFactory(
        product=factories.ProductFactory(supplier=supplier), stock_on_hand=STOCK
    )
    _listed_in_stores(variant, STORES)
    start = threading.Barrier(THREADS)
    outcomes: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def buy() -> None:
        try:
            start.wait()
            for n in range(ORDERS_PER_THREAD):
                # Committed one by one, as orders are: the fan-out runs after each commit.
                with transaction.atomic():
                    (applied,) = reserve_stock(lines=[(variant.pk, 1)], reference=f"hot-{n}")
                with lock:
                    outcomes.append(applied)
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)

    assert errors == []
    assert outcomes.count(True) == STOCK
    assert outcomes.count(False) == THREADS * ORDERS_PER_THREAD - STOCK
    variant.refresh_from_db()
    assert (variant.stock_on_hand, variant.stock_reserved) == (STOCK, STOCK)
    assert StockMovement.objects.filter(variant=variant).count() == STOCK
    # Every change was fanned out: nothing queued, every store's row dirty, every store flagged.
    assert not VariantChange.objects.exists()
    rows = ListingVariant.objects.filter(variant=variant)
    assert rows.count() == STORES
    assert not rows.filter(is_inventory_dirty=False).exists()
    assert not rows.filter(inventory_version=0).exists()
    assert StoreSyncState.objects.filter(pending_since__isnull=False).count() == STORES


def test_ten_rapid_changes_queue_one_push_per_store_with_no_beat(
    shopify_sandbox, woo_sandbox, settings
):
    """Event-driven push: each committed change queues its stores' drains through the broker;
    a real worker runs them after the window. No beat runs here."""
    from celery.contrib.testing.worker import start_worker

    from catalog.services import set_stock
    from dropship.celery import app
    from tests.integrations.worker_processes import wait_for
    from tests.retailers.sync_support import list_product, shown

    settings.INVENTORY_PUSH_ON_CHANGE = True
    # Wide enough that ten changes in a row land in one window on a loaded machine.
    settings.INVENTORY_PUSH_WINDOW_SECONDS = 5.0
    supplier = factories.SupplierFactory(stock_buffer_percent=100)
    variant = factories.VariantFactory(
        product=factories.ProductFactory(supplier=supplier), stock_on_hand=20
    )
    shop = shopify_sandbox.connect_store()
    woo = woo_sandbox.connect_store()
    list_product(shop, variant.product, pushed=20)
    list_product(woo, variant.product, pushed=20)
    shopify_before = len(shopify_sandbox.app.calls_for(shop.domain, "inventorySetQuantities"))
    woo_before = len(woo_sandbox.app.calls_for("maple-woo"))

    def settled() -> bool:
        states = StoreSyncState.objects.filter(store__in=[shop, woo])
        return (
            shown(shopify_sandbox, shop, variant) == 3
            and shown(woo_sandbox, woo, variant) == 3
            and states.filter(pending_since=None, drain_scheduled_until=None).count() == 2
        )

    app.conf.task_always_eager = False  # through the (in-memory) broker, to a real worker
    try:
        with start_worker(
            app,
            pool="solo",
            perform_ping_check=False,
            queues=["sync", "default"],
            shutdown_timeout=30,
        ):
            for quantity in [*range(1, 10), 3]:  # ten changes, each its own transaction
                set_stock(variant=variant, quantity=quantity, source="API")
            wait_for(settled, timeout=120, what="both stores showing 3 with nothing pending")
    finally:
        app.conf.task_always_eager = True

    assert (
        len(shopify_sandbox.app.calls_for(shop.domain, "inventorySetQuantities"))
        == shopify_before + 1
    )
    assert len(woo_sandbox.app.calls_for("maple-woo")) == woo_before + 1
    assert not ListingVariant.objects.filter(variant=variant, is_inventory_dirty=True).exists()
