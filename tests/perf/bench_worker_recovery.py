"""Killed-worker recovery: the time from SIGKILL of a worker mid-task to its event processed
by another worker, with the production lease and sweep settings.

Real processes on PostgreSQL (a dedicated database, `bench_worker_recovery`) and Redis
(REDIS_URL): worker A (solo pool) claims an orders/create event and blocks inside its intake
transaction on a row the benchmark holds; worker B runs beside it with beat inside (-B); A is
killed with SIGKILL (no warm shutdown: its message stays unacked in Redis until the broker's
visibility timeout) and the row is released. Recovery is over when the event is PROCESSED; the
run also checks it was executed once (one order, one reservation, attempts 2).

Target (issue 14): under 60 s. `BENCH_RECOVERY_RUNS` runs (default 2), min/max reported.

    DATABASE_URL=... REDIS_URL=... python tests/perf/run.py worker_recovery
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf._support import bench_database, child_env  # noqa: E402

RUNS = int(os.environ.get("BENCH_RECOVERY_RUNS", "2"))
TIMEOUT = 400.0


def _one_run(database_url: str, redis_url: str, log, folder: str) -> dict[str, float]:
    from integrations.models import InboundWebhook
    from orders.models import Order
    from tests.integrations import worker_processes as workers
    from tests.orders.pipeline import body, make_offer, numeric, shopify_order, terms_store

    store = terms_store()
    offer = make_offer(store=store, stock=3)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    webhook = InboundWebhook.objects.create(
        source=InboundWebhook.Source.SHOPIFY,
        store=store,
        topic="orders/create",
        dedup_key=f"bench-{payload['id']}",
        body=body(payload),
    )

    def state() -> InboundWebhook:
        return InboundWebhook.objects.get(pk=webhook.pk)

    # Mail to the console: the supplier's new-order e-mail must not fail on a missing SMTP server.
    env = workers.worker_env(
        database_url=database_url, redis_url=redis_url, EMAIL_URL="consolemail://"
    )
    workers.clear_broker(redis_url)
    survivor = None
    try:
        with workers.doomed_worker_claiming(
            event_id=webhook.pk,
            variant_id=offer.variant_id,
            database_url=database_url,
            redis_url=redis_url,
            env=env,
            log=log,
            is_claimed=lambda: state().status == InboundWebhook.Status.PROCESSING,
            timeout=120,
        ) as (blocker, doomed):
            survivor = workers.start_worker(
                name="survivor", env=env, log=log, beat_dir=tempfile.mkdtemp(dir=folder)
            )
            time.sleep(10)  # B and its beat are up and sweeping, as in production
            killed = time.monotonic()
            workers.kill(doomed)
            blocker.rollback()
            recovered = workers.wait_for(
                lambda: state().status == InboundWebhook.Status.PROCESSED,
                timeout=TIMEOUT,
                what="the event being processed again",
            )
    finally:
        if survivor is not None:
            workers.stop(survivor)
        workers.clear_broker(redis_url)
    offer.variant.refresh_from_db()
    orders = Order.objects.filter(store=store).count()
    if (orders, offer.variant.stock_reserved) != (1, 1):
        raise AssertionError(
            f"executed more than once: {orders} orders, reserved {offer.variant.stock_reserved}"
        )
    return {"seconds": recovered - killed, "attempts": state().attempts}


def run() -> dict:
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
    with bench_database("worker_recovery") as database_url:
        os.environ.update(child_env(database_url, REDIS_URL=redis_url))
        import django

        django.setup()
        from django.conf import settings

        results = []
        with tempfile.TemporaryDirectory(prefix="bench-recovery-") as folder:
            log = open(ROOT / "var" / "bench-worker-recovery.log", "w")  # noqa: SIM115
            try:
                for _ in range(RUNS):
                    results.append(_one_run(database_url, redis_url, log, folder))
            finally:
                log.close()
        from django.db import connections

        connections.close_all()
        seconds = [r["seconds"] for r in results]
        return {
            "recovery_runs": len(results),
            "recovery_min_s": round(min(seconds), 1),
            "recovery_max_s": round(max(seconds), 1),
            "executions_per_event": 1,
            "attempts_last_run": results[-1]["attempts"],
            "lease_s": getattr(settings, "WORK_LEASE_SECONDS", "none (before leases)"),
            "sweep_interval_s": getattr(settings, "SWEEP_INTERVAL_SECONDS", 60),
        }


if __name__ == "__main__":
    print(run())  # noqa: T201
