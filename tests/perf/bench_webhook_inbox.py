"""Inbox throughput: signed Shopify orders/create webhooks accepted by ONE web process.

Starts gunicorn (1 worker, gthread, 8 threads, DEBUG off) on a free port against the database
in DATABASE_URL, creates a connected store, fires signed deliveries (each a new event) from a
pool of client threads with keep-alive connections, and reports throughput and latency
percentiles. Each accepted delivery is a real INSERT plus a task published to the broker
(REDIS_URL); the queued tasks, the rows and the store are removed afterwards.

Targets (issue 4): at least 300 webhooks/s, p99 under 50 ms.

    DATABASE_URL=... REDIS_URL=... python tests/perf/bench_webhook_inbox.py
"""

from __future__ import annotations

import base64
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
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.perf._support import bench_database, gunicorn_argv  # noqa: E402

SHOP = "bench-inbox.myshopify.com"
SECRET = "bench-app-secret"
CLIENT_THREADS = 4
WARMUP = 200
REQUESTS = 4000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "tests.perf.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        "FIELD_ENCRYPTION_KEYS": "ZGV2LW9ubHktZmllbGQta2V5LWRvLW5vdC11c2UtISE=",
        "SHOPIFY_API_SECRET": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }


def _setup_django(env: dict[str, str]) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    import django

    django.setup()


def _order_body() -> bytes:
    order = json.loads((ROOT / "tests" / "fixtures" / "shopify-order.json").read_text())["order"]
    return json.dumps(order).encode()


def _signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def _fire(port: int, body: bytes, count: int) -> tuple[list[float], int, float]:
    """Deliver `count` signed webhooks (each a new event id) over keep-alive connections."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_thread = count // CLIENT_THREADS
    signature = _signature(body)  # the signature covers the body only

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        local = []
        bad = 0
        for _ in range(per_thread):
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Hmac-Sha256": signature,
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-API-Version": "2026-10",
                "X-Shopify-Webhook-Id": uuid.uuid4().hex,
                "X-Shopify-Event-Id": uuid.uuid4().hex,
            }
            started = time.perf_counter()
            conn.request("POST", "/webhooks/shopify/", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            local.append(time.perf_counter() - started)
            bad += response.status != 200
        conn.close()
        with lock:
            latencies.extend(local)
            errors += bad

    threads = [threading.Thread(target=worker) for _ in range(CLIENT_THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run() -> dict:
    with bench_database("webhook_inbox") as database_url:
        return _measure(_env(database_url))


def _measure(env: dict[str, str]) -> dict:
    _setup_django(env)
    from dropship.celery import app as celery_app
    from integrations.models import InboundWebhook
    from retailers.models import Retailer, Store

    retailer, _ = Retailer.objects.get_or_create(
        slug="bench-retailer", defaults={"business_name": "Bench"}
    )
    Store.objects.filter(domain=SHOP).delete()
    store = Store.objects.create(
        retailer=retailer,
        name="Bench",
        platform="SHOPIFY",
        domain=SHOP,
        credentials={"access_token": "x"},
    )
    port = _free_port()
    server = subprocess.Popen(
        gunicorn_argv(port=port),
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        body = _order_body()
        _fire(port, body, WARMUP)
        latencies, errors, elapsed = _fire(port, body, REQUESTS)
        stored = InboundWebhook.objects.filter(store=store).count()
    finally:
        server.terminate()
        server.wait(timeout=10)
        InboundWebhook.objects.filter(store=store).delete()
        store.delete()
        celery_app.control.purge()
    return {
        "inbox_webhooks_per_second": round(len(latencies) / elapsed, 1),
        "inbox_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "inbox_p95_ms": round(_percentile(latencies, 0.95) * 1000, 2),
        "inbox_p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "inbox_requests": len(latencies),
        "inbox_errors": errors,
        "inbox_rows_stored": stored,
        "inbox_setup": f"gunicorn 1 worker x 8 threads, {CLIENT_THREADS} client threads",
    }


if __name__ == "__main__":
    print(run())  # noqa: T201
