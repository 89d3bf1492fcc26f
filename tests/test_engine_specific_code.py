"""Engine-specific code lives in one module per concern, each with a path for PostgreSQL and one
for SQLite (the embedded `make run` default) side by side, both tested: PostgreSQL by the suite,
SQLite by `make test`'s second run of the tests marked `embedded`.

A new `connection.vendor` branch elsewhere fails here: put it in the concern's module (or a new
one listed below) with its SQLite path, and mark a test of that flow `embedded`.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR_CHECK = re.compile(r"\.vendor\s*[!=]=")

# module → the concern whose PostgreSQL and SQLite paths it holds
ENGINE_SPECIFIC = {
    "catalog/services/reservations.py": "stock reserved, released and shipped for orders",
    "catalog/services/stock.py": "stock levels written in batches",
    "catalog/imports/runner.py": "catalog import batches (COPY and set-based SQL on PostgreSQL)",
    "catalog/search.py": "catalog search (full text on PostgreSQL, the ORM elsewhere)",
    "billing/services/ledger.py": "ledger movements inserted",
    "retailers/sync/status.py": "stock freshness and last reconciliation per store",
    "retailers/sync/marking.py": "listings marked for the sync (set-based, one marker at a time)",
    "dropship/core/locks.py": "locks held across processes",
    "dropship/core/lookups.py": "long IN lists as one array parameter",
    "dropship/core/append_only.py": "the audit log's purge permission, checked by its trigger",
    # PostgreSQL triggers and extensions; SQLite has no such objects to create.
    "catalog/migrations/0004_product_search.py": "search rows kept by triggers",
    "catalog/migrations/0006_import_defers_search_refresh.py": "search triggers deferred by imports",
    "billing/migrations/0003_ledger_integrity.py": "balanced, append-only ledger triggers",
    "retailers/migrations/0002_inventory_sync.py": "listing variants' fillfactor for HOT updates",
}


def test_engine_checks_live_only_in_the_modules_of_their_concern():
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", "*.py"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    checking = {
        name
        for name in filter(None, listed.split("\0"))
        if not name.startswith("tests/")
        and (ROOT / name).is_file()
        and VENDOR_CHECK.search((ROOT / name).read_text(encoding="utf-8"))
    }
    assert checking - set(ENGINE_SPECIFIC) == set(), "engine checks outside their concern's module"
    assert set(ENGINE_SPECIFIC) - checking == set(), "listed modules without an engine check"
