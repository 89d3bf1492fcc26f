"""API read endpoints under load, and what the rate limiter adds to each call.

Load: 25 suppliers (40 products of 2 variants each) and 25 retailers (40 orders each), one key
each: 50 client threads, one per key, call at once through one gunicorn process (1 worker,
gthread, 8 threads, production settings, DEBUG off): the suppliers `GET /api/v1/supplier/products`,
the retailers `GET /api/v1/orders` (the retailer orders list; while a branch does not serve it
yet, the retailers' `GET /api/v1/billing/invoices` list stands in and is reported as such). Baseline in the same run: `GET /healthz` from the same 50 threads.
Two loads, reported per endpoint:
- closed loop: each of the 50 threads sends its next call as soon as the last one answered, so 50
  calls are always in flight on 8 server threads; this gives the process's saturation throughput
  (`closed_loop_requests_per_second`), and its latencies are mostly queueing (50 in flight / 8
  threads), not the endpoints' cost;
- open loop (the figure for "p95 under load", goal < 50 ms): the 50 keys each send at a steady
  rate, together OPEN_LOOP_SHARE of the closed loop's saturation throughput (stated in
  `open_loop_rate_per_second`), for OPEN_LOOP_SECONDS; a call's latency runs from the time it
  was due to be sent, so a server falling behind shows in the figures instead of slowing the
  senders down (no coordinated omission). p50 / p95 / p99 / max.

Limiter: in one process, the API guard middleware (dropship/core/api_guard.py) around a view that
does nothing, against the same view called directly, on the configured cache (Redis when
REDIS_URL is set, as in production): the difference per call is the limiter's added latency
(goal < 1 ms). Baseline: one cache read per call, so the limiter's cost is also given in cache
round trips (what survives a loaded machine).
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

from tests.perf._support import ROOT, bench_database, child_env, gunicorn_argv, run_child

ORGANISATIONS = 25  # of each kind: 50 keys
ROWS = 40  # products per supplier, orders per retailer
REQUESTS = 20  # timed calls per key
WARMUP = 2
LIMITER_CALLS = 2000
OPEN_LOOP_SHARE = 0.5  # of the closed loop's saturation throughput
OPEN_LOOP_SECONDS = 15


def setup() -> None:
    """Run in a child: the organisations, their rows and keys; prints the keys."""
    import django

    django.setup()
    from catalog.models import Product, Variant
    from dropship.accounts.services import create_api_key
    from tests import factories

    supplier_keys, retailer_keys = [], []
    for n in range(ORGANISATIONS):
        supplier = factories.SupplierFactory()
        products = Product.objects.bulk_create(
            Product(supplier=supplier, handle=f"p-{n}-{i}", title=f"Product {i}", status="ACTIVE")
            for i in range(ROWS)
        )
        Variant.objects.bulk_create(
            Variant(
                product=product,
                supplier=supplier,
                sku=f"S{n}-{i}-{size}",
                options={"Size": size},
                wholesale_price="5.00",
                stock_on_hand=100,
            )
            for i, product in enumerate(products)
            for size in ("S", "M")
        )
        supplier_keys.append(create_api_key(organisation=supplier, name="b", created_by=None)[1])
        store = factories.StoreFactory()
        factories.OrderFactory.create_batch(ROWS, store=store)
        retailer_keys.append(
            create_api_key(organisation=store.retailer, name="b", created_by=None)[1]
        )
    print(json.dumps({"supplier": supplier_keys, "retailer": retailer_keys}))  # noqa: T201


def limiter() -> None:
    """Run in a child: the guard's added latency per call, in microseconds."""
    import django

    django.setup()
    from django.http import HttpResponse
    from django.test import RequestFactory

    from dropship.core.api_guard import ApiGuardMiddleware

    def view(request):
        return HttpResponse(b"{}", content_type="application/json")

    guarded = ApiGuardMiddleware(view)
    factory = RequestFactory()
    requests = [
        factory.get("/api/v1/supplier/products", HTTP_AUTHORIZATION=f"Bearer dsk_bench{i % 50}")
        for i in range(LIMITER_CALLS)
    ]

    def timed(handler) -> tuple[float, float]:
        """(wall, CPU of this process) per call, in microseconds."""
        started, cpu_started = time.perf_counter(), time.process_time()
        for request in requests:
            handler(request)
        return (
            (time.perf_counter() - started) / LIMITER_CALLS * 1e6,
            (time.process_time() - cpu_started) / LIMITER_CALLS * 1e6,
        )

    from django.conf import settings
    from django.core.cache import cache

    def cache_round_trip(request):  # the baseline: one cache read per call
        cache.get("bench-round-trip")
        return view(request)

    def best(handler) -> tuple[float, float]:
        runs = [timed(handler) for _ in range(3)]
        return min(wall for wall, _ in runs), min(cpu for _, cpu in runs)

    timed(guarded)  # warm the connection and the code paths
    plain, plain_cpu = best(view)
    one_read, one_read_cpu = best(cache_round_trip)
    with_guard, with_guard_cpu = best(guarded)
    print(  # noqa: T201
        json.dumps(
            {
                "limiter_calls": LIMITER_CALLS,
                "view_alone_us": round(plain, 1),
                "view_with_limiter_us": round(with_guard, 1),
                "limiter_added_us": round(with_guard - plain, 1),
                # CPU of the web process: what the limiter costs on a loaded machine, where
                # the wall time of a round trip is mostly waiting for a core
                "limiter_added_cpu_us": round(with_guard_cpu - plain_cpu, 1),
                "one_cache_read_us": round(one_read - plain, 1),
                "one_cache_read_cpu_us": round(one_read_cpu - plain_cpu, 1),
                "limiter_in_cache_reads": round(
                    (with_guard - plain) / max(one_read - plain, 0.1), 1
                ),
                "limiter_cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
            }
        )
    )


