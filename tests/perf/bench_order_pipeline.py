"""Order pipeline: signed Shopify orders/create webhooks → dispatched supplier orders.

Real processes: gunicorn (1 worker, gthread) takes the webhooks, a Celery worker on Redis
(REDIS_URL) processes them — intake, reservation, routing, payment on terms and DASHBOARD
dispatch in one inbox task per webhook — against PostgreSQL in a dedicated database
(`<DATABASE_URL name>_bench_orders_pipeline`, created and dropped here). Stock is plentiful; each order has one or
two lines from 40 variants of 4 suppliers listed in 5 stores of retailers on payment terms.

The worker runs as README recommends for the webhooks and orders queues, with server-side
binding and prepared statements (DB_SERVER_SIDE_BINDING=1, DB_PREPARE_THRESHOLD=5); set
BENCH_ORDERS_WORKER_BINDING=0 to measure it with the defaults. gunicorn keeps the defaults.

Three runs:
- light: LIGHT_RATE orders/s, latency of the path itself without queueing (p50/p95);
- burst: BURST orders fired as fast as 4 client threads can; throughput is orders whose supplier
  orders are all SENT divided by the time from the first POST to the last dispatch;
- steady: RATE orders/s for STEADY_SECONDS; latency is POST start → last supplier order SENT
  (`sent_at`, written by the worker on the same clock), p50/p95.

Targets (issue 7): at least 50 orders/s and p95 under 1 s on the 2-core machine.

    DATABASE_URL=... REDIS_URL=... python tests/perf/run.py order_pipeline
"""

from __future__ import annotations

import base64
import copy
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

SECRET = "bench-app-secret"
STORES = 5
SUPPLIERS = 4
VARIANTS_PER_SUPPLIER = 10
BURST = int(os.environ.get("BENCH_ORDERS_BURST", "600"))
RATE = float(os.environ.get("BENCH_ORDERS_RATE", "50"))
STEADY_SECONDS = float(os.environ.get("BENCH_ORDERS_STEADY_SECONDS", "10"))
POOL = os.environ.get("BENCH_ORDERS_POOL", "prefork")
CONCURRENCY = os.environ.get("BENCH_ORDERS_CONCURRENCY", "3")
WORKERS = int(os.environ.get("BENCH_ORDERS_WORKERS", "1"))  # worker instances
LIGHT_RATE = float(os.environ.get("BENCH_ORDERS_LIGHT_RATE", "5"))
WORKER_BINDING = os.environ.get("BENCH_ORDERS_WORKER_BINDING", "1") == "1"
LIGHT_SECONDS = 8.0
CLIENT_THREADS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.perf.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        "FIELD_ENCRYPTION_KEYS": "ZGV2LW9ubHktZmllbGQta2V5LWRvLW5vdC11c2UtISE=",
        "SHOPIFY_API_SECRET": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "EMAIL_URL": "dummymail://",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONPATH": str(ROOT),
    }


WORKER_DB_OPTIONS = {"DB_SERVER_SIDE_BINDING": "1", "DB_PREPARE_THRESHOLD": "5"}


def _fixture_order() -> dict:
    order = json.loads((ROOT / "tests" / "fixtures" / "shopify-order.json").read_text())["order"]
    order["financial_status"] = "paid"  # the fixture is authorized, not captured: it would wait
    return order


