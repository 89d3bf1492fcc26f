"""Every setting, read from the environment once (twelve-factor, django-environ).

With no environment at all this is the embedded default of `make run`: DEBUG on, SQLite and the
Celery broker under var/. Production sets DEBUG=0 and must then provide SECRET_KEY and
FIELD_ENCRYPTION_KEYS; nothing secret has a production default.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env")
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)

# Used only when DEBUG is on, so a developer machine starts with nothing configured.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-never-used-with-debug-off"  # noqa: S105
_DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQta2V5LWRvLW5vdC11c2UtISE="  # Fernet key, DEBUG only


def _required_in_production(name: str, dev_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DEBUG is off; see .env.example and the README."
    )


SECRET_KEY = _required_in_production("SECRET_KEY", _DEV_SECRET_KEY)
FIELD_ENCRYPTION_KEYS = [
    key.strip()
    for key in _required_in_production("FIELD_ENCRYPTION_KEYS", _DEV_FIELD_KEY).split(",")
    if key.strip()
]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "django_htmx",
    "dropship.core",
    "dropship.accounts",
    "suppliers",
    "catalog",
    "retailers",
    "orders",
    "billing",
    "integrations",
]
# `make run` and the demo (devstack/): in development only, or when DEVSTACK=1 asks for it
# (`make run` and `make seed` do, so they work with DEBUG off too). Never in the production image.
DEVSTACK = env.bool("DEVSTACK", default=DEBUG)
if DEVSTACK:
    INSTALLED_APPS.append("devstack")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dropship.urls"
WSGI_APPLICATION = "dropship.wsgi.application"
ASGI_APPLICATION = "dropship.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dropship.accounts.context_processors.organisation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'dropship.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default runs web, worker and beat against one file: WAL lets readers and one
    # writer proceed together, IMMEDIATE transactions take the write lock up front instead of
    # failing half-way, and the timeout waits for it.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Opt-in, per process: parameters travel apart from the SQL. Measured: the order workers
    # (queues webhooks, orders) route more orders per second with it (and DB_PREPARE_THRESHOLD),
    # but the 1,000-SKU inventory API and catalog imports get slower, so web and the other
    # workers leave it off. Never behind a transaction-pooling PgBouncer. Long IN lists are sent
    # as one array (dropship/core/lookups.py) and bulk writes batched: PostgreSQL takes at most
    # 65,535 parameters per statement.
    if env.bool("DB_SERVER_SIDE_BINDING", default=False):
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
        # Django's backend, with bulk writes batched under the 65,535-parameter limit.
        DATABASES["default"]["ENGINE"] = "dropship.core.postgresql"
        # With binding on, psycopg can also prepare a statement a connection has run this many
        # times (Django's default: never). Unset: never.
        if env.str("DB_PREPARE_THRESHOLD", default=""):
            DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env.int("DB_PREPARE_THRESHOLD")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=REDIS_URL or f"file://{VAR_DIR / 'celery-results'}"
)
if CELERY_RESULT_BACKEND.startswith("file://"):
    (VAR_DIR / "celery-results").mkdir(parents=True, exist_ok=True)
if CELERY_BROKER_URL == "filesystem://":
    # The embedded broker: kombu's filesystem transport, one folder for both directions.
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
    for _folder in ("queue", "control", "processed"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection before and after every task unless this
# is set: a new PostgreSQL backend per task cost more CPU than the order pipeline's own work.
# Connections are kept for CONN_MAX_AGE and checked before each task (dropship/celery.py); the
# fixup still renews each one after this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Every periodic job is safe to run twice: each claims its rows before acting.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Inbox and outbox: rows a dead worker left behind are picked up again.
    "sweep-inbound-webhooks": {
        "task": "integrations.tasks.sweep_inbound_webhooks_task",
        "schedule": timedelta(minutes=1),
    },
    "sweep-outbound-pushes": {
        "task": "integrations.tasks.sweep_outbound_pushes_task",
        "schedule": timedelta(minutes=1),
    },
    # Order pipeline: supplier orders left PAID-but-not-SENT (or unpaid) are picked up again;
    # lines whose retailer chose to wait for stock are retried; stalled orders are flagged.
    "sweep-undispatched-supplier-orders": {
        "task": "orders.tasks.sweep_undispatched_supplier_orders_task",
        "schedule": timedelta(minutes=1),
    },
    "retry-waiting-order-items": {
        "task": "orders.tasks.retry_waiting_items_task",
        "schedule": timedelta(minutes=5),
    },
    "order-watchdog": {
        "task": "orders.tracking_tasks.run_order_watchdog_task",
        "schedule": timedelta(minutes=10),
    },
    # Inventory sync: drains for stores with dirty rows, read-back reconciliation, supplier feeds.
    "kick-inventory-drains": {
        "task": "retailers.sync.tasks.kick_inventory_drains_task",
        "schedule": timedelta(seconds=10),
    },
    "reconcile-store-inventory": {
        "task": "retailers.sync.tasks.reconcile_inventory_task",
        "schedule": timedelta(minutes=5),
    },
    "poll-supplier-feeds": {
        "task": "suppliers.feed_tasks.poll_supplier_feeds_task",
        "schedule": timedelta(minutes=1),
    },
    # Retailers: the daily price-change digest (once per retailer per day).
    "retailer-price-digests": {
        "task": "retailers.tasks.send_price_digests_task",
        "schedule": crontab(hour=7, minute=0),
    },
    # Billing: shipped supplier orders get a payout, due payouts are transferred, stuck refunds
    # resent; last month's invoice once per payment-terms retailer; Stripe reconciliation.
    "settle-supplier-payouts": {
        "task": "billing.tasks.settle_payouts_task",
        "schedule": timedelta(minutes=15),
    },
    "issue-monthly-invoices": {
        "task": "billing.tasks.issue_monthly_invoices_task",
        "schedule": crontab(hour=2, minute=0),
    },
    "reconcile-stripe": {
        "task": "billing.tasks.reconcile_stripe_task",
        "schedule": crontab(hour=3, minute=30),
    },
}
# Which queue each task runs on (dropship/celery.py declares the queues); the rest go to default.
# Keyed by task name: orders.tracking_tasks.*, suppliers.feed_tasks.* and retailers.sync.tasks.* are
# the names the tasks kept when they moved into orders/, suppliers/ and retailers/ tasks.py.
CELERY_TASK_ROUTES = {
    "integrations.tasks.process_inbound_webhook_task": {"queue": "webhooks"},
    "integrations.tasks.sweep_inbound_webhooks_task": {"queue": "webhooks"},
    "orders.tasks.*": {"queue": "orders"},
    "orders.tracking_tasks.*": {"queue": "orders"},
    "retailers.sync.tasks.*": {"queue": "sync"},
    "suppliers.feed_tasks.*": {"queue": "sync"},
    "retailers.tasks.reprice_variants_task": {"queue": "sync"},
    "retailers.tasks.push_listings_task": {"queue": "sync"},
    "retailers.tasks.run_store_import_task": {"queue": "imports"},
    "catalog.tasks.*": {"queue": "imports"},
    "billing.tasks.*": {"queue": "billing"},
}

# --- Auth and accounts --------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str(
    "ACCOUNT_EMAIL_VERIFICATION", default="optional" if DEBUG else "mandatory"
)
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SIGNUP_FORM_CLASS = "dropship.accounts.forms.OrganisationSignupForm"
ACCOUNT_ADAPTER = "dropship.accounts.adapters.AccountAdapter"
ACCOUNT_RATE_LIMITS = env.dict("ACCOUNT_RATE_LIMITS", default={}) or {}
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"

# --- Email --------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
)
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Dropship <no-reply@dropship.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Outside systems ----------------------------------------------------------------------------
SHOPIFY_API_KEY = env.str("SHOPIFY_API_KEY", default="dropship-dev-app" if DEBUG else "")
SHOPIFY_API_SECRET = env.str(
    "SHOPIFY_API_SECRET", default="dropship-dev-app-secret" if DEBUG else ""
)
# The one pinned Admin API version (stable 2026-10; shopify.dev/docs/api/usage/versioning).
SHOPIFY_API_VERSION = env.str("SHOPIFY_API_VERSION", default="2026-10")
SHOPIFY_SCOPES = env.list(
    "SHOPIFY_SCOPES",
    default=[
        "read_products",
        "write_products",
        "read_inventory",
        "write_inventory",
        "read_orders",
        "write_orders",
        "read_merchant_managed_fulfillment_orders",
        "write_merchant_managed_fulfillment_orders",
        "read_locations",
        # imported products are published to the Online Store (publications, publishablePublish)
        "read_publications",
        "write_publications",
    ],
)
# Where the Shopify endpoints live: "https://{shop}" in production, the sandbox in dev and tests.
SHOPIFY_BASE_URL = env.str("SHOPIFY_BASE_URL", default="")
STRIPE_SECRET_KEY = env.str(
    "STRIPE_SECRET_KEY", default="sk_test_dropship_sandbox" if DEBUG else ""
)
STRIPE_WEBHOOK_SECRET = env.str(
    "STRIPE_WEBHOOK_SECRET", default="whsec_dropship_sandbox" if DEBUG else ""
)
# Where stripe-python sends its calls: empty for api.stripe.com, the sandbox in dev and tests.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
STRIPE_CONNECT_COUNTRY = env.str("STRIPE_CONNECT_COUNTRY", default="US")
WOOCOMMERCE_API_VERSION = env.str("WOOCOMMERCE_API_VERSION", default="wc/v3")
# The sandboxes listen on loopback; a user-typed URL may point there only when this is on.
ALLOW_LOOPBACK_URLS = env.bool("ALLOW_LOOPBACK_URLS", default=DEBUG)
OUTBOUND_TIMEOUT_SECONDS = env.float("OUTBOUND_TIMEOUT_SECONDS", default=10.0)
OUTBOUND_MAX_RESPONSE_BYTES = env.int("OUTBOUND_MAX_RESPONSE_BYTES", default=20 * 1024 * 1024)
# The webhook inbox remembers a shop's store row this long per process (0 turns it off).
WEBHOOK_STORE_CACHE_SECONDS = env.float("WEBHOOK_STORE_CACHE_SECONDS", default=10.0)

# --- Marketplace rules --------------------------------------------------------------------------
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="USD")
PAYOUT_HOLDBACK_DAYS = env.int("PAYOUT_HOLDBACK_DAYS", default=7)
# Payment-terms retailers receive a monthly invoice due this many days after it is issued.
INVOICE_PAYMENT_TERMS_DAYS = env.int("INVOICE_PAYMENT_TERMS_DAYS", default=30)

# --- I18N, static, media ------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
WHITENOISE_USE_FINDERS = DEBUG  # gunicorn serves static files straight from the apps in development
WHITENOISE_AUTOREFRESH = DEBUG
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Files nobody may fetch by URL (verification documents, uploaded import files); served by views
# that check who is asking.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security -----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
)

# --- Logging: secrets never reach a log line (DESIGN invariant 8) -------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "dropship.core.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "stripe": {"level": "WARNING"}},
}

# A used email address gets a clear form error at signup rather than a silent "check your inbox".
ACCOUNT_PREVENT_ENUMERATION = False
