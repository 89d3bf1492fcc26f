"""Catalog search at scale: 1,000,000 variants (≈300,000 products), typical retailer queries.

Seeding (once; reused while the marker row matches SEED_VERSION): a dedicated database
`<DATABASE_URL name>_bench_search` is migrated, then 2,000 suppliers and a three-level category
tree (20 × 10 × 5) are created with the ORM, and products and variants are streamed in with
PostgreSQL COPY (psycopg `cursor.copy`) with triggers off (`session_replication_role = replica`).
The search rows are then built in bulk by the same SQL function the triggers call, the search
indexes are rebuilt after the load, and the tables are ANALYZEd. Set BENCH_RESEED=1 to rebuild.

Measured in a child process with production settings (DEBUG off), after a warm-up:
  * query: `retailers.priced_catalog.search_catalog` (search, facets, products, facet names) —
    the selector every page and API call uses — over a mix of typical searches with filters;
  * page:  GET /catalog/?… through the whole Django stack (Django test Client, a signed-in
    retailer, so prices and add-to-import-list forms render).
Reported: p50 / p95 / max in milliseconds, per layer, and per query kind for the selector.
"""

import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode, urlsplit, urlunsplit

from tests.perf._support import PYTHON, ROOT, child_env, run_child

SEED_VERSION = "search-v4"
PRODUCTS = 300_000
VARIANTS = 1_000_000
SUPPLIERS = 2_000
QUERY_SAMPLES = 240
PAGE_SAMPLES = 120
WARMUP = 40

ADJECTIVES = [
    "classic",
    "modern",
    "rustic",
    "compact",
    "deluxe",
    "premium",
    "eco",
    "vintage",
    "portable",
    "heavy-duty",
    "slim",
    "ergonomic",
    "foldable",
    "waterproof",
    "wireless",
    "organic",
    "handmade",
    "minimalist",
    "luxury",
    "durable",
    "lightweight",
    "adjustable",
    "stackable",
    "magnetic",
    "insulated",
]
MATERIALS = [
    "bamboo",
    "steel",
    "copper",
    "ceramic",
    "glass",
    "walnut",
    "oak",
    "leather",
    "cotton",
    "linen",
    "silicone",
    "marble",
    "aluminium",
    "wool",
    "cast-iron",
    "brass",
    "porcelain",
    "acacia",
    "felt",
    "rattan",
]
NOUNS = [
    "blender",
    "kettle",
    "teapot",
    "mug",
    "bowl",
    "plate",
    "knife",
    "board",
    "pan",
    "skillet",
    "wok",
    "lamp",
    "lantern",
    "chair",
    "stool",
    "table",
    "shelf",
    "basket",
    "towel",
    "blanket",
    "pillow",
    "rug",
    "mat",
    "vase",
    "planter",
    "candle",
    "clock",
    "mirror",
    "frame",
    "tray",
    "jar",
    "bottle",
    "tumbler",
    "flask",
    "grater",
    "peeler",
    "whisk",
    "ladle",
    "spatula",
    "colander",
    "scale",
    "timer",
    "backpack",
    "wallet",
    "belt",
    "scarf",
    "hat",
    "glove",
    "sock",
    "umbrella",
    "notebook",
    "pen",
    "pencil",
    "stapler",
    "organizer",
    "drawer",
    "hook",
    "hanger",
    "speaker",
    "headphone",
    "charger",
    "cable",
    "keyboard",
    "mouse",
    "stand",
    "tripod",
    "tent",
    "hammock",
    "cooler",
    "grill",
    "thermometer",
    "sprayer",
    "hose",
    "shovel",
    "rake",
    "trowel",
    "pot",
    "apron",
    "napkin",
    "coaster",
]
FILLER = [
    "designed",
    "for",
    "everyday",
    "use",
    "with",
    "a",
    "sturdy",
    "build",
    "and",
    "easy",
    "care",
    "finish",
    "that",
    "suits",
    "any",
    "home",
    "kitchen",
    "office",
    "garden",
    "travel",
    "gift",
    "season",
    "quality",
    "tested",
    "shipped",
    "quickly",
    "from",
    "our",
    "warehouse",
    "reliable",
    "materials",
    "sourced",
    "responsibly",
    "packed",
    "safely",
    "dishwasher",
    "safe",
    "hand",
    "wash",
    "recommended",
    "measures",
    "weight",
    "colour",
    "size",
    "pack",
    "set",
    "includes",
    "spare",
    "parts",
    "warranty",
]
COUNTRIES = ["US", "US", "US", "DE", "CN", "GB", "FR", "IT", "ES", "NL", "PL", "CA"]