def _setup_data():
    from decimal import Decimal

    from catalog.models import Product, Variant
    from retailers.models import Listing, ListingVariant, Retailer, Store
    from suppliers.models import ShippingRate, Supplier

    suppliers = []
    for s in range(SUPPLIERS):
        supplier = Supplier.objects.create(
            company_name=f"Bench supplier {s}",
            slug=f"bench-supplier-{s}",
            status=Supplier.Status.ACTIVE,
            ship_from_country="US",
            contact_email=f"s{s}@bench.example",
        )
        ShippingRate.objects.create(
            supplier=supplier,
            carrier="UPS",
            service="Ground",
            zone=ShippingRate.Zone.DOMESTIC,
            price=Decimal("5.00"),
            additional_item_price=Decimal("1.00"),
        )
        suppliers.append(supplier)
    variants = []
    for supplier in suppliers:
        product = Product.objects.create(
            supplier=supplier, handle=f"p-{supplier.pk}", title=f"Product {supplier.pk}"
        )
        for v in range(VARIANTS_PER_SUPPLIER):
            variants.append(
                Variant.objects.create(
                    product=product,
                    supplier=supplier,
                    sku=f"B-{supplier.pk}-{v}",
                    wholesale_price=Decimal("10.00"),
                    stock_on_hand=1_000_000,
                )
            )
    stores = []
    for n in range(STORES):
        retailer = Retailer.objects.create(
            business_name=f"Bench retailer {n}", slug=f"bench-retailer-{n}", has_payment_terms=True
        )
        store = Store.objects.create(
            retailer=retailer,
            name=f"Bench store {n}",
            platform="SHOPIFY",
            domain=f"bench-{n}.myshopify.com",
            credentials={"access_token": "x"},
            status="CONNECTED",
        )
        ids = []
        for supplier in suppliers:
            listing = Listing.objects.create(store=store, product=supplier.products.get())
            for variant in variants:
                if variant.supplier_id != supplier.pk:
                    continue
                store_variant_id = 70_000_000 + n * 1000 + variant.pk
                ListingVariant.objects.create(
                    listing=listing,
                    variant=variant,
                    store=store,
                    store_variant_id=f"gid://shopify/ProductVariant/{store_variant_id}",
                    retail_price=Decimal("24.99"),
                    is_inventory_dirty=False,
                )
                ids.append((store_variant_id, variant.sku))
        stores.append((store.domain, ids))
    return stores


def _bodies(stores, count: int, start: int) -> list[tuple[str, str, bytes]]:
    """(shop domain, store order gid, body) for `count` orders of one or two lines."""
    template = _fixture_order()
    bodies = []
    for index in range(count):
        domain, ids = stores[index % len(stores)]
        order = copy.deepcopy(template)
        order_id = start + index
        order["id"] = order_id
        order["admin_graphql_api_id"] = f"gid://shopify/Order/{order_id}"
        order["name"] = f"#B{order_id}"
        lines = [ids[(index * 7) % len(ids)]]
        if index % 2:
            lines.append(ids[(index * 13 + 5) % len(ids)])
        items = []
        for n, (variant_id, sku) in enumerate(dict.fromkeys(lines)):
            item = copy.deepcopy(template["line_items"][0])
            item["id"] = order_id * 10 + n
            item["admin_graphql_api_id"] = f"gid://shopify/LineItem/{item['id']}"
            item["variant_id"] = variant_id
            item["sku"] = sku
            item["quantity"] = 1
            items.append(item)
        order["line_items"] = items
        bodies.append((domain, order["admin_graphql_api_id"], json.dumps(order).encode()))
    return bodies


def _headers(domain: str, body: bytes) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Webhook-Id": uuid.uuid4().hex,
        "X-Shopify-Event-Id": uuid.uuid4().hex,
    }


