"""Analytics at marketplace scale (issue 15's numbers): 1,000,000 orders and 2,000,000 supplier
orders (one line each) across 5,000 retailers and 500 suppliers, placed over the last year.

The largest retailer has 20,000 orders, the largest supplier a tenth of all supplier orders
(200,000); the rest are spread evenly. The data set is generated with set-based SQL (one template
row per table made through the factories, cloned by INSERT ... SELECT over generate_series) in its
own database, `<DATABASE_URL's name>_bench_analytics`, which is KEPT between runs (generation takes
minutes on two cores): a run finds it complete and only measures. BENCH_ANALYTICS_REBUILD=1 drops
and generates it again.

Measured in a child process on the production settings (DEBUG off), through Django's test client
(the whole middleware stack, no network): p50 / p95 of REQUESTS calls each, after WARMUP, for
- the retailer analytics page of the largest retailer, last 30 days and last 365 days;
- the supplier analytics page of the largest supplier, the same two ranges;
- `GET /api/v1/analytics/sales` with the largest retailer's key (30 and 365 days);
- the staff operations home (/admin/), whose tiles count over all orders.
Goals (issue 15): page p95 < 150 ms, API p95 < 100 ms. Baseline in the same run: `/healthz`.
The daily rollup the issue asks for (and so its incremental cost and rebuild time) is not built
yet: these are the numbers of the live aggregate queries the pages run today.
"""

import json
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from tests.perf._support import PYTHON, ROOT, _database_url, _migrate, child_env

# BENCH_ANALYTICS_SCALE=0.01 tries the whole benchmark on a hundredth of the data.
SCALE = float(os.environ.get("BENCH_ANALYTICS_SCALE", "1"))
RETAILERS = max(10, int(5_000 * SCALE))
SUPPLIERS = max(5, int(500 * SCALE))
PRODUCTS_PER_SUPPLIER = 10
ORDERS = int(1_000_000 * SCALE)
SUPPLIER_ORDERS_PER_ORDER = 2
LARGEST_RETAILER_ORDERS = int(20_000 * SCALE)
REQUESTS = int(os.environ.get("BENCH_ANALYTICS_REQUESTS", "20"))
WARMUP = int(os.environ.get("BENCH_ANALYTICS_WARMUP", "2"))


def _bench_url() -> tuple[str, str, str]:
    parts = urlsplit(_database_url())
    suffix = "" if SCALE == 1 else f"_{str(SCALE).replace('.', '_')}"
    name = f"{parts.path.lstrip('/') or 'dropship'}_bench_analytics{suffix}"[:63]
    return (
        urlunsplit(parts._replace(path="/postgres")),
        urlunsplit(parts._replace(path=f"/{name}")),
        name,
    )


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
        " ORDER BY ordinal_position",
        [table],
    )
    return [row[0] for row in cursor.fetchall() if row[0] != "id"]


def _clone(cursor, table: str, template_id: int, source: str, overrides: dict[str, str]) -> None:
    """INSERT copies of row `template_id` of `table`, one per row of `source` (extra FROM items
    and conditions), with `overrides` (column -> SQL expression) instead of the template's."""
    columns = _columns(cursor, table)
    select = ", ".join(overrides.get(column, f"t.{column}") for column in columns)
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} "  # noqa: S608 - our own SQL
        f"FROM {table} t, {source} AND t.id = {int(template_id)}"
    )