def _bench_url() -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dropship")
    parts = urlsplit(base)
    name = (parts.path.lstrip("/") or "dropship") + "_bench_search"
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _marker_matches(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT version FROM bench_marker").fetchone()
    except psycopg.Error:
        return False
    return row is not None and row[0] == SEED_VERSION


def _recreate(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_admin_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=child_env(url),
        check=True,
    )


# ---------------------------------------------------------------- seeding (child)


def seed() -> None:
    import django

    django.setup()
    from django.db import connection

    from catalog.models import Category
    from dropship.accounts.models import Membership, Role, User
    from retailers.models import Retailer
    from suppliers.models import Supplier

    rng = random.Random(20261203)
    started = time.perf_counter()
    top = Category.objects.bulk_create(
        Category(name=f"{noun.title()} world {i}", slug=f"top-{i}")
        for i, noun in enumerate(NOUNS[:20])
    )
    middle = Category.objects.bulk_create(
        Category(
            name=f"{MATERIALS[j % len(MATERIALS)].title()} {i}-{j}", slug=f"mid-{i}-{j}", parent=t
        )
        for i, t in enumerate(top)
        for j in range(10)
    )
    leaves = Category.objects.bulk_create(
        Category(name=f"{ADJECTIVES[k].title()} {m.pk}-{k}", slug=f"leaf-{m.pk}-{k}", parent=m)
        for m in middle
        for k in range(5)
    )
    statuses = [Supplier.Status.ACTIVE] * 18 + [Supplier.Status.SUSPENDED, Supplier.Status.PENDING]
    suppliers = Supplier.objects.bulk_create(
        Supplier(
            company_name=f"{rng.choice(MATERIALS).title()} {rng.choice(NOUNS).title()} Co {i}",
            slug=f"bench-supplier-{i}",
            status=rng.choice(statuses),
            handling_days=rng.randint(1, 7),
            ship_from_country=rng.choice(COUNTRIES),
            stock_buffer_percent=rng.choice([80, 90, 100]),
            rating=rng.choice([None, Decimal("3.50"), Decimal("4.20"), Decimal("4.80")]),
        )
        for i in range(SUPPLIERS)
    )
    retailer = Retailer.objects.create(business_name="Bench Retailer", slug="bench-retailer")
    user = User.objects.create_user(email="bench-retailer@example.com", password="bench-pass-123")
    Membership.objects.create(user=user, retailer=retailer, role=Role.OWNER)

    leaf_ids = [c.pk for c in leaves]
    middle_ids = [c.pk for c in middle]
    supplier_ids = [s.pk for s in suppliers]
    now = datetime.now(UTC)
    product_statuses = ["ACTIVE"] * 23 + ["DRAFT", "DISCONTINUED"]
    # Variant counts: 1..6 per product, totalling exactly VARIANTS.
    counts = [rng.choice((1, 2, 3, 4, 4, 5, 6)) for _ in range(PRODUCTS)]
    excess = sum(counts) - VARIANTS
    i = 0
    while excess != 0:
        step = 1 if excess > 0 else -1
        if 1 <= counts[i] - step <= 6:
            counts[i] -= step
            excess -= step
        i = (i + 1) % PRODUCTS

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SELECT pg_get_serial_sequence('catalog_product', 'id')")
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s)", [sequence])
        first_id = cursor.fetchone()[0]
        products = []
        with cursor.connection.cursor().copy(
            "COPY catalog_product (id, created_at, updated_at, handle, title, description, "
            "attributes, option_names, status, category_id, supplier_id) FROM STDIN"
        ) as copy:
            for n in range(PRODUCTS):
                pid = first_id + n
                supplier_id = rng.choice(supplier_ids)
                created = now - timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
                title = (
                    f"{rng.choice(ADJECTIVES).title()} {rng.choice(MATERIALS)} "
                    f"{rng.choice(NOUNS)} {rng.choice(NOUNS)} {rng.randint(100, 999)}"
                )
                description = " ".join(rng.choice(FILLER) for _ in range(rng.randint(12, 30)))
                description += f" Pairs well with a {rng.choice(NOUNS)}."
                category = rng.choice(leaf_ids) if rng.random() < 0.9 else rng.choice(middle_ids)
                copy.write_row(
                    (
                        pid, created, created, f"p-{pid}", title, description, "{}",
                        '["Size"]', rng.choice(product_statuses), category, supplier_id,
                    )
                )  # fmt: skip
                products.append((pid, supplier_id, created))
        cursor.execute("SELECT setval(%s, %s)", [sequence, first_id + PRODUCTS])
        with cursor.connection.cursor().copy(
            "COPY catalog_variant (created_at, updated_at, sku, options, wholesale_price, msrp, "
            "currency, weight_grams, shipping_class, stock_on_hand, stock_reserved, "
            "is_low_stock_alerted, position, product_id, supplier_id) FROM STDIN"
        ) as copy:
            for (pid, supplier_id, created), count in zip(products, counts, strict=True):
                base = rng.randint(150, 20000) / 100
                for position in range(count):
                    price = round(base * (1 + position * 0.1), 2)
                    msrp = round(price * rng.uniform(1.4, 3.2), 2) if rng.random() < 0.8 else None
                    on_hand = 0 if rng.random() < 0.12 else rng.randint(1, 500)
                    copy.write_row(
                        (
                            created, created, f"S{supplier_id}-{pid}-{position}",
                            json.dumps({"Size": ["XS", "S", "M", "L", "XL", "XXL"][position]}), price,
                            msrp, "USD", 500, "standard", on_hand, 0, False, position, pid,
                            supplier_id,
                        )
                    )  # fmt: skip
        loaded = time.perf_counter()
        # Build the search rows with the triggers' own function, with the indexes dropped.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename IN ('catalog_productsearch', 'catalog_searchterm') "
            "AND indexname NOT LIKE '%%pkey'"
        )
        index_defs = cursor.fetchall()
        for name, _ in index_defs:
            cursor.execute(f'DROP INDEX "{name}"')
        for chunk_start in range(first_id, first_id + PRODUCTS, 50_000):
            cursor.execute(
                "SELECT catalog_refresh_product_search(ARRAY(SELECT id FROM catalog_product "
                "WHERE id >= %s AND id < %s), true)",
                [chunk_start, chunk_start + 50_000],
            )
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in index_defs:
            cursor.execute(definition)
        cursor.execute("SET session_replication_role = DEFAULT")
        indexed = time.perf_counter()
    connection.close()
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432,
        autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute("VACUUM ANALYZE")
        conn.execute("CREATE TABLE bench_marker (version text, products int, variants int)")
        conn.execute(
            "INSERT INTO bench_marker VALUES (%s, %s, %s)", [SEED_VERSION, PRODUCTS, VARIANTS]
        )
        listed = conn.execute(
            "SELECT count(*) FROM catalog_productsearch WHERE is_listed"
        ).fetchone()[0]
    print(  # noqa: T201
        json.dumps(
            {
                "copy_s": round(loaded - started, 1),
                "search_rows_and_indexes_s": round(indexed - loaded, 1),
                "seed_total_s": round(time.perf_counter() - started, 1),
                "listed_products": listed,
            }
        )
    )


