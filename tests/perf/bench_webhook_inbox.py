"""Inbox throughput: signed Shopify orders/create webhooks accepted by ONE web process.

Starts gunicorn (1 worker, gthread, 8 threads, DEBUG off) on a free port against the database
in DATABASE_URL, creates a connected store, fires signed deliveries (each a new event) from a
pool of client threads with keep-alive connections, and reports throughput and latency
percentiles. Each accepted delivery is a real INSERT plus a task published to the broker
(REDIS_URL); the queued tasks, the rows and the store are removed afterwards.

Baseline in the same run, same process, same client threads: Django's hello-world, `GET /healthz`
(a view answering a constant JSON through the whole middleware stack). Hello-world and inbox runs
alternate ROUNDS times; the best round of each is reported, with the gunicorn process's CPU per
request (/proc: user + system of all its threads), which a machine shared with other work does
not blur the way it blurs throughput.

Targets: issue 4 at least 300 webhooks/s, p99 under 50 ms; issue 20 point 5 at least 0.5 of the
same-run hello-world throughput, p99 under 30 ms.

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
from tests.perf._support import bench_database, cpu_seconds, gunicorn_argv  # noqa: E402

SHOP = "bench-inbox.myshopify.com"
SECRET = "bench-app-secret"
CLIENT_THREADS = 4
WARMUP = 200
REQUESTS = 4000
ROUNDS = 2  # hello-world and inbox alternate


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


def _fire(port: int, body: bytes | None, count: int) -> tuple[list[float], int, float]:
    """Deliver `count` signed webhooks (each a new event id) over keep-alive connections; with no
    body, GET the hello-world instead."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_thread = count // CLIENT_THREADS
    signature = _signature(body) if body is not None else ""  # it covers the body only

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        local = []
        bad = 0
        for _ in range(per_thread):
            started = time.perf_counter()
            if body is None:
                conn.request("GET", "/healthz")
            else:
                headers = {
                    "Content-Type": "application/json",
                    "X-Shopify-Topic": "orders/create",
                    "X-Shopify-Hmac-Sha256": signature,
                    "X-Shopify-Shop-Domain": SHOP,
                    "X-Shopify-API-Version": "2026-10",
                    "X-Shopify-Webhook-Id": uuid.uuid4().hex,
                    "X-Shopify-Event-Id": uuid.uuid4().hex,
                }
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


def _round(pid: int, port: int, body: bytes | None) -> dict:
    """One measured run: throughput, latencies, errors and the server's CPU per request."""
    cpu_before = cpu_seconds(pid)
    latencies, errors, elapsed = _fire(port, body, REQUESTS)
    cpu = cpu_seconds(pid) - cpu_before
    return {
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "cpu_ms_per_request": round(cpu / len(latencies) * 1000, 2),
        "requests": len(latencies),
        "errors": errors,
    }


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
        _fire(port, None, WARMUP)
        _fire(port, body, WARMUP)
        hello_rounds, inbox_rounds = [], []
        for _ in range(ROUNDS):
            hello_rounds.append(_round(server.pid, port, None))
            inbox_rounds.append(_round(server.pid, port, body))
        stored = InboundWebhook.objects.filter(store=store).count()
    finally:
        server.terminate()
        server.wait(timeout=10)
        InboundWebhook.objects.filter(store=store).delete()
        store.delete()
        celery_app.control.purge()
    hello = max(hello_rounds, key=lambda numbers: numbers["per_second"])
    inbox = max(inbox_rounds, key=lambda numbers: numbers["per_second"])
    return {
        **{f"inbox_{name}": value for name, value in inbox.items() if name != "per_second"},
        "inbox_webhooks_per_second": inbox["per_second"],
        "inbox_rows_stored": stored,
        "hello_world_per_second": hello["per_second"],
        **{f"hello_world_{name}": value for name, value in hello.items() if name != "per_second"},
        "inbox_vs_hello_world": round(inbox["per_second"] / hello["per_second"], 2),
        "inbox_cpu_vs_hello_world": round(
            hello["cpu_ms_per_request"] / max(inbox["cpu_ms_per_request"], 0.01), 2
        ),
        "inbox_rounds_per_second": [numbers["per_second"] for numbers in inbox_rounds],
        "hello_world_rounds_per_second": [numbers["per_second"] for numbers in hello_rounds],
        "inbox_setup": f"gunicorn 1 worker x 8 threads, {CLIENT_THREADS} client threads, "
        f"hello-world GET /healthz, best of {ROUNDS} alternating rounds of {REQUESTS}",
    }


if __name__ == "__main__":
    print(run())  # noqa: T201
