"""A worker killed mid-fan-out (SIGKILL, inside the transaction that marks the listings and
deletes the queued changes): nothing is lost. Another worker's beat fans the changes out again,
with the one committed meanwhile, and every store ends up showing the right quantity.

PostgreSQL and Redis, real Celery processes, the Shopify sandbox over HTTP.
"""

from __future__ import annotations

import tempfile

import psycopg
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from catalog.services.reservations import reserve_stock
from retailers.models import ListingVariant, VariantChange
from retailers.sync.marking import FAN_OUT_QUEUED_KEY
from tests import factories
from tests.integrations import worker_processes as workers
from tests.retailers.sync_support import list_product, shown

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_urls():
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
    workers.clear_broker(settings.REDIS_URL)
    yield workers.database_url_of_tests(), settings.REDIS_URL
    workers.clear_broker(settings.REDIS_URL)


def _reserve(variant_id: int, quantity: int) -> None:
    with transaction.atomic():
        assert reserve_stock(lines=[(variant_id, quantity)], reference="killed") == [True]


def _fan_out_is_blocked(database_url: str) -> bool:
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%%UPDATE retailers_listingvariant%%'"
        ).fetchone()
    return bool(row and row[0])


def test_a_worker_killed_mid_fan_out_loses_no_change(live_urls, shopify_sandbox, tmp_path):
    database_url, redis_url = live_urls
    supplier = factories.SupplierFactory(stock_buffer_percent=100)
    variant = factories.VariantFactory(
        product=factories.ProductFactory(supplier=supplier), stock_on_hand=10
    )
    stores = [shopify_sandbox.connect_store(domain=f"killed-{n}.myshopify.com") for n in range(3)]
    for store in stores:
        list_product(store, variant.product, pushed=10)
    # A fan-out is queued already (the one sent to worker A below): this process, whose tasks
    # run in-line, does not fan out itself.
    cache.set(FAN_OUT_QUEUED_KEY, 1, timeout=600)
    env = workers.worker_env(
        database_url=database_url,
        redis_url=redis_url,
        SHOPIFY_BASE_URL=shopify_sandbox.base_url,
        DEBUG="1",
    )
    log = open(tmp_path / "workers.log", "w")  # noqa: SIM115
    blocker = psycopg.connect(database_url.replace("postgres://", "postgresql://", 1))
    doomed = survivor = None
    try:
        _reserve(variant.pk, 2)
        # The test holds one listing row: worker A's fan-out blocks inside its transaction,
        # after it has deleted the queued change.
        first = ListingVariant.objects.filter(variant=variant).order_by("pk").first()
        blocker.execute(
            "SELECT 1 FROM retailers_listingvariant WHERE id = %s FOR UPDATE", [first.pk]
        )
        doomed = workers.start_worker(name="doomed", env=env, log=log, queues="sync")
        workers.send_task(
            redis_url, "retailers.sync.tasks.fan_out_variant_changes_task", queue="sync"
        )
        workers.wait_for(
            lambda: _fan_out_is_blocked(database_url),
            timeout=90,
            what="worker A blocking mid-fan-out",
        )
        _reserve(variant.pk, 3)  # another order commits while the fan-out hangs

        workers.kill(doomed)  # mid-fan-out: its transaction dies with it
        blocker.rollback()
        assert VariantChange.objects.filter(variant=variant).count() == 2  # both still queued

        # Worker B with beat: the safety net fans out what A left and drains the stores.
        survivor = workers.start_worker(
            name="survivor",
            env=env,
            log=log,
            queues="sync",
            beat_dir=tempfile.mkdtemp(dir=tmp_path),
        )
        workers.wait_for(
            lambda: (
                all(shown(shopify_sandbox, store, variant) == 5 for store in stores)
                and not ListingVariant.objects.filter(
                    variant=variant, is_inventory_dirty=True
                ).exists()
            ),
            timeout=120,
            what="every store showing 5 with nothing dirty",
        )
    finally:
        blocker.close()
        if doomed is not None:
            workers.kill(doomed)
        if survivor is not None:
            workers.stop(survivor)
        log.close()

    assert not VariantChange.objects.exists()
    rows = ListingVariant.objects.filter(variant=variant)
    assert sorted(rows.values_list("last_pushed_quantity", flat=True)) == [5, 5, 5]
    variant.refresh_from_db()
    assert (variant.stock_on_hand, variant.stock_reserved) == (10, 5)