def _post_all(port: int, bodies, *, rate: float | None) -> tuple[dict[str, float], int]:
    """POST every body (paced at `rate` per second when given); returns send times by order."""
    sent: dict[str, float] = {}
    errors = 0
    lock = threading.Lock()
    started = time.time()
    chunks = [bodies[n::CLIENT_THREADS] for n in range(CLIENT_THREADS)]

    def worker(offset: int, chunk) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for position, (domain, order_gid, body) in enumerate(chunk):
            if rate:
                due = started + (position * CLIENT_THREADS + offset) / rate
                delay = due - time.time()
                if delay > 0:
                    time.sleep(delay)
            at = time.time()
            conn.request("POST", "/webhooks/shopify/", body=body, headers=_headers(domain, body))
            response = conn.getresponse()
            response.read()
            with lock:
                sent[order_gid] = at
                errors += response.status != 200
        conn.close()

    threads = [threading.Thread(target=worker, args=(n, chunk)) for n, chunk in enumerate(chunks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent, errors


def _wait_dispatched(order_gids: set[str], timeout: float) -> dict[str, float]:
    """store order id → time its last supplier order was SENT, once all are (or timeout)."""
    from django.db import connection
    from django.db.models import Count, Max, Q

    from orders.models import Order

    deadline = time.monotonic() + timeout
    done: dict[str, float] = {}
    while time.monotonic() < deadline:
        rows = (
            Order.objects.filter(store_order_id__in=order_gids)
            .annotate(
                total=Count("supplier_orders"),
                sent=Count("supplier_orders", filter=Q(supplier_orders__status="SENT")),
                last=Max("supplier_orders__sent_at"),
            )
            .values_list("store_order_id", "total", "sent", "last")
        )
        done = {gid: last.timestamp() for gid, total, sent, last in rows if total and total == sent}
        if len(done) == len(order_gids):
            break
        time.sleep(0.25)
    connection.close()
    return done


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _start(argv, env, log):
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def run() -> dict:
    with bench_database("orders_pipeline") as database_url:
        env = _env(database_url)
        os.environ.update(env)
        import django

        django.setup()
        from django.db import connection

        from dropship.celery import app as celery_app

        stores = _setup_data()
        connection.close()
        celery_app.control.purge()
        port = _free_port()
        log = open(ROOT / "var" / "bench-order-pipeline.log", "w")  # noqa: SIM115
        processes = [
            _start(
                gunicorn_argv(port=port),
                env,
                log,
            ),
            *(
                _start(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "dropship",
                        "worker",
                        "-n",
                        f"bench{n}@%h",
                        "-Q",
                        "webhooks,orders,default",
                        "--pool",
                        POOL,
                        "--concurrency",
                        CONCURRENCY,
                        "--loglevel",
                        "WARNING",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    {**env, **WORKER_DB_OPTIONS} if WORKER_BINDING else env,
                    log,
                )
                for n in range(WORKERS)
            ),
        ]
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                    break
                except (requests.ConnectionError, requests.Timeout):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            # warm-up: imports, connections, caches in both processes
            warm = _bodies(stores, 40, start=1_000_000)
            sent, _ = _post_all(port, warm, rate=None)
            _wait_dispatched(set(sent), timeout=120)

            burst = _bodies(stores, BURST, start=2_000_000)
            cpu_before = [cpu_seconds(process.pid) for process in processes]
            burst_sent, burst_errors = _post_all(port, burst, rate=None)
            burst_done = _wait_dispatched(set(burst_sent), timeout=300)
            cpu_after = [cpu_seconds(process.pid) for process in processes]
            spent = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
            web_cpu = spent[0] / max(len(burst_done), 1)
            worker_cpu = sum(spent[1:]) / max(len(burst_done), 1)
            burst_elapsed = max(burst_done.values(), default=0) - min(burst_sent.values())
            burst_latency = [burst_done[g] - burst_sent[g] for g in burst_done]

            light = _bodies(stores, int(LIGHT_RATE * LIGHT_SECONDS), start=4_000_000)
            light_sent, _ = _post_all(port, light, rate=LIGHT_RATE)
            light_done = _wait_dispatched(set(light_sent), timeout=300)
            light_latency = [light_done[g] - light_sent[g] for g in light_done]

            steady_count = int(RATE * STEADY_SECONDS)
            steady = _bodies(stores, steady_count, start=3_000_000)
            steady_sent, steady_errors = _post_all(port, steady, rate=RATE)
            steady_done = _wait_dispatched(set(steady_sent), timeout=300)
            steady_latency = [steady_done[g] - steady_sent[g] for g in steady_done]
            steady_elapsed = max(steady_done.values(), default=0) - min(steady_sent.values())
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
            log.close()
            celery_app.control.purge()
            connection.close()
    return {
        "orders_burst_orders_per_second": round(len(burst_done) / burst_elapsed, 1),
        "orders_burst_dispatched": f"{len(burst_done)}/{BURST}",
        "orders_burst_p50_ms": round(statistics.median(burst_latency) * 1000, 1),
        "orders_burst_p95_ms": round(_percentile(burst_latency, 0.95) * 1000, 1),
        "orders_burst_http_errors": burst_errors,
        "orders_cpu_ms_per_order_web": round(web_cpu * 1000, 1),
        "orders_cpu_ms_per_order_worker": round(worker_cpu * 1000, 1),
        "orders_light_rate_offered": LIGHT_RATE,
        "orders_light_p50_ms": round(statistics.median(light_latency) * 1000, 1),
        "orders_light_p95_ms": round(_percentile(light_latency, 0.95) * 1000, 1),
        "orders_steady_rate_offered": RATE,
        "orders_steady_orders_per_second": round(len(steady_done) / steady_elapsed, 1),
        "orders_steady_dispatched": f"{len(steady_done)}/{steady_count}",
        "orders_steady_p50_ms": round(statistics.median(steady_latency) * 1000, 1),
        "orders_steady_p95_ms": round(_percentile(steady_latency, 0.95) * 1000, 1),
        "orders_steady_http_errors": steady_errors,
        "orders_setup": f"gunicorn 1x8 gthread; {WORKERS} celery workers {POOL} x{CONCURRENCY}"
        f"{' (server-side binding, prepared)' if WORKER_BINDING else ''}; "
        f"{STORES} stores, {SUPPLIERS} suppliers, 1-2 lines/order",
    }


if __name__ == "__main__":
    print(run())  # noqa: T201
