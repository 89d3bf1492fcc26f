import uuid
from functools import partialmethod

import pytest
from django.apps import apps
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from billing.models import FeeSchedule
from dropship.core.append_only import unrestricted_sqlite_deletes
from integrations.shopify.client import ShopifyClient
from integrations.woocommerce.client import WooCommerceClient
from tests import factories
from tests.mfa import login_with_second_factor


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, django_db_keepdb):
    """`make test` keeps the test database between runs (--reuse-db); Django's migrate still
    applies migrations added since. Two things would make a kept database lie, so they are
    checked: a migration applied by another branch (one this tree lacks), and the rows data
    migrations wrote (fee schedules, ...) flushed away by the last run's transaction=True
    tests. The rows present at the start are put back at the end, so the next run finds them."""
    if not django_db_keepdb:
        yield
        return
    with django_db_blocker.unblock():
        loader = MigrationLoader(connection)
        unknown = sorted(set(loader.applied_migrations) - set(loader.disk_migrations))
        is_seeded = FeeSchedule.objects.exists()  # written by a data migration, never by tests
        seeded_rows = connection.creation.serialize_db_to_string() if is_seeded else ""
    if unknown or not is_seeded:
        problem = (
            f"has migrations this tree does not ({', '.join('.'.join(m) for m in unknown)})"
            if unknown
            else "lost the rows its data migrations wrote (a run was killed)"
        )
        pytest.exit(
            f"The kept test database {problem}: rebuild it with `make test CREATE_DB=1` "
            "(pytest --create-db).",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    yield
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
        connection.creation.deserialize_db_from_string(seeded_rows)
        # flush reset the id sequences and the rows came back with their ids: move each
        # sequence past them, or the next run's first INSERT into such a table collides.
        statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


@pytest.fixture(scope="session", autouse=True)
def _flush_passes_the_audit_trigger():
    """Between transactional tests Django flushes every table; on SQLite that is a DELETE the
    audit log's append-only trigger refuses (PostgreSQL truncates, which row triggers do not
    see), so the test suite's flush, and only it, deletes with the trigger's consent."""
    # Why a function-local import: Django's SQLite backend cannot be imported from its
    # operations module first (a circular import inside Django).
    from django.db.backends.sqlite3.base import DatabaseOperations as SqliteOperations

    original = SqliteOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with unrestricted_sqlite_deletes(using=self.connection.alias):
            return original(self, sql_list)

    SqliteOperations.execute_sql_flush = execute_sql_flush
    yield
    SqliteOperations.execute_sql_flush = original


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Each test reads and writes only its own cache keys: a per-test KEY_PREFIX on the shared
    Redis (nothing leaks between tests, xdist workers included), whose keys are deleted after.
    Never cache.clear() in a test: on Redis it flushes every worker's keys."""
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        alias: {**config, "KEY_PREFIX": prefix} for alias, config in settings.CACHES.items()
    }
    yield
    for alias in settings.CACHES:
        backend = caches[alias]
        if isinstance(backend, RedisCache):  # delete this test's keys, and only those
            client = backend._cache.get_client(write=True)
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
        else:
            backend.clear()


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin client, signed in as the admin requires: with a second factor."""
    login_with_second_factor(client, admin_user)
    return client


@pytest.fixture
def supplier_member(db):
    return factories.SupplierMemberFactory()


@pytest.fixture
def retailer_member(db):
    return factories.RetailerMemberFactory()


@pytest.fixture
def supplier_client(client, supplier_member):
    client.force_login(supplier_member.user)
    client.supplier = supplier_member.supplier
    return client


@pytest.fixture
def retailer_client(client, retailer_member):
    client.force_login(retailer_member.user)
    client.retailer = retailer_member.retailer
    return client


@pytest.fixture
def client_sleeps(monkeypatch) -> list[float]:
    """Store clients built during the test (by the registry too) record the short waits they
    make between quick retries here instead of sleeping on the wall clock. Not for tests that
    need a sandbox's real-time rate limit to refill."""
    sleeps: list[float] = []
    for client_class in (ShopifyClient, WooCommerceClient):
        monkeypatch.setattr(
            client_class, "__init__", partialmethod(client_class.__init__, sleep=sleeps.append)
        )
    return sleeps


# The Shopify, WooCommerce, Stripe and carrier sandboxes (tests/sandboxes.py), for every test package.
from tests.sandboxes import (  # noqa: E402, F401
    carrier_sandbox,
    rates_sandbox,
    shopify_sandbox,
    stripe_sandbox,
    woo_sandbox,
)