def _percentile(samples: list[float], percent: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _wait_for(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except requests.RequestException:  # not listening yet
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer at {url}")


def _load(
    calls: list[tuple[str, str | None]], *, rate: float | None = None
) -> tuple[list[float], list[float], set[int], float]:
    """Each (url, key) in its own thread, all at once: (latencies of the supplier half, of the
    retailer half, statuses seen, seconds the timed calls took). Closed loop without `rate`;
    with it, open loop: each thread sends at rate / len(calls) per second, evenly phased, for
    OPEN_LOOP_SECONDS, and a latency counts from the moment its call was due."""
    import requests

    if rate is not None:
        return _open_loop(calls, rate)
    timed_from: list[float] = []
    barrier = threading.Barrier(len(calls))
    latencies: list[list[float]] = [[] for _ in calls]
    statuses: set[int] = set()

    def client(index: int, url: str, key: str | None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        with requests.Session() as session:
            barrier.wait()
            for round_number in range(WARMUP + REQUESTS):
                started = time.perf_counter()
                if round_number == WARMUP:
                    timed_from.append(started)
                response = session.get(url, headers=headers, timeout=60)
                elapsed = (time.perf_counter() - started) * 1000
                statuses.add(response.status_code)
                if round_number >= WARMUP:
                    latencies[index].append(elapsed)

    _run_clients(client, calls)
    elapsed = time.perf_counter() - min(timed_from)
    return (*_halves(latencies), statuses, elapsed)


def _run_clients(client, calls: list[tuple[str, str | None]]) -> None:
    """client(index, url, key) for every call, each in its own thread, until all are done."""
    threads = [
        threading.Thread(target=client, args=(i, url, key)) for i, (url, key) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _halves(latencies: list[list[float]]) -> tuple[list[float], list[float]]:
    half = len(latencies) // 2
    return (
        [value for row in latencies[:half] for value in row],
        [value for row in latencies[half:] for value in row],
    )


def _open_loop(
    calls: list[tuple[str, str | None]], rate: float
) -> tuple[list[float], list[float], set[int], float]:
    import requests

    interval = len(calls) / rate  # seconds between two calls of one key
    per_key = max(1, int(OPEN_LOOP_SECONDS / interval))
    latencies: list[list[float]] = [[] for _ in calls]
    statuses: set[int] = set()
    sessions = [requests.Session() for _ in calls]
    for session, (url, key) in zip(sessions, calls, strict=True):  # connect before the clock
        session.get(url, headers={"Authorization": f"Bearer {key}"} if key else {}, timeout=60)
    start = time.perf_counter() + 1.0

    def client(index: int, url: str, key: str | None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        phase = index / len(calls) * interval
        for number in range(per_key):
            due = start + phase + number * interval
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            response = sessions[index].get(url, headers=headers, timeout=60)
            latencies[index].append((time.perf_counter() - due) * 1000)
            statuses.add(response.status_code)

    _run_clients(client, calls)
    elapsed = time.perf_counter() - start
    for session in sessions:
        session.close()
    return (*_halves(latencies), statuses, elapsed)


def _summary(prefix: str, samples: list[float]) -> dict:
    return {
        f"{prefix}_p50_ms": round(statistics.median(samples), 1),
        f"{prefix}_p95_ms": round(_percentile(samples, 95), 1),
        f"{prefix}_p99_ms": round(_percentile(samples, 99), 1),
        f"{prefix}_max_ms": round(max(samples), 1),
    }


def run() -> dict:
    import requests

    with bench_database("api_read") as url:
        env = child_env(
            url,
            API_RATE_LIMIT_PER_IP_TOTAL="1000000/m",  # 50 keys from one address: not the point
        )
        keys = run_child("tests.perf.bench_api_read", "setup", env=env)
        limiter_numbers = run_child("tests.perf.bench_api_read", "limiter", env=env)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            gunicorn_argv(port=port, threads=8),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(f"{base}/healthz")
            retailer_list = requests.get(
                f"{base}/api/v1/orders",
                headers={"Authorization": f"Bearer {keys['retailer'][0]}"},
                timeout=30,
            ).status_code
            # before the retailer orders list lands, the invoices list stands in for it
            retailer_path = "/api/v1/orders" if retailer_list == 200 else "/api/v1/billing/invoices"
            baseline, _, _, _ = _load([(f"{base}/healthz", None)] * (2 * ORGANISATIONS))
            calls = [(f"{base}/api/v1/supplier/products", key) for key in keys["supplier"]] + [
                (f"{base}{retailer_path}", key) for key in keys["retailer"]
            ]
            supplier_products, retailer_orders, statuses, elapsed = _load(calls)
            saturation = (len(supplier_products) + len(retailer_orders)) / elapsed
            open_rate = round(OPEN_LOOP_SHARE * saturation, 1)
            open_products, open_orders, open_statuses, open_elapsed = _load(calls, rate=open_rate)
        finally:
            server.terminate()
            server.wait(timeout=30)
    retailer_name = "retailer_orders" if retailer_list == 200 else "retailer_invoices"
    numbers: dict = {
        "concurrent_keys": 2 * ORGANISATIONS,
        "open_loop_rate_per_second": open_rate,
        "open_loop_achieved_per_second": round(
            (len(open_products) + len(open_orders)) / open_elapsed, 1
        ),
        "open_loop_seconds": OPEN_LOOP_SECONDS,
        **_summary("open_loop_supplier_products", open_products),
        **_summary(f"open_loop_{retailer_name}", open_orders),
        **_summary("open_loop_both", open_products + open_orders),
        "closed_loop_requests_per_key": REQUESTS,
        "closed_loop_requests_per_second": round(saturation, 1),
        **_summary("closed_loop_healthz_baseline", baseline),
        **_summary("closed_loop_supplier_products", supplier_products),
        **_summary(f"closed_loop_{retailer_name}", retailer_orders),
    }
    if retailer_list != 200:
        numbers["retailer_orders"] = f"GET /api/v1/orders answers {retailer_list} on this branch"
    numbers["statuses"] = sorted(statuses | open_statuses)
    numbers.update(limiter_numbers)
    numbers["server"] = "gunicorn 1 worker x 8 gthread, DEBUG off"
    return numbers


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.perf.settings")
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:3] == ["child", "setup"]:
        setup()
    elif sys.argv[1:3] == ["child", "limiter"]:
        limiter()
