"""Every setting, read from the environment once (twelve-factor, django-environ).

Production is the default: with nothing set, DEBUG is off and start-up refuses to go on without
SECRET_KEY and FIELD_ENCRYPTION_KEYS, and refuses an insecure combination (loopback URLs allowed
or email verification not mandatory with DEBUG off) with a message naming it. No secret has a
default in the source tree: `make run` turns DEBUG on for its own processes and generates
development keys once into var/dev-secrets.env (devstack/dev_secrets.py), read only with DEBUG on.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A `.env` beside manage.py is read too (the environment wins); ENV_FILE names another one.
ENV_FILE = Path(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.exists():
    env.read_env(ENV_FILE)
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)

# Development keys (SECRET_KEY, FIELD_ENCRYPTION_KEYS, the sandbox Shopify app and Stripe keys),
# generated once by `make run`; the environment wins over them, production never reads them.
DEV_SECRETS_FILE = VAR_DIR / "dev-secrets.env"
if DEBUG and DEV_SECRETS_FILE.exists():
    env.read_env(DEV_SECRETS_FILE)


def _required(name: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    where = (
        f"`make run` generates development keys into {DEV_SECRETS_FILE}"
        if DEBUG
        else "production must set it in the environment"
    )
    raise ImproperlyConfigured(
        f"{name} is not set: Dropship refuses to start without it ({where}; see .env.example "
        "and the README)."
    )


SECRET_KEY = _required("SECRET_KEY")
FIELD_ENCRYPTION_KEYS = [
    key.strip() for key in _required("FIELD_ENCRYPTION_KEYS").split(",") if key.strip()
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
    "allauth.mfa",
    "django_htmx",
    # Its templates and static files: the API docs page is served from here, with no inline
    # script and nothing from a CDN, so the Content-Security-Policy holds there too.
    "ninja",
    "dropship.core",
    "dropship.accounts",
    "suppliers",
    "catalog",
    "retailers",
    "orders",
    "billing",
    "messaging",
    "privacy",
    "integrations",
]
# `make run` and the demo (devstack/): in development only, or when DEVSTACK=1 asks for it
# (`make run` and `make seed` do, so they work with DEBUG off too). Never in the production image.
DEVSTACK = env.bool("DEVSTACK", default=DEBUG)
if DEVSTACK:
    INSTALLED_APPS.append("devstack")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy, Permissions-Policy and X-Frame-Options on every response, the
    # refusals of the bad-input guard below included (settings at the end).
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Before anything reads a header, a cookie, the query or the body.
    "dropship.core.middleware.RejectBadInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts, from where, under which request id, for every audit entry the request writes;
    # a change no service recorded still gets an entry (dropship/core/audit_middleware.py).
    "dropship.core.audit_middleware.AuditContextMiddleware",
    # Rate limits and the one error shape for everything under /api/.
    "dropship.core.api_guard.ApiGuardMiddleware",
    # Inside the rate limits: a write sent again with its Idempotency-Key gets the first answer.
    "dropship.api_idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Support's read-only "view as": resolves the viewed organisation and refuses every write
    # (non-safe method) of a viewing session before any view runs. Before the MFA gate,
    # which asks for the membership it resolves.
    "dropship.accounts.view_as.ViewAsMiddleware",
    # After authentication: staff reach the admin, and members of a team that requires it reach
    # the workspace, only with a second factor passed in this session.
    "dropship.accounts.mfa.RequireMfaMiddleware",
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
                "messaging.context_processors.unread_messages",
                "csp.context_processors.nonce",
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
    # Behind a transaction-pooling PgBouncer (DB_POOL_MODE=transaction) a server connection is
    # ours for one transaction only (https://www.pgbouncer.org/features.html): no server-side
    # cursors (Django's .iterator() then fetches in chunks), no session locks (exclusive_lock is
    # a leased row, dropship/core/locks.py), and no prepared statements unless the pooler keeps
    # them per client (PgBouncer 1.21+ with max_prepared_statements: DB_POOLER_PREPARED_STATEMENTS=1).
    DB_POOL_MODE = env.str("DB_POOL_MODE", default="session")
    if DB_POOL_MODE not in ("session", "transaction"):
        raise ImproperlyConfigured(
            f"DB_POOL_MODE must be 'session' or 'transaction', not {DB_POOL_MODE!r}."
        )
    if DB_POOL_MODE == "transaction":
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        prepares = "prepare_threshold" in DATABASES["default"].get("OPTIONS", {})
        if prepares and not env.bool("DB_POOLER_PREPARED_STATEMENTS", default=False):
            raise ImproperlyConfigured(
                "DB_PREPARE_THRESHOLD prepares statements, which a transaction-pooling PgBouncer "
                "loses between transactions: unset it, or set DB_POOLER_PREPARED_STATEMENTS=1 "
                "if the pooler is PgBouncer 1.21+ with max_prepared_statements."
            )
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
# The visibility timeout stays at an hour: a message a dead worker had taken comes back only then,
# but Redis would also hand out again any ETA/countdown message older than it (kombu#337,
# celery#2599). A killed worker's work is recovered by leases instead (WORK_LEASE_SECONDS).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Event-driven inventory push: a stock change queues each affected store's drain after commit,
# to run INVENTORY_PUSH_WINDOW_SECONDS later (changes inside the window join that one push);
# beat's kick every 10 seconds is only the safety net. Off only where tasks run in-line (tests).
INVENTORY_PUSH_ON_CHANGE = env.bool("INVENTORY_PUSH_ON_CHANGE", default=True)
INVENTORY_PUSH_WINDOW_SECONDS = env.float("INVENTORY_PUSH_WINDOW_SECONDS", default=0.5)
if not 0 <= INVENTORY_PUSH_WINDOW_SECONDS <= 60:
    raise ImproperlyConfigured(
        "INVENTORY_PUSH_WINDOW_SECONDS must be between 0 and 60 seconds, "
        f"not {INVENTORY_PUSH_WINDOW_SECONDS}."
    )
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
# A worker running an inbox or outbox row holds a lease on it, renewed while the worker lives
# (dropship/core/leases.py); the sweepers, every SWEEP_INTERVAL_SECONDS, hand a row whose lease
# ran out to another worker, and the row's attempt number decides which execution's outcome
# counts. A killed worker's row is running again within lease + sweep interval (under 60 s).
WORK_LEASE_SECONDS = env.float("WORK_LEASE_SECONDS", default=30.0)
SWEEP_INTERVAL_SECONDS = env.float("SWEEP_INTERVAL_SECONDS", default=15.0)
# Every periodic job is safe to run twice: each claims its rows before acting.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Support's read-only views that expired with nobody looking are ended (and audited).
    "end-expired-view-as": {
        "task": "dropship.accounts.tasks.end_expired_view_as_task",
        "schedule": timedelta(minutes=5),
    },
    # Inbox and outbox: rows a dead worker left behind are picked up again.
    "sweep-inbound-webhooks": {
        "task": "integrations.tasks.sweep_inbound_webhooks_task",
        "schedule": timedelta(seconds=SWEEP_INTERVAL_SECONDS),
    },
    "sweep-outbound-pushes": {
        "task": "integrations.tasks.sweep_outbound_pushes_task",
        "schedule": timedelta(seconds=SWEEP_INTERVAL_SECONDS),
    },
    # Order pipeline: supplier orders left PAID-but-not-SENT (or unpaid) are picked up again;
    # lines whose retailer chose to wait for stock are retried; stalled orders are flagged.
    "sweep-undispatched-supplier-orders": {
        "task": "orders.tasks.sweep_undispatched_supplier_orders_task",
        "schedule": timedelta(minutes=1),
    },
    # Orders whose webhooks were lost are found by a poll of each store; the webhooks a store
    # dropped or disabled are registered again daily.
    "poll-store-orders": {
        "task": "orders.tasks.poll_all_store_orders_task",
        "schedule": timedelta(minutes=5),
    },
    "check-store-webhooks": {
        "task": "orders.tasks.check_all_store_webhooks_task",
        "schedule": crontab(hour=4, minute=15),
    },
    "retry-waiting-order-items": {
        "task": "orders.tasks.retry_waiting_items_task",
        "schedule": timedelta(minutes=5),
    },
    # A return whose refund Stripe confirmed later (it was pending) is marked refunded.
    "settle-return-refunds": {
        "task": "orders.tasks.settle_return_refunds_task",
        "schedule": timedelta(minutes=10),
    },
    "lapse-held-order-reservations": {
        "task": "orders.tasks.lapse_held_reservations_task",
        "schedule": timedelta(minutes=15),
    },
    # Exchange rates: the day's reference rates loaded from the provider (an upsert per pair and
    # day, safe to run twice; nothing happens while EXCHANGE_RATES_API_BASE is empty).
    "load-exchange-rates": {
        "task": "integrations.tasks.load_exchange_rates_task",
        "schedule": crontab(hour=16, minute=30),
    },
    # Supplier scorecards: one row per supplier rewritten nightly (an update, safe to run twice).
    "supplier-scorecards": {
        "task": "orders.tasks.refresh_supplier_scorecards_task",
        "schedule": crontab(hour=3, minute=30),
    },
    "order-watchdog": {
        "task": "orders.tracking_tasks.run_order_watchdog_task",
        "schedule": timedelta(minutes=10),
    },
    # Inventory sync, the safety net (changes queue their own drains): fan out changes a dead
    # worker left, drain flagged stores; read-back reconciliation, supplier feeds.
    "kick-inventory-drains": {
        "task": "retailers.sync.tasks.kick_inventory_drains_task",
        "schedule": timedelta(seconds=10),
    },
    "reconcile-store-inventory": {
        "task": "retailers.sync.tasks.reconcile_inventory_task",
        "schedule": timedelta(minutes=5),
    },
    "purge-idempotency-records": {
        "task": "dropship.accounts.tasks.purge_idempotency_records_task",
        "schedule": timedelta(hours=1),
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
    # Retailers: the daily digest of order notices (shipped, delivered, ...) set to "digest".
    "retailer-notice-digests": {
        "task": "retailers.tasks.send_notice_digests_task",
        "schedule": crontab(hour=7, minute=10),
    },
    # Orders whose real result is a loss are flagged to the retailer (by default in the daily
    # digest) before the digest goes out; hourly, over the last two days, once per order.
    "flag-loss-orders": {
        "task": "orders.tasks.flag_loss_orders_task",
        "schedule": timedelta(hours=1),
    },
    # Carrier tracking: parcels whose webhooks went quiet are read back from the provider, and
    # shipments whose tracker could not be registered are registered again.
    "poll-quiet-parcels": {
        "task": "orders.tasks.poll_quiet_parcels_task",
        "schedule": timedelta(minutes=30),
    },
    # Shopify tokens: idle stores' pairs renewed before the refresh token runs out (90 days);
    # stores still on a non-expiring offline token migrated before Shopify's 2027-01-01 cutoff.
    "keep-shopify-tokens-alive": {
        "task": "retailers.tasks.keep_shopify_tokens_alive_task",
        "schedule": timedelta(hours=1),
    },
    # Billing: shipped supplier orders get a payout, due payouts are transferred, stuck refunds
    # resent; last month's invoice once per payment-terms retailer; Stripe reconciliation.
    "settle-supplier-payouts": {
        "task": "billing.tasks.settle_payouts_task",
        "schedule": timedelta(minutes=15),
    },
    # Connected accounts whose payouts are held are read again (a lost account.updated).
    "refresh-held-connected-accounts": {
        "task": "billing.tasks.refresh_held_accounts_task",
        "schedule": timedelta(hours=1),
    },
    # Plans: past-due subscriptions whose grace period is over make their retailer read-only.
    "enforce-plan-grace-periods": {
        "task": "billing.tasks.enforce_plan_grace_periods_task",
        "schedule": timedelta(hours=1),
    },
    # Orders held while their retailer was suspended are routed once it is active again.
    "release-account-holds": {
        "task": "orders.tasks.release_account_holds_task",
        "schedule": timedelta(minutes=5),
    },
    "issue-monthly-invoices": {
        "task": "billing.tasks.issue_monthly_invoices_task",
        "schedule": crontab(hour=2, minute=0),
    },
    "reconcile-stripe": {
        "task": "billing.tasks.reconcile_stripe_task",
        "schedule": crontab(hour=3, minute=30),
    },
    # Privacy: shopper data of finished orders past retention erased; expired exports deleted.
    "purge-shopper-data": {
        "task": "orders.tasks.purge_shopper_data_task",
        "schedule": crontab(hour=1, minute=30),
    },
    "delete-expired-data-exports": {
        "task": "privacy.tasks.delete_expired_data_exports_task",
        "schedule": timedelta(hours=1),
    },
    # Audit log: entries older than AUDIT_RETENTION_DAYS are purged (the only deletion allowed).
    "purge-audit-log": {
        "task": "dropship.core.tasks.purge_audit_entries_task",
        "schedule": crontab(hour=1, minute=30),
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
        "OPTIONS": {"min_length": 12},  # ASVS 4.0.3 2.1.1
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# Mandatory verification is what lets signup hide which emails are registered: a taken address
# gets the same "check your inbox" answer and its owner an "account already exists" email.
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SIGNUP_FORM_CLASS = "dropship.accounts.forms.OrganisationSignupForm"
ACCOUNT_ADAPTER = "dropship.accounts.adapters.AccountAdapter"
ACCOUNT_RATE_LIMITS = env.dict("ACCOUNT_RATE_LIMITS", default={}) or {}
# Two-factor authentication (allauth.mfa): an authenticator app (TOTP), security keys and passkeys
# (WebAuthn), and single-use recovery codes. Required for staff before the admin and for the
# members of an organisation whose owner turned it on (dropship/accounts/mfa.py); optional for
# everyone else. Secrets are stored encrypted with FIELD_ENCRYPTION_KEYS (MFA_ADAPTER).
MFA_ADAPTER = "dropship.accounts.mfa.MfaAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Dropship")
# WebAuthn needs a secure origin; http://localhost is one only with this on (development).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
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
# Unset: Shopify is unavailable and every Shopify webhook fails its signature check.
SHOPIFY_API_KEY = env.str("SHOPIFY_API_KEY", default="")
SHOPIFY_API_SECRET = env.str("SHOPIFY_API_SECRET", default="")
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
# An expiring offline access token (one hour) is renewed this long before it runs out.
SHOPIFY_TOKEN_REFRESH_MARGIN_SECONDS = env.int("SHOPIFY_TOKEN_REFRESH_MARGIN_SECONDS", default=300)
# The hourly token job renews a pair whose refresh token runs out within this window, and looks
# at no more than this many stores a run.
SHOPIFY_REFRESH_TOKEN_RENEW_WINDOW_SECONDS = env.int(
    "SHOPIFY_REFRESH_TOKEN_RENEW_WINDOW_SECONDS", default=14 * 24 * 3600
)
SHOPIFY_TOKEN_UPKEEP_BATCH = env.int("SHOPIFY_TOKEN_UPKEEP_BATCH", default=100)
# Where the Shopify endpoints live: "https://{shop}" in production, the sandbox in dev and tests.
SHOPIFY_BASE_URL = env.str("SHOPIFY_BASE_URL", default="")
# Unset: card payments are unavailable and every Stripe webhook fails its signature check.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Events of connected accounts (suppliers' account.updated, payout.paid/failed) come to their own
# Connect endpoint, /webhooks/stripe/connect/, signed with that endpoint's own secret. Either
# endpoint refuses every delivery while its secret is unset (fail closed).
STRIPE_CONNECT_WEBHOOK_SECRET = env.str("STRIPE_CONNECT_WEBHOOK_SECRET", default="")
# Where stripe-python sends its calls: empty for api.stripe.com, the sandbox in dev and tests.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
# The API version every call is made in (and webhook endpoints should be set to): the version
# stripe-python 16 is generated for. Shapes we rely on (a Charge without embedded refunds) follow it.
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default="2026-10-28.endive")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
STRIPE_CONNECT_COUNTRY = env.str("STRIPE_CONNECT_COUNTRY", default="US")
# Where the platform's own Stripe account is: a supplier's account in another region gets the
# "recipient" service agreement cross-border payouts need (integrations/stripe/regions.py).
STRIPE_PLATFORM_COUNTRY = env.str("STRIPE_PLATFORM_COUNTRY", default="US")
# Carrier tracking (EasyPost's Trackers API, or the carrier sandbox): unset key = no trackers
# are registered and parcels move only by what suppliers report. The webhook endpoint
# /webhooks/tracking/ refuses every delivery while the secret is unset (fail closed).
TRACKING_API_BASE = env.str("TRACKING_API_BASE", default="https://api.easypost.com/v2")
TRACKING_API_KEY = env.str("TRACKING_API_KEY", default="")
TRACKING_WEBHOOK_SECRET = env.str("TRACKING_WEBHOOK_SECRET", default="")
# A parcel not heard of (webhook or poll) for this long is polled; at most this many per run.
TRACKING_POLL_QUIET_HOURS = env.float("TRACKING_POLL_QUIET_HOURS", default=12.0)
TRACKING_POLL_BATCH = env.int("TRACKING_POLL_BATCH", default=200)
# The watchdog flags a parcel without a carrier scan for this many days, by destination.
TRACKING_QUIET_DAYS_DOMESTIC = env.int("TRACKING_QUIET_DAYS_DOMESTIC", default=5)
TRACKING_QUIET_DAYS_INTERNATIONAL = env.int("TRACKING_QUIET_DAYS_INTERNATIONAL", default=14)
# Currencies (dropship/core/exchange.py): a rate older than this many days is no rate (a supplier
# in another currency is then refused at import and its order lines become exceptions).
EXCHANGE_RATE_MAX_AGE_DAYS = env.int("EXCHANGE_RATE_MAX_AGE_DAYS", default=7)
# The daily rates provider (Frankfurter's v1 API, https://frankfurter.dev/v1/, or the rates
# sandbox); empty = rates only as staff enter them in the admin.
EXCHANGE_RATES_API_BASE = env.str("EXCHANGE_RATES_API_BASE", default="")
EXCHANGE_RATES_TIMEOUT_SECONDS = env.float("EXCHANGE_RATES_TIMEOUT_SECONDS", default=10.0)
# Plans (billing/services/plans.py): days a retailer whose renewal failed keeps full use while
# Stripe retries the card; after them its pages are read-only (orders keep flowing).
PLAN_GRACE_DAYS = env.int("PLAN_GRACE_DAYS", default=7)
WOOCOMMERCE_API_VERSION = env.str("WOOCOMMERCE_API_VERSION", default="wc/v3")
# The sandboxes listen on loopback; a user-typed URL may point there only when this is set
# (`make run` and the tests set it; refused with DEBUG off, see the end of this file).
ALLOW_LOOPBACK_URLS = env.bool("ALLOW_LOOPBACK_URLS", default=False)
OUTBOUND_TIMEOUT_SECONDS = env.float("OUTBOUND_TIMEOUT_SECONDS", default=10.0)
OUTBOUND_MAX_RESPONSE_BYTES = env.int("OUTBOUND_MAX_RESPONSE_BYTES", default=20 * 1024 * 1024)
# The webhook inbox remembers a shop's store row this long per process (0 turns it off).
WEBHOOK_STORE_CACHE_SECONDS = env.float("WEBHOOK_STORE_CACHE_SECONDS", default=10.0)

# --- Marketplace rules --------------------------------------------------------------------------
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="USD")
PAYOUT_HOLDBACK_DAYS = env.int("PAYOUT_HOLDBACK_DAYS", default=7)
# Support answers a mediation case within this many hours of its opening (the queue's SLA clock).
CASE_RESPONSE_SLA_HOURS = env.int("CASE_RESPONSE_SLA_HOURS", default=48)
# Support's read-only "view as" of a workspace lasts at most this long (30 at most).
VIEW_AS_MAX_MINUTES = env.int("VIEW_AS_MAX_MINUTES", default=30)
# Delivered supplier orders may be paid out earlier: this many days after delivery (0 = at
# delivery) when that comes before the fixed holdback. Unset keeps the fixed holdback only.
PAYOUT_DAYS_AFTER_DELIVERY = env.int("PAYOUT_DAYS_AFTER_DELIVERY", default=None)
# How long an order held by a fraud rule keeps its stock reserved while the retailer reviews it
# (then the stock goes back on sale and is reserved again on release, like any held order).
FRAUD_HOLD_RESERVATION_HOURS = env.int("FRAUD_HOLD_RESERVATION_HOURS", default=72)
# Payment-terms retailers receive a monthly invoice due this many days after it is issued.
INVOICE_PAYMENT_TERMS_DAYS = env.int("INVOICE_PAYMENT_TERMS_DAYS", default=30)
# Audit log entries are kept this many days, then purged nightly (the only deletion allowed).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=400)

# --- Privacy (docs/privacy.md) ------------------------------------------------------------------
# Shopper data (name, email, address, phone) of a finished order is erased this many days after
# its last delivery plus the return window; without a delivery date, this long after the last
# shipment or the cancellation (orders.services.shopper_purge, beat, daily).
RETURN_WINDOW_DAYS = env.int("RETURN_WINDOW_DAYS", default=30)
# Supplier scorecards (orders/services/scorecard.py): a supplier with fewer supplier orders than
# this in the 90-day window shows "new supplier" instead of a reliability score.
SCORECARD_MIN_ORDERS = env.int("SCORECARD_MIN_ORDERS", default=10)
# Messages (messaging/): the support inbox shows a thread as overdue when a message has waited
# this many hours for an answer.
MESSAGE_REPLY_SLA_HOURS = env.int("MESSAGE_REPLY_SLA_HOURS", default=24)
SHOPPER_DATA_RETENTION_DAYS = env.int("SHOPPER_DATA_RETENTION_DAYS", default=30)
SHOPPER_DATA_UNDELIVERED_DAYS = env.int("SHOPPER_DATA_UNDELIVERED_DAYS", default=90)
SHOPPER_DATA_PURGE_BATCH = env.int("SHOPPER_DATA_PURGE_BATCH", default=200)
# A personal data export (ZIP) can be downloaded for this many hours, then it is deleted.
DATA_EXPORT_EXPIRY_HOURS = env.int("DATA_EXPORT_EXPIRY_HOURS", default=72)

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

# --- Security: TLS posture ----------------------------------------------------------------------
# In production every request is HTTPS: plain HTTP is redirected (the health check excepted, for
# probes inside the private network), browsers are told to stay on HTTPS (HSTS), and cookies
# travel over HTTPS only. A TLS-terminating proxy in front (Caddy in docker-compose.yml) says the
# client's scheme in X-Forwarded-Proto; Django believes it only when BEHIND_PROXY says that the
# proxy is the only way in (it must overwrite the header a client sends, as Caddy does).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a promise for the whole domain that takes months to undo, and anybody may submit
# a domain whose header offers it: opt-in. Left off, Django's deploy check about it is silenced.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Security: Content-Security-Policy and Permissions-Policy ----------------------------------
# No inline script, style attribute or eval anywhere, the admin and the API docs included: page
# behaviour lives in static/js/, htmx is configured for it (base.html), charts are SVG. A script
# that cannot be a file carries nonce="{{ CSP_NONCE }}" (django-csp adds the nonce to the header
# only on pages that use one). Product images may come from a supplier's HTTPS host; forms post
# here and are redirected only to Shopify's authorization and Stripe's hosted pages. In
# development and tests the sandboxes on loopback stand in for those (ALLOW_LOOPBACK_URLS).
_CSP_LOOPBACK = ["http://127.0.0.1:*", "http://localhost:*"] if ALLOW_LOOPBACK_URLS else []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https:", *_CSP_LOOPBACK],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [
            SELF,
            "https://*.myshopify.com",
            "https://*.shopify.com",
            "https://checkout.stripe.com",
            "https://connect.stripe.com",
            *env.list("CSP_FORM_ACTION_EXTRA", default=[]),
            *_CSP_LOOPBACK,
        ],
        # Where browsers send violation reports, if anywhere (unset: nowhere).
        **({"report-uri": [env.str("CSP_REPORT_URI")]} if env.str("CSP_REPORT_URI", "") else {}),
    },
}
# Browser features no page uses are switched off for the page and anything it embeds
# (django-permissions-policy: the header in the format browsers parse, kept up to date).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "xr-spatial-tracking",
    )
}

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

# --- Fail closed: refuse an insecure combination before any process serves ---------------------
# ImproperlyConfigured at import stops gunicorn's workers and Celery alike (system checks do not
# run there). Development (`make run`, the tests) sets DEBUG and what it needs explicitly.
if not DEBUG and ALLOW_LOOPBACK_URLS:
    raise ImproperlyConfigured(
        "ALLOW_LOOPBACK_URLS is on with DEBUG off: user-typed URLs could reach services on this "
        "machine. It is for the sandboxes in development only; unset it."
    )
if not DEBUG and ACCOUNT_EMAIL_VERIFICATION != "mandatory":
    raise ImproperlyConfigured(
        f"ACCOUNT_EMAIL_VERIFICATION is {ACCOUNT_EMAIL_VERIFICATION!r} with DEBUG off: signup "
        "would reveal which emails are registered. Production requires 'mandatory'."
    )
if MESSAGE_REPLY_SLA_HOURS < 1:
    raise ImproperlyConfigured(
        f"MESSAGE_REPLY_SLA_HOURS is {MESSAGE_REPLY_SLA_HOURS}: the support inbox's reply "
        "clock needs at least 1 hour."
    )
if not 1 <= VIEW_AS_MAX_MINUTES <= 30:
    raise ImproperlyConfigured(
        f"VIEW_AS_MAX_MINUTES is {VIEW_AS_MAX_MINUTES}: a support view-as lasts between 1 and 30 "
        "minutes."
    )


# --- JSON API rate limits (django-ratelimit on the default cache: Redis, or the local cache) ----
# "N/s", "N/m", "N/h". Per API key (or dashboard user), per client IP for calls without
# credentials, and per client IP for failed authentication (401s), which then blocks that IP's
# attempts until the window ends. The client IP is REMOTE_ADDR, or behind the proxy the address
# it appends to X-Forwarded-For.
API_RATE_LIMIT_PER_KEY = env.str("API_RATE_LIMIT_PER_KEY", default="600/m")
API_RATE_LIMIT_PER_IP = env.str("API_RATE_LIMIT_PER_IP", default="300/m")
API_RATE_LIMIT_AUTH_FAILURES_PER_IP = env.str("API_RATE_LIMIT_AUTH_FAILURES_PER_IP", default="20/m")
# Every call from one address, whatever its credentials (many keys behind one address).
API_RATE_LIMIT_PER_IP_TOTAL = env.str("API_RATE_LIMIT_PER_IP_TOTAL", default="3000/m")
# Own budgets per caller for the expensive operations, on top of the general one ("METHOD path").
API_RATE_LIMIT_EXPENSIVE: dict[str, str] = {
    "GET /api/v1/catalog/search": env.str("API_RATE_LIMIT_CATALOG_SEARCH", default="60/m"),
    "POST /api/v1/supplier/inventory": env.str("API_RATE_LIMIT_STOCK_BATCH", default="30/m"),
    "POST /api/v1/orders": env.str("API_RATE_LIMIT_ORDER_INTAKE", default="300/m"),
}
# Inbound webhooks per source (vendor + the shop or supplier it speaks for): generous, because a
# bulk edit in a shop sends hundreds at once and the vendors deliver again after a 429.
WEBHOOK_RATE_LIMIT_PER_SOURCE = env.str("WEBHOOK_RATE_LIMIT_PER_SOURCE", default="3000/m")

# --- JSON API idempotency keys (dropship/api_idempotency.py) --------------------------------------
# The first answer to a write sent with an Idempotency-Key is replayed for this long; a call
# still unanswered after API_IDEMPOTENCY_STALE is presumed dead and its key may be used again.
API_IDEMPOTENCY_TTL = timedelta(hours=env.int("API_IDEMPOTENCY_TTL_HOURS", default=24))
API_IDEMPOTENCY_STALE = timedelta(minutes=5)
RATELIMIT_CACHE_PREFIX = "ratelimit:"