# ---------------------------------------------------------------- measuring (child)


def _query_mix(rng: random.Random, category_ids: dict, supplier_ids: list, skus: list) -> list:
    """(kind, params) pairs: what retailers typically type and tick."""
    noun, noun2 = rng.choice(NOUNS), rng.choice(NOUNS)
    material, adjective = rng.choice(MATERIALS), rng.choice(ADJECTIVES)
    low = rng.choice([5, 10, 20, 40])
    return [
        ("word", {"q": noun}),
        ("two_words_in_stock", {"q": f"{material} {noun}", "in_stock": "1"}),
        (
            "word_category_price",
            {
                "q": noun2,
                "category": str(rng.choice(category_ids["top"])),
                "min_price": str(low),
                "max_price": str(low * 4),
                "sort": "price",
            },
        ),
        ("browse_category_newest", {"category": str(rng.choice(category_ids["middle"]))}),
        (
            "browse_filters",
            {"in_stock": "1", "max_handling_days": "3", "ship_from": "US", "sort": "newest"},
        ),
        ("word_margin", {"q": f"{adjective} {noun}", "sort": "margin"}),
        ("sku", {"q": rng.choice(skus)}),
        ("misspelt", {"q": noun[:2] + noun[3:] if len(noun) > 4 else noun + "x"}),
        ("word_supplier", {"q": material, "supplier": str(rng.choice(supplier_ids))}),
        ("browse_price_asc", {"sort": "price", "in_stock": "1"}),
    ]


