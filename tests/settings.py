"""Test settings: the real settings, pointed at PostgreSQL and Redis on 127.0.0.1 unless overridden.

Row locks, concurrency and full-text search must be tested on the real engine (DESIGN.md).
With `DATABASE_URL=sqlite:///…` the tests marked `embedded` (the README's flows) run on SQLite,
configured as `make run` configures it (WAL, IMMEDIATE transactions): `make test` does both.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dropship")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("ALLOW_LOOPBACK_URLS", "1")  # the sandboxes listen on loopback
# What production must provide and `make run` generates into var/: fixed test values, matching
# the sandboxes' defaults (sandbox/), so a test can sign as Shopify or Stripe do.
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-never-used-outside-the-test-suite")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdHMtb25seS1mZXJuZXQta2V5LW5vdC1zZWNyZXQ=")
os.environ.setdefault("SHOPIFY_API_KEY", "dropship-dev-app")
os.environ.setdefault("SHOPIFY_API_SECRET", "dropship-dev-app-secret")
os.environ.setdefault("STRIPE_SECRET_KEY", "sk_test_dropship_sandbox")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_dropship_sandbox")
os.environ.setdefault("STRIPE_CONNECT_WEBHOOK_SECRET", "whsec_dropship_connect_sandbox")
# Tracking webhooks are verified with this secret; the tracking provider itself is called only in
# tests that start the carrier sandbox (tests/sandboxes.py sets TRACKING_API_KEY and its URL).
os.environ.setdefault("TRACKING_WEBHOOK_SECRET", "whsec_tracking_sandbox")
# The suite runs with server-side binding (opt-in in production) so the guards against the
# 65,535-parameter limit are exercised; it also passes without (DB_SERVER_SIDE_BINDING=0).
os.environ.setdefault("DB_SERVER_SIDE_BINDING", "1")

from dropship.settings import *  # noqa: F403

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not Django's shared in-memory database: the live server, the sandboxes' webhooks
    # and the concurrency tests write from several threads, as web and worker do on `make run`.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"test_dropship_embedded_{os.getpid()}.sqlite3")
    }

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
# In-line tasks would push to the store inside the change's own request; the tests of the
# event-driven push turn it on.
INVENTORY_PUSH_ON_CHANGE = False
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_RATE_LIMITS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# One folder per pytest-xdist worker ("main" without xdist), so parallel tests never share files.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
MEDIA_ROOT = VAR_DIR / "test-media" / _WORKER  # noqa: F405
PRIVATE_MEDIA_ROOT = VAR_DIR / "test-private" / _WORKER  # noqa: F405
WEBHOOK_STORE_CACHE_SECONDS = 0  # each test builds its own stores
# Without the stripe_sandbox fixture Stripe calls fail fast here instead of reaching the internet.
STRIPE_API_BASE = "http://127.0.0.1:9"
STRIPE_TIMEOUT_SECONDS = 5.0
CATALOG_MENU_CACHE_SECONDS = 0  # each test builds its own categories
