"""Inventory API: `POST /api/v1/supplier/inventory` with 1,000 SKUs, through a live gunicorn.

A supplier with 1,000 variants and an API key is created in a dedicated database; gunicorn
(one sync worker, production settings) serves the real stack; 30 timed requests each set all
1,000 quantities to new values (so every request locks, writes and records 1,000 rows), then 30
more send the same values again (nothing to write). Reported: p50 / p95 / max latency of both.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import time

from tests.perf._support import PYTHON, ROOT, bench_database, child_env, run_child

SKUS = 1000
REQUESTS = 30
WARMUP = 3


def setup() -> None:
    """Run in a child: the supplier, its catalog and a key; prints the key."""
    import django

    django.setup()
    from catalog.models import Product, Variant
    from dropship.accounts.services import create_api_key
    from suppliers.models import Supplier

    supplier = Supplier.objects.create(
        company_name="Bench Supplier", slug="bench-supplier", status="ACTIVE"
    )
    products = Product.objects.bulk_create(
        Product(supplier=supplier, handle=f"p-{i}", title=f"Product {i}", status="ACTIVE")
        for i in range(SKUS // 4)
    )
    Variant.objects.bulk_create(
        Variant(
            product=products[i // 4],
            supplier=supplier,
            sku=f"SKU-{i:04d}",
            options={"Size": "SMLX"[i % 4]},
            wholesale_price="5.00",
            stock_on_hand=100,
        )
        for i in range(SKUS)
    )
    _, secret = create_api_key(organisation=supplier, name="bench", created_by=None)
    print(json.dumps({"secret": secret}))  # noqa: T201


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still loading Django
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer at {url}")


def _percentile(samples: list[float], percent: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _timed(session, url: str, secret: str, quantity_of) -> list[float]:
    latencies = []
    for round_number in range(WARMUP + REQUESTS):
        body = {
            "items": [
                {"sku": f"SKU-{i:04d}", "quantity": quantity_of(round_number, i)}
                for i in range(SKUS)
            ]
        }
        started = time.perf_counter()
        response = session.post(
            url, json=body, headers={"Authorization": f"Bearer {secret}"}, timeout=60
        )
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        if round_number >= WARMUP:
            latencies.append(elapsed * 1000)
    return latencies


def _summary(prefix: str, latencies: list[float]) -> dict:
    return {
        f"{prefix}_p50_ms": round(statistics.median(latencies), 1),
        f"{prefix}_p95_ms": round(_percentile(latencies, 95), 1),
        f"{prefix}_max_ms": round(max(latencies), 1),
        f"{prefix}_mean_ms": round(statistics.fmean(latencies), 1),
    }


def run() -> dict:
    import requests

    with bench_database("inventory_api") as url:
        env = child_env(url)
        secret = run_child("tests.perf.bench_inventory_api", "setup", env=env)["secret"]
        port = _free_port()
        server = subprocess.Popen(
            [
                PYTHON, "-m", "gunicorn", "dropship.wsgi:application", "--bind",
                f"127.0.0.1:{port}", "--workers", "1", "--timeout", "120", "--log-level", "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(f"{base}/healthz")
            endpoint = f"{base}/api/v1/supplier/inventory"
            with requests.Session() as session:
                changing = _timed(session, endpoint, secret, lambda r, i: 100 + (r + i) % 50 + 1)
                check = session.post(
                    endpoint,
                    json={"items": [{"sku": "SKU-0000", "quantity": 7}]},
                    headers={"Authorization": f"Bearer {secret}"},
                    timeout=10,
                ).json()
                same = _timed(session, endpoint, secret, lambda r, i: 5)
                unchanged = session.post(
                    endpoint,
                    json={"items": [{"sku": f"SKU-{i:04d}", "quantity": 5} for i in range(SKUS)]},
                    headers={"Authorization": f"Bearer {secret}"},
                    timeout=60,
                ).json()
        finally:
            server.terminate()
            server.wait(timeout=30)
    if check["updated"] != ["SKU-0000"] or len(unchanged["unchanged"]) != SKUS:
        raise RuntimeError(f"unexpected API answers: {check} / {len(unchanged['unchanged'])}")
    return {
        "skus_per_request": SKUS,
        "requests": REQUESTS,
        **_summary("changing", changing),
        **_summary("unchanged", same),
        "server": "gunicorn, 1 sync worker, DEBUG off",
    }


if __name__ == "__main__":
    if sys.argv[1:3] == ["child", "setup"]:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.perf.settings")
        setup()