def _percentile(samples: list[float], percent: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _summary(prefix: str, samples: list[float]) -> dict:
    return {
        f"{prefix}_p50_ms": round(statistics.median(samples), 1),
        f"{prefix}_p95_ms": round(_percentile(samples, 95), 1),
        f"{prefix}_max_ms": round(max(samples), 1),
    }


def measure() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from catalog.search import parse_criteria
    from dropship.accounts.models import User
    from retailers.priced_catalog import search_catalog

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, parent_id FROM catalog_category")
        rows = cursor.fetchall()
        cursor.execute("SELECT id FROM suppliers_supplier WHERE status = 'ACTIVE'")
        supplier_ids = [r[0] for r in cursor.fetchall()]
        cursor.execute(
            "SELECT v.sku FROM catalog_variant v TABLESAMPLE SYSTEM (0.5) "
            "JOIN catalog_productsearch ps ON ps.product_id = v.product_id AND ps.is_listed "
            "LIMIT 500"
        )
        skus = [r[0] for r in cursor.fetchall()]
    parents = {pid for _, pid in rows if pid}
    top = [cid for cid, pid in rows if pid is None]
    middle = [cid for cid, pid in rows if pid in set(top)]
    category_ids = {"top": top, "middle": middle, "parents": parents}
    rng = random.Random(7)

    def one_query(params: dict) -> tuple[float, object]:
        started = time.perf_counter()
        criteria = parse_criteria(params, can_see_prices=True)
        page = search_catalog(criteria=criteria)
        return (time.perf_counter() - started) * 1000, page

    by_kind: dict[str, list[float]] = {}
    samples: list[float] = []
    next_samples: list[float] = []
    for round_number in range((WARMUP + QUERY_SAMPLES) // 10):
        for kind, params in _query_mix(rng, category_ids, supplier_ids, skus):
            elapsed, page = one_query(params)
            if round_number >= WARMUP // 10:
                samples.append(elapsed)
                by_kind.setdefault(kind, []).append(elapsed)
            if page.next_cursor and kind in ("word", "browse_filters"):
                criteria = parse_criteria(params, can_see_prices=True)
                started = time.perf_counter()
                search_catalog(criteria=criteria, cursor=page.next_cursor)
                if round_number >= WARMUP // 10:
                    next_samples.append((time.perf_counter() - started) * 1000)

    # No collectstatic in a benchmark: plain static storage instead of the manifest one.
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override = override_settings(STORAGES=plain_static)
    override.enable()
    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(email="bench-retailer@example.com"))
    page_samples: list[float] = []
    statuses = set()
    for round_number in range((WARMUP + PAGE_SAMPLES) // 10):
        for _kind, params in _query_mix(rng, category_ids, supplier_ids, skus):
            started = time.perf_counter()
            response = client.get(f"/catalog/?{urlencode(params)}", secure=True)
            elapsed = (time.perf_counter() - started) * 1000
            statuses.add(response.status_code)
            if round_number >= WARMUP // 10:
                page_samples.append(elapsed)
    result = {
        "queries": len(samples),
        **_summary("query", samples),
        **_summary("query_next_page", next_samples),
        "pages": len(page_samples),
        **_summary("page", page_samples),
        "page_statuses": ",".join(str(s) for s in sorted(statuses)),
    }
    for kind, kind_samples in by_kind.items():
        result[f"query_{kind}_p95_ms"] = round(_percentile(kind_samples, 95), 1)
    print(json.dumps(result))  # noqa: T201


def run() -> dict:
    url = _bench_url()
    seeded: dict = {"seed": "reused"}
    if os.environ.get("BENCH_RESEED") or not _marker_matches(url):
        _recreate(url)
        seeded = run_child("tests.perf.bench_catalog_search", "seed", env=child_env(url))
    numbers = run_child("tests.perf.bench_catalog_search", "measure", env=child_env(url))
    return {
        "products": PRODUCTS,
        "variants": VARIANTS,
        **seeded,
        **numbers,
        "targets": "query p95 < 50 ms, page p95 < 150 ms",
        "database": urlsplit(url).path.lstrip("/"),
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.perf.settings")
    if sys.argv[1:3] == ["child", "seed"]:
        seed()
    elif sys.argv[1:3] == ["child", "measure"]:
        measure()
