"""Bulk upsert API: `POST /api/v1/supplier/variants/bulk-upsert` with 1,000 items, live gunicorn.

A supplier and an API key in a dedicated database; gunicorn (one sync worker, production
settings) serves the real stack. One request creates 1,000 variants (100 products of 10 sizes);
then 10 timed requests each change every variant's price and stock (1,000 rows checked, updated,
locked and recorded), and 10 more send the same items again (checked, nothing to write).
Baseline from the same run: 30 `GET /healthz` on the same server. Reported: p50 / p95 / max.
"""

import json
import os
import subprocess
import sys
import time

from tests.perf._support import PYTHON, ROOT, bench_database, child_env, run_child
from tests.perf.bench_inventory_api import _free_port, _summary, _wait_for

ITEMS = 1000
REQUESTS = 10
BASELINE_REQUESTS = 30


def setup() -> None:
    """Run in a child: the supplier and a key; prints the key."""
    import django

    django.setup()
    from dropship.accounts.services import create_api_key
    from suppliers.models import Supplier

    supplier = Supplier.objects.create(
        company_name="Bench Supplier", slug="bench-supplier", status="ACTIVE"
    )
    _, secret = create_api_key(organisation=supplier, name="bench", created_by=None)
    print(json.dumps({"secret": secret}))  # noqa: T201


def _items(round_number: int) -> list[dict]:
    return [
        {
            "sku": f"SKU-{i:04d}",
            "handle": f"product-{i // 10}",
            "title": f"Product {i // 10}",
            "option_names": ["Size"],
            "option_values": [f"S{i % 10}"],
            "wholesale_price": f"{5 + round_number % 7}.{i % 100:02d}",
            "stock": 100 + (round_number + i) % 50,
        }
        for i in range(ITEMS)
    ]


def _post(session, url: str, secret: str, items: list[dict]) -> tuple[float, dict]:
    started = time.perf_counter()
    response = session.post(
        url, json={"items": items}, headers={"Authorization": f"Bearer {secret}"}, timeout=120
    )
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response.json()


def run() -> dict:
    import requests

    with bench_database("bulk_upsert_api") as url:
        env = child_env(url)
        secret = run_child("tests.perf.bench_bulk_upsert_api", "setup", env=env)["secret"]
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
            endpoint = f"{base}/api/v1/supplier/variants/bulk-upsert"
            with requests.Session() as session:
                baseline = []
                for _ in range(BASELINE_REQUESTS):
                    started = time.perf_counter()
                    session.get(f"{base}/healthz", timeout=10).raise_for_status()
                    baseline.append((time.perf_counter() - started) * 1000)
                create_ms, created = _post(session, endpoint, secret, _items(0))
                changing, same = [], []
                for round_number in range(1, REQUESTS + 1):
                    elapsed, answer = _post(session, endpoint, secret, _items(round_number))
                    changing.append(elapsed)
                last = _items(REQUESTS)
                for _ in range(REQUESTS):
                    elapsed, answer = _post(session, endpoint, secret, last)
                    same.append(elapsed)
        finally:
            server.terminate()
            server.wait(timeout=30)
    if created["created"] != ITEMS or answer["unchanged"] != ITEMS:
        raise RuntimeError(f"unexpected API answers: {created['created']} / {answer['unchanged']}")
    return {
        "items_per_request": ITEMS,
        "requests": REQUESTS,
        "create_1000_ms": round(create_ms, 1),
        **_summary("changing", changing),
        **_summary("unchanged", same),
        **_summary("baseline_healthz", baseline),
        "server": "gunicorn, 1 sync worker, DEBUG off",
    }


if __name__ == "__main__":
    if sys.argv[1:3] == ["child", "setup"]:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.perf.settings")
        setup()
