"""Carrier tracking: signed tracker.updated webhooks accepted by ONE web process, and the time
from a `delivered` event to the order reading DELIVERED.

Real processes on a dedicated database (`bench_carrier_webhooks`) and Redis (REDIS_URL):
1. Throughput: gunicorn (1 worker, gthread, 8 threads, production settings) takes pre-signed
   events (each a new event id, for one of the benchmark's parcels) from 4 client threads over
   keep-alive connections; each accepted one is an INSERT into the inbox plus a task published
   to the broker. The queued tasks are purged afterwards. Baseline: GET /healthz on the same
   server, same clients (the ratio survives a noisy machine).
2. Delivery latency: one Celery worker (solo pool, webhooks and orders queues) runs beside the
   same gunicorn; for each parcel a `delivered` event is POSTed and the order row is read until
   it says DELIVERED. Reported per parcel: POST sent → order DELIVERED, p50 / p95.

Targets (issue 16): at least 300 webhooks/s with p99 under 50 ms; delivered → DELIVERED p95 < 5 s.

    DATABASE_URL=... REDIS_URL=... python tests/perf/run.py carrier_webhooks
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.perf._support import bench_database, child_env, gunicorn_argv  # noqa: E402

SECRET = "whsec_bench_tracking"
CLIENT_THREADS = 4
WARMUP = 200
REQUESTS = 4000
PARCELS = 40  # delivered one after the other for the latency
UPS = "1Z999AA10123456784"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _event(tracker_id: str, scans: list[tuple[str, datetime]]) -> tuple[bytes, str]:
    """A tracker.updated Event as EasyPost sends it, and its X-Hmac-Signature."""
    body = json.dumps(
        {
            "object": "Event",
            "id": f"evt_{uuid.uuid4().hex}",
            "description": "tracker.updated",
            "mode": "test",
            "result": {
                "id": tracker_id,
                "object": "Tracker",
                "tracking_code": UPS,
                "carrier": "UPS",
                "status": scans[-1][0],
                "updated_at": scans[-1][1].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "tracking_details": [
                    {
                        "object": "TrackingDetail",
                        "status": status,
                        "message": status.replace("_", " "),
                        "datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "tracking_location": {"city": "Louisville", "state": "KY"},
                    }
                    for status, when in scans
                ],
            },
        }
    ).encode()
    signature = "hmac-sha256-hex=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, signature


def _fire(port: int, requests_: list[tuple[str, bytes, str]]) -> tuple[list[float], int, float]:
    """Send (path, body, signature) requests from CLIENT_THREADS keep-alive connections."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    chunks = [requests_[n::CLIENT_THREADS] for n in range(CLIENT_THREADS)]

    def worker(chunk: list[tuple[str, bytes, str]]) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        local, bad = [], 0
        for path, body, signature in chunk:
            started = time.perf_counter()
            if body:
                conn.request(
                    "POST",
                    path,
                    body=body,
                    headers={"Content-Type": "application/json", "X-Hmac-Signature": signature},
                )
            else:
                conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            local.append(time.perf_counter() - started)
            bad += response.status != 200
        conn.close()
        with lock:
            latencies.extend(local)
            errors += bad

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def _env(database_url: str) -> dict[str, str]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env = child_env(
        database_url,
        TRACKING_WEBHOOK_SECRET=SECRET,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="0",
        EMAIL_URL="dummymail://",
    )
    env.pop("CELERY_RESULT_BACKEND", None)
    return env