def generate() -> None:
    """In a child: template rows through the factories, then the clones, then ANALYZE."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from orders.models import SupplierOrder
    from tests import factories

    started = time.perf_counter()
    supplier = factories.SupplierFactory(company_name="Largest supplier", slug="bench-s-0")
    variant = factories.VariantFactory(product__supplier=supplier)
    retailer_member = factories.RetailerMemberFactory(
        retailer__brand_name="Largest retailer", user__email="largest@retailer.bench"
    )
    factories.SupplierMemberFactory(supplier=supplier, user__email="largest@supplier.bench")
    store = factories.StoreFactory(retailer=retailer_member.retailer, domain="bench-0.example")
    now = timezone.now()
    order = factories.OrderFactory(store=store, placed_at=now, retail_total="49.98")
    supplier_order = factories.SupplierOrderFactory(
        order=order,
        supplier=supplier,
        status=SupplierOrder.Status.SHIPPED,
        commission_percent="5.00",
        paid_at=now,
        sent_at=now,
        accepted_at=now,
        shipped_at=now,
    )
    item = factories.OrderItemFactory(
        order=order,
        supplier_order=supplier_order,
        variant=variant,
        quantity=2,
        retail_unit_price="24.99",
        wholesale_unit_price="10.00",
        status="SHIPPED",
    )
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        _clone(
            cursor,
            "suppliers_supplier",
            supplier.pk,
            f"generate_series(1, {SUPPLIERS - 1}) g(n) WHERE true",
            {"company_name": "'Supplier ' || g.n", "slug": "'bench-s-' || g.n"},
        )
        _clone(
            cursor,
            "catalog_product",
            variant.product_id,
            f"suppliers_supplier s, generate_series(1, {PRODUCTS_PER_SUPPLIER}) g(n)"
            f" WHERE NOT (s.id = {supplier.pk} AND g.n = 1)",
            {
                "supplier_id": "s.id",
                "handle": "'p-' || s.id || '-' || g.n",
                "title": "'Product ' || s.id || '-' || g.n",
            },
        )
        _clone(
            cursor,
            "catalog_variant",
            variant.pk,
            f"catalog_product p WHERE p.id <> {variant.product_id}",
            {"product_id": "p.id", "supplier_id": "p.supplier_id", "sku": "'S-' || p.id"},
        )
        _clone(
            cursor,
            "retailers_retailer",
            retailer_member.retailer_id,
            f"generate_series(1, {RETAILERS - 1}) g(n) WHERE true",
            {"slug": "'bench-r-' || g.n", "brand_name": "'Retailer ' || g.n"},
        )
        _clone(
            cursor,
            "retailers_store",
            store.pk,
            f"retailers_retailer r WHERE r.id <> {retailer_member.retailer_id}",
            {
                "retailer_id": "r.id",
                "public_id": "gen_random_uuid()",
                "domain": "'bench-' || r.id || '.example'",
                "name": "'Store ' || r.id",
            },
        )
        # rank 1 is the largest retailer's store; the rest numbered 2..RETAILERS
        cursor.execute(
            "CREATE TEMP TABLE bench_store AS SELECT row_number() OVER (ORDER BY id) AS rank,"
            " id AS store_id, retailer_id FROM retailers_store"
        )
        cursor.execute("CREATE INDEX ON bench_store (rank)")
        cursor.execute(
            "CREATE TEMP TABLE bench_variant AS SELECT DISTINCT ON (supplier_id)"
            " row_number() OVER (ORDER BY supplier_id) AS rank, supplier_id, id AS variant_id"
            " FROM catalog_variant ORDER BY supplier_id, id"
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_supplier AS SELECT row_number() OVER (ORDER BY supplier_id)"
            " AS rank, supplier_id, variant_id FROM bench_variant"
        )
        cursor.execute("CREATE INDEX ON bench_supplier (rank)")
        others = RETAILERS - 1
        _clone(
            cursor,
            "orders_order",
            order.pk,
            f"generate_series(2, {ORDERS}) g(n) JOIN bench_store bs ON bs.rank = CASE WHEN"
            f" g.n <= {LARGEST_RETAILER_ORDERS} THEN 1 ELSE 2 + g.n % {others} END WHERE true",
            {
                "store_id": "bs.store_id",
                "retailer_id": "bs.retailer_id",
                "store_order_id": "'b' || g.n",
                "number": "'#' || g.n",
                "placed_at": "now() - (g.n % 365) * interval '1 day' - (g.n % 86400)"
                " * interval '1 second'",
                "created_at": "now() - (g.n % 365) * interval '1 day'",
            },
        )
        # Two supplier orders per order: the largest supplier takes the first of every fifth
        # order (a tenth of all), the others the rest evenly.
        _clone(
            cursor,
            "orders_supplierorder",
            supplier_order.pk,
            f"orders_order o CROSS JOIN generate_series(1, {SUPPLIER_ORDERS_PER_ORDER}) k(n)"
            f" JOIN bench_supplier bsu ON bsu.rank = CASE WHEN k.n = 1 AND o.id % 5 = 0 THEN 1"
            f" ELSE 2 + (o.id * 2 + k.n) % {SUPPLIERS - 1} END"
            f" WHERE NOT (o.id = {order.pk} AND k.n = 1)",
            {
                "order_id": "o.id",
                "supplier_id": "bsu.supplier_id",
                "number": "'BSO-' || o.id || '-' || k.n",
                "paid_at": "o.placed_at",
                "sent_at": "o.placed_at",
                "accepted_at": "o.placed_at + interval '3 hours'",
                "shipped_at": "o.placed_at + interval '1 day'",
                "created_at": "o.created_at",
            },
        )
        _clone(
            cursor,
            "orders_orderitem",
            item.pk,
            f"orders_supplierorder so JOIN bench_variant bv ON bv.supplier_id = so.supplier_id"
            f" WHERE so.id <> {supplier_order.pk}",
            {
                "order_id": "so.order_id",
                "supplier_order_id": "so.id",
                "variant_id": "bv.variant_id",
                "store_line_id": "'l' || so.id",
            },
        )
        cursor.execute("ANALYZE")
    print(json.dumps({"generate_seconds": round(time.perf_counter() - started, 1)}))  # noqa: T201


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


def measure() -> None:
    """In a child: time the pages and the API for the largest retailer and supplier (static
    URLs without the manifest, which only `collectstatic` writes)."""
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        _measure()


def _measure() -> None:
    import datetime as dt

    from django.test import Client
    from django.utils import timezone

    from dropship.accounts.models import User
    from dropship.accounts.services import create_api_key
    from orders.models import Order, SupplierOrder
    from tests.mfa import login_with_second_factor

    today = timezone.localdate()
    ranges = {
        "30d": {"from": str(today - dt.timedelta(days=29)), "to": str(today)},
        "365d": {"from": str(today - dt.timedelta(days=364)), "to": str(today)},
    }
    retailer_user = User.objects.get(email="largest@retailer.bench")
    supplier_user = User.objects.get(email="largest@supplier.bench")
    retailer = retailer_user.membership.retailer
    _, secret = create_api_key(organisation=retailer, name="bench", created_by=None)
    staff = User.objects.filter(
        email="ops@analytics.bench"
    ).first() or User.objects.create_superuser("ops@analytics.bench", "ops-password-1234")
    numbers: dict[str, object] = {
        "orders": Order.objects.count(),
        "supplier_orders": SupplierOrder.objects.count(),
        "largest_retailer_orders": Order.objects.filter(retailer=retailer).count(),
        "largest_supplier_orders": SupplierOrder.objects.filter(
            supplier=supplier_user.membership.supplier
        ).count(),
    }

    def timed(name: str, client: Client, path: str, params: dict | None = None, **headers) -> None:
        times = []
        for attempt in range(WARMUP + REQUESTS):
            started = time.perf_counter()
            response = client.get(path, params or {}, HTTP_HOST="localhost", **headers)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {path} answered {response.status_code}")
            if attempt >= WARMUP:
                times.append(elapsed)
        numbers[f"{name}_p50_ms"] = _p(times, 0.5)
        numbers[f"{name}_p95_ms"] = _p(times, 0.95)
        print(name, numbers[f"{name}_p50_ms"], numbers[f"{name}_p95_ms"], file=sys.stderr)  # noqa: T201

    anonymous = Client()
    timed("baseline_healthz", anonymous, "/healthz")
    retailer_client = Client()
    retailer_client.force_login(retailer_user)
    supplier_client = Client()
    supplier_client.force_login(supplier_user)
    staff_client = Client()
    login_with_second_factor(staff_client, staff)
    timed("operations_home", staff_client, "/admin/")
    for label, params in ranges.items():
        timed(
            f"api_sales_{label}",
            anonymous,
            "/api/v1/analytics/sales",
            params,
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        timed(f"retailer_page_{label}", retailer_client, "/retailer/analytics/", params)
        timed(f"supplier_page_{label}", supplier_client, "/supplier/analytics/", params)
    print(json.dumps(numbers))  # noqa: T201


def _is_complete(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url) as connection:
            count = connection.execute("SELECT count(*) FROM orders_supplierorder").fetchone()[0]  # type: ignore[index]
    except psycopg.Error:
        return False
    return count >= ORDERS * SUPPLIER_ORDERS_PER_ORDER


def _child(function: str, url: str) -> dict:
    completed = subprocess.run(
        [PYTHON, "-m", "tests.perf.bench_analytics", function],
        cwd=ROOT,
        env=child_env(url),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run() -> dict:
    import psycopg

    admin_url, url, name = _bench_url()
    numbers: dict[str, object] = {}
    if os.environ.get("BENCH_ANALYTICS_REBUILD") == "1" or not _is_complete(url):
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        _migrate(url)
        numbers.update(_child("generate", url))
    else:
        numbers["generate_seconds"] = "kept from an earlier run"
    numbers.update(_child("measure", url))
    return numbers


if __name__ == "__main__":
    {"generate": generate, "measure": measure}[sys.argv[1]]()
