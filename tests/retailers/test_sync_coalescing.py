"""Event-driven push without Redis: the per-store marker in the database lets ten changes queue
one drain per store, and the next drain is queued once that one has started.

Tasks go through Celery's in-memory broker here (not in-line), so the queued drains can be
counted; a README flow, so it runs on SQLite (make run: no Redis) as well.
"""

import pytest

from catalog.services import set_stock
from dropship.celery import app
from retailers.sync.drain import drain_store
from tests import factories
from tests.retailers.sync_support import list_product, shown

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
DRAIN = "retailers.sync.tasks.drain_store_task"


@pytest.fixture
def broker(settings):
    """Tasks through the in-memory broker; yields a function taking the queued drains' store
    ids off the sync queue."""
    settings.INVENTORY_PUSH_ON_CHANGE = True
    app.conf.task_always_eager = False

    def take_drains() -> list[int]:
        store_ids = []
        with app.connection_for_read() as connection:
            queue = connection.SimpleQueue("sync")
            while queue.qsize():
                message = queue.get(block=False)
                if message.headers["task"] == DRAIN:
                    args, _kwargs, _embed = message.decode()
                    store_ids.append(args[0])
                message.ack()
            queue.close()
        return store_ids

    take_drains()
    try:
        yield take_drains
    finally:
        app.conf.task_always_eager = True
        take_drains()


def test_ten_changes_queue_one_drain_per_store_and_the_next_after_it_starts(
    broker, shopify_sandbox, woo_sandbox, django_capture_on_commit_callbacks
):
    supplier = factories.SupplierFactory(stock_buffer_percent=100)
    variant = factories.VariantFactory(
        product=factories.ProductFactory(supplier=supplier), stock_on_hand=20
    )
    shop = shopify_sandbox.connect_store()
    woo = woo_sandbox.connect_store()
    list_product(shop, variant.product, pushed=20)
    list_product(woo, variant.product, pushed=20)
    custom = factories.StoreFactory(platform="CUSTOM", domain="custom.example")
    factories.ListingVariantFactory(
        listing__store=custom, listing__product=variant.product, variant=variant
    )

    for quantity in range(1, 11):
        with django_capture_on_commit_callbacks(execute=True):
            set_stock(variant=variant, quantity=quantity, source="API")

    # One drain each for the two stores we push to (a custom store reads our API instead).
    assert sorted(broker()) == sorted([shop.pk, woo.pk])

    assert drain_store(store_id=shop.pk).pushed == 1  # the queued drain runs: 10 shown
    assert shown(shopify_sandbox, shop, variant) == 10
    with django_capture_on_commit_callbacks(execute=True):
        set_stock(variant=variant, quantity=3, source="API")
    assert broker() == [shop.pk]  # the woo drain is still queued; the shop's has run
