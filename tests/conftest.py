import uuid
from functools import partialmethod

import pytest
from django.core.cache import caches
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from integrations.shopify.client import ShopifyClient
from integrations.woocommerce.client import WooCommerceClient
from tests import factories


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """`make test` keeps the test database between runs (--reuse-db); Django's migrate still
    applies migrations added since. A kept database migrated by another branch (it records a
    migration this tree does not have) has a schema the tests cannot trust: stop and say how to
    rebuild it rather than fail in confusing ways."""
    with django_db_blocker.unblock():
        loader = MigrationLoader(connection)
        unknown = sorted(set(loader.applied_migrations) - set(loader.disk_migrations))
    if unknown:
        names = ", ".join(f"{app}.{name}" for app, name in unknown)
        pytest.exit(
            f"The kept test database has migrations this tree does not ({names}): "
            "rebuild it with `make test CREATE_DB=1` (pytest --create-db).",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


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
        if hasattr(backend, "_cache"):  # RedisCache: delete this test's keys, and only those
            client = backend._cache.get_client(write=True)
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
        else:
            backend.clear()


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


# The Shopify, WooCommerce and Stripe sandboxes (tests/sandboxes.py), for every test package.
from tests.sandboxes import shopify_sandbox, stripe_sandbox, woo_sandbox  # noqa: E402, F401