def _parcels(count: int) -> list[tuple[int, str]]:
    """`count` shipped supplier orders of a custom store, each with one tracked parcel."""
    from django.utils import timezone

    from orders.models import Order, Shipment, SupplierOrder
    from retailers.models import Retailer, Store
    from suppliers.models import Supplier

    retailer = Retailer.objects.create(slug="bench-tracking", business_name="Bench")
    store = Store.objects.create(
        retailer=retailer, name="Bench", platform="CUSTOM", domain="bench.example", credentials={}
    )
    supplier = Supplier.objects.create(company_name="Bench Supplier", slug="bench-supplier")
    now = timezone.now() - timedelta(days=1)
    parcels = []
    for n in range(count):
        order = Order.objects.create(
            store=store, retailer=retailer, store_order_id=str(n), number=f"#{n}", status="SHIPPED"
        )
        supplier_order = SupplierOrder.objects.create(
            order=order, supplier=supplier, number=f"SO-BENCH-{n}", status="SHIPPED", shipped_at=now
        )
        shipment = Shipment.objects.create(
            supplier_order=supplier_order,
            carrier="UPS",
            tracking_number=UPS,
            shipped_at=now,
            push_status="PUSHED",
            tracker_id=f"trk_bench_{n}",
        )
        parcels.append((order.pk, shipment.tracker_id))
    return parcels


def run() -> dict:
    with bench_database("carrier_webhooks") as database_url:
        return _measure(_env(database_url))


def _measure(env: dict[str, str]) -> dict:
    os.environ.update(env)
    import django

    django.setup()
    from dropship.celery import app as celery_app
    from integrations.models import InboundWebhook
    from orders.models import Order
    from tests.integrations import worker_processes as workers

    parcels = _parcels(PARCELS)
    base = datetime.now(UTC) - timedelta(hours=20)
    port = _free_port()
    server = subprocess.Popen(gunicorn_argv(port=port), cwd=ROOT, env=env)
    worker = None
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts gunicorn slowly
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        in_transit = [
            ("/webhooks/tracking/", *_event(parcels[n % PARCELS][1], [("in_transit", base)]))
            for n in range(WARMUP + REQUESTS)
        ]
        _fire(port, in_transit[:WARMUP])
        latencies, errors, elapsed = _fire(port, in_transit[WARMUP:])
        baseline, _, baseline_elapsed = _fire(port, [("/healthz", b"", "")] * REQUESTS)
        stored = InboundWebhook.objects.filter(source="CARRIER").count()
        celery_app.control.purge()
        InboundWebhook.objects.filter(source="CARRIER").delete()

        log = open(ROOT / "var" / "bench-carrier-webhooks.log", "w")  # noqa: SIM115
        worker = workers.start_worker(
            name="bench-tracking",
            env={**env, "DJANGO_SETTINGS_MODULE": "tests.perf.settings"},
            log=log,
            queues="webhooks,orders,default,billing",
        )
        time.sleep(3)  # the worker connects to the broker
        delivered_after: list[float] = []
        for order_id, tracker_id in parcels:
            body, signature = _event(
                tracker_id, [("in_transit", base), ("delivered", base + timedelta(hours=2))]
            )
            started = time.monotonic()
            answer = requests.post(
                f"http://127.0.0.1:{port}/webhooks/tracking/",
                data=body,
                headers={"Content-Type": "application/json", "X-Hmac-Signature": signature},
                timeout=10,
            )
            answer.raise_for_status()
            done = workers.wait_for(
                lambda order_id=order_id: Order.objects.filter(
                    pk=order_id, status="DELIVERED"
                ).exists(),
                timeout=60,
                what=f"order {order_id} DELIVERED",
            )
            delivered_after.append(done - started)
    finally:
        if worker is not None:
            workers.stop(worker)
        server.terminate()
        server.wait(timeout=10)
        celery_app.control.purge()
    return {
        "carrier_webhooks_per_second": round(len(latencies) / elapsed, 1),
        "carrier_webhook_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "carrier_webhook_p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "carrier_webhook_errors": errors,
        "carrier_webhook_rows_stored": stored,
        "baseline_healthz_per_second": round(len(baseline) / baseline_elapsed, 1),
        "delivered_to_order_delivered_p50_ms": round(statistics.median(delivered_after) * 1000, 1),
        "delivered_to_order_delivered_p95_ms": round(_percentile(delivered_after, 0.95) * 1000, 1),
        "delivered_parcels": len(delivered_after),
        "setup": f"gunicorn 1 worker x 8 threads, {CLIENT_THREADS} client threads; "
        "1 celery worker (solo) for the delivery latency",
    }


if __name__ == "__main__":
    print(run())  # noqa: T201
