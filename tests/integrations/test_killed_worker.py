"""A real worker killed mid-task (SIGKILL, no warm shutdown): its event is processed once, by
another worker, as soon as its lease lapses; a worker that is merely slow keeps its event.

PostgreSQL and Redis, real Celery processes. The lease and the sweep interval are shortened for
the test (WORK_LEASE_SECONDS, SWEEP_INTERVAL_SECONDS); the recovery time with the production
values is measured by `make bench BENCH_ARGS=worker_recovery`.
"""

from __future__ import annotations

import tempfile

import pytest
from django.conf import settings
from django.db import connection

from integrations.models import InboundWebhook
from orders.models import Order, SupplierOrder
from tests.integrations import worker_processes as workers
from tests.orders.pipeline import body, make_offer, numeric, shopify_order, terms_store

pytestmark = pytest.mark.django_db(transaction=True)
LEASE_SECONDS = 2


@pytest.fixture
def live_urls():
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
    workers.clear_broker(settings.REDIS_URL)
    yield workers.database_url_of_tests(), settings.REDIS_URL
    workers.clear_broker(settings.REDIS_URL)


def _state(webhook_id: int) -> InboundWebhook:
    return InboundWebhook.objects.get(pk=webhook_id)


def test_a_killed_workers_event_is_processed_once_by_another_worker(live_urls, tmp_path):
    database_url, redis_url = live_urls
    store = terms_store()
    offer = make_offer(store=store, stock=3)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    webhook = InboundWebhook.objects.create(
        source=InboundWebhook.Source.SHOPIFY,
        store=store,
        topic="orders/create",
        dedup_key=f"event-{payload['id']}",
        body=body(payload),
    )
    env = workers.worker_env(
        database_url=database_url,
        redis_url=redis_url,
        WORK_LEASE_SECONDS=str(LEASE_SECONDS),
        SWEEP_INTERVAL_SECONDS="1",
        DEBUG="1",
    )
    log = open(tmp_path / "workers.log", "w")  # noqa: SIM115
    survivor = None
    try:
        # The test holds the variant's row: worker A's intake blocks inside its transaction.
        with workers.doomed_worker_claiming(
            event_id=webhook.pk,
            variant_id=offer.variant_id,
            database_url=database_url,
            redis_url=redis_url,
            env=env,
            log=log,
            is_claimed=lambda: _state(webhook.pk).status == InboundWebhook.Status.PROCESSING,
            timeout=90,
        ) as (blocker, doomed):
            claimed_until = _state(webhook.pk).lease_until
            # Worker B, with beat sweeping every second, runs beside A. A is blocked, alive, and
            # renews its lease: three lease lengths later nobody has taken the event from it.
            survivor = workers.start_worker(
                name="survivor", env=env, log=log, beat_dir=tempfile.mkdtemp(dir=tmp_path)
            )
            workers.wait_for(
                lambda: (
                    _state(webhook.pk).lease_until.timestamp()
                    > claimed_until.timestamp() + 3 * LEASE_SECONDS
                ),
                timeout=90,
                what="worker A renewing its lease for three lease lengths",
            )
            assert (_state(webhook.pk).status, _state(webhook.pk).attempts) == (
                InboundWebhook.Status.PROCESSING,
                1,
            )
            assert Order.objects.count() == 0

            workers.kill(doomed)  # mid-task: its transaction dies with it
            blocker.rollback()
            workers.wait_for(
                lambda: _state(webhook.pk).status == InboundWebhook.Status.PROCESSED,
                timeout=90,
                what="the event being processed again",
            )
    finally:
        if survivor is not None:
            workers.stop(survivor)
        log.close()

    recovered = _state(webhook.pk)
    assert (recovered.attempts, recovered.lease_until, recovered.last_error) == (2, None, "")
    order = Order.objects.get()
    supplier_order = order.supplier_orders.get()
    assert supplier_order.status == SupplierOrder.Status.SENT
    assert supplier_order.events.filter(kind="sent").count() == 1
    offer.variant.refresh_from_db()
    assert offer.variant.stock_reserved == 1
