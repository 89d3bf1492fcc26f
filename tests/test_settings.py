"""Configuration comes from the environment and fails closed: production is the default, it
refuses to start without its keys or with an insecure combination, and it serves HTTPS only.

Settings are read once per process, so each case imports them in a subprocess with a controlled
environment (no DEBUG, keys or VAR_DIR from the test run unless the case gives them)."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parents[1]
KEY = "Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLXNlY3JldCE="  # a well-formed Fernet key, tests only
STRONG_SECRET = "tests-only-" + "k3y" * 15  # 56 characters, not Django's insecure prefix
CONTROLLED = {
    "DEBUG",
    "DEVSTACK",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "ALLOW_LOOPBACK_URLS",
    "SHOPIFY_API_KEY",
    "SHOPIFY_API_SECRET",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "ACCOUNT_EMAIL_VERIFICATION",
    "DJANGO_SETTINGS_MODULE",
    "VAR_DIR",
    "ENV_FILE",
    "DB_POOL_MODE",
    "DB_SERVER_SIDE_BINDING",
    "DB_PREPARE_THRESHOLD",
    "DB_POOLER_PREPARED_STATEMENTS",
}
PRODUCTION = {"SECRET_KEY": STRONG_SECRET, "FIELD_ENCRYPTION_KEYS": KEY}
READ_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({name: getattr(s, name) for name in %r}, default=str))"
)


def _run(argv: list[str], var_dir: Path, **overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    # A developer's own .env (keys, DEBUG) must not leak into the case: none unless it says.
    env.update(
        DJANGO_SETTINGS_MODULE="dropship.settings",
        VAR_DIR=str(var_dir),
        ENV_FILE=str(var_dir / "absent.env"),
    )
    env.update(overrides)
    return subprocess.run(
        [sys.executable, *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _settings(var_dir: Path, names: list[str], **overrides: str) -> dict:
    result = _run(["-c", READ_SETTINGS % (names,)], var_dir, **overrides)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_debug_unset_the_settings_are_production(tmp_path):
    values = _settings(
        tmp_path,
        [
            "DEBUG",
            "ALLOW_LOOPBACK_URLS",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS",
            "SECURE_HSTS_PRELOAD",
            "SECURE_PROXY_SSL_HEADER",
            "ACCOUNT_EMAIL_VERIFICATION",
            "ACCOUNT_PREVENT_ENUMERATION",
            "SECRET_KEY",
            "SHOPIFY_API_SECRET",
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "INSTALLED_APPS",
        ],
        **PRODUCTION,
    )

    assert values.pop("INSTALLED_APPS")[-1] != "devstack"
    assert values == {
        "DEBUG": False,
        "ALLOW_LOOPBACK_URLS": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
        "ACCOUNT_EMAIL_VERIFICATION": "mandatory",
        "ACCOUNT_PREVENT_ENUMERATION": True,
        "SECRET_KEY": STRONG_SECRET,
        "SHOPIFY_API_SECRET": "",
        "STRIPE_SECRET_KEY": "",
        "STRIPE_WEBHOOK_SECRET": "",
    }


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": STRONG_SECRET}, "FIELD_ENCRYPTION_KEYS"),
        ({"DEBUG": "0", "FIELD_ENCRYPTION_KEYS": KEY}, "SECRET_KEY"),
    ],
)
def test_a_missing_key_stops_start_up_naming_it(tmp_path, given, missing):
    result = _run(["manage.py", "check"], tmp_path, **given)

    assert result.returncode != 0
    assert (
        f"ImproperlyConfigured: {missing} is not set: Dropship refuses to start without it "
        "(production must set it in the environment" in result.stderr
    )


def test_production_never_reads_the_development_keys(tmp_path):
    (tmp_path / "dev-secrets.env").write_text(
        f"SECRET_KEY={STRONG_SECRET}\nFIELD_ENCRYPTION_KEYS={KEY}\n"
    )

    result = _run(["manage.py", "check"], tmp_path)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_development_without_generated_keys_says_how_to_get_them(tmp_path):
    result = _run(["manage.py", "check"], tmp_path, DEBUG="1")

    assert result.returncode != 0
    assert (
        f"SECRET_KEY is not set: Dropship refuses to start without it (`make run` generates "
        f"development keys into {tmp_path / 'dev-secrets.env'}" in result.stderr
    )


def test_make_run_generates_development_keys_once_and_development_reads_them(tmp_path):
    first = _run(["-m", "devstack.dev_secrets"], tmp_path)
    written = (tmp_path / "dev-secrets.env").read_text()
    second = _run(["-m", "devstack.dev_secrets"], tmp_path)

    assert (first.returncode, second.returncode) == (0, 0)
    assert "Development keys written to" in first.stdout
    assert second.stdout == ""
    assert (tmp_path / "dev-secrets.env").read_text() == written  # kept: credentials stay readable
    assert stat.S_IMODE((tmp_path / "dev-secrets.env").stat().st_mode) == 0o600
    generated = dict(line.split("=", 1) for line in written.splitlines() if "=" in line)
    assert generated["SECRET_KEY"] not in (settings.SECRET_KEY, STRONG_SECRET)
    values = _settings(
        tmp_path,
        ["DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "SHOPIFY_API_SECRET", "STRIPE_SECRET_KEY"],
        DEBUG="1",
    )
    assert values == {
        "DEBUG": True,
        "SECRET_KEY": generated["SECRET_KEY"],
        "FIELD_ENCRYPTION_KEYS": [generated["FIELD_ENCRYPTION_KEYS"]],
        "SHOPIFY_API_SECRET": generated["SHOPIFY_API_SECRET"],
        "STRIPE_SECRET_KEY": generated["STRIPE_SECRET_KEY"],
    }
    # The environment wins over the generated file.
    assert _settings(tmp_path, ["SECRET_KEY"], DEBUG="1", SECRET_KEY=STRONG_SECRET) == {
        "SECRET_KEY": STRONG_SECRET
    }


def test_a_keys_file_from_an_older_checkout_gets_the_new_keys_and_keeps_its_own(tmp_path):
    older = "SECRET_KEY=kept-secret\nFIELD_ENCRYPTION_KEYS=kept-fernet\n"
    (tmp_path / "dev-secrets.env").write_text(older)

    result = _run(["-m", "devstack.dev_secrets"], tmp_path)

    assert result.returncode == 0
    text = (tmp_path / "dev-secrets.env").read_text()
    assert text.startswith(older)  # the keys credentials are encrypted with never change
    names = [line.split("=", 1)[0] for line in text.splitlines() if "=" in line]
    assert sorted(names) == sorted(
        [
            "SECRET_KEY",
            "FIELD_ENCRYPTION_KEYS",
            "SHOPIFY_API_KEY",
            "SHOPIFY_API_SECRET",
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "STRIPE_CONNECT_WEBHOOK_SECRET",
            "TRACKING_API_KEY",
            "TRACKING_WEBHOOK_SECRET",
        ]
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"ALLOW_LOOPBACK_URLS": "1"},
            "ALLOW_LOOPBACK_URLS is on with DEBUG off: user-typed URLs could reach services on "
            "this machine.",
        ),
        (
            {"ACCOUNT_EMAIL_VERIFICATION": "optional"},
            "ACCOUNT_EMAIL_VERIFICATION is 'optional' with DEBUG off: signup would reveal which "
            "emails are registered. Production requires 'mandatory'.",
        ),
    ],
)
def test_an_insecure_combination_with_debug_off_stops_start_up_naming_it(tmp_path, given, message):
    refused = _run(["manage.py", "check"], tmp_path, **PRODUCTION, **given)
    allowed_in_development = _run(
        ["manage.py", "check"], tmp_path, **PRODUCTION, **given, DEBUG="1"
    )

    assert refused.returncode != 0
    assert message in refused.stderr
    assert allowed_in_development.returncode == 0, allowed_in_development.stderr


@pytest.mark.parametrize("minutes", ["45", "0"])
def test_a_support_view_as_outside_1_to_30_minutes_stops_start_up(tmp_path, minutes):
    refused = _run(["manage.py", "check"], tmp_path, **PRODUCTION, VIEW_AS_MAX_MINUTES=minutes)

    assert refused.returncode != 0
    assert (
        f"VIEW_AS_MAX_MINUTES is {minutes}: a support view-as lasts between 1 and 30 minutes."
        in refused.stderr
    )


def test_the_wsgi_application_refuses_to_load_with_an_insecure_combination(tmp_path):
    """What gunicorn and Celery import: the refusal happens there, not only in manage.py."""
    result = _run(["-c", "import dropship.wsgi"], tmp_path, **PRODUCTION, ALLOW_LOOPBACK_URLS="1")

    assert result.returncode != 0
    assert "ALLOW_LOOPBACK_URLS is on with DEBUG off" in result.stderr


def test_the_deploy_check_passes_with_the_production_settings(tmp_path):
    production = {
        **PRODUCTION,
        "ALLOWED_HOSTS": "dropship.example.com",
        "BEHIND_PROXY": "1",
    }
    deploy = ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]

    result = _run(deploy, tmp_path, **production)
    without_redirect = _run(deploy, tmp_path, **production, SECURE_SSL_REDIRECT="0")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout
    assert without_redirect.returncode != 0
    assert "security.W008" in without_redirect.stderr


def test_a_malformed_encryption_key_is_refused_with_how_to_make_one(tmp_path):
    result = _run(
        [
            "-c",
            "import django; django.setup(); from dropship.core.fields import encrypt_str; encrypt_str('x')",
        ],
        tmp_path,
        SECRET_KEY=STRONG_SECRET,
        FIELD_ENCRYPTION_KEYS="not-a-key",
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be comma-separated Fernet keys" in result.stderr


def test_every_task_is_routed_to_a_queue_the_worker_declares():
    from dropship.celery import app

    app.loader.import_default_modules()
    declared = {queue.name for queue in app.conf.task_queues}
    ours = [name for name in app.tasks if not name.startswith("celery.")]
    routed = {name: app.amqp.router.route({}, name)["queue"].name for name in ours}
    assert set(routed.values()) <= declared
    assert routed["integrations.tasks.process_inbound_webhook_task"] == "webhooks"
    assert routed["orders.tasks.pay_and_dispatch_order_task"] == "orders"
    assert routed["retailers.sync.tasks.kick_inventory_drains_task"] == "sync"
    assert routed["catalog.tasks.run_import_task"] == "imports"
    assert routed["billing.tasks.transfer_payout_task"] == "billing"
    assert routed["integrations.tasks.send_outbound_push_task"] == "default"


def test_every_beat_entry_names_a_task_celery_autodiscovers():
    from dropship.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled - set(app.tasks) == set()
    route = app.amqp.router.route
    assert route({}, "orders.tracking_tasks.push_shipment_tracking_task")["queue"].name == "orders"
    assert route({}, "orders.tracking_tasks.run_order_watchdog_task")["queue"].name == "orders"
    assert route({}, "suppliers.feed_tasks.poll_feed_task")["queue"].name == "sync"


POOLED_DATABASE = "postgres://dropship@127.0.0.1:6432/dropship"


def test_behind_a_transaction_pooler_no_server_side_cursors_are_used(tmp_path):
    """A server-side cursor lives in the server session, which PgBouncer hands to another
    client after each transaction."""
    pooled = _settings(
        tmp_path,
        ["DATABASES"],
        **PRODUCTION,
        DATABASE_URL=POOLED_DATABASE,
        DB_POOL_MODE="transaction",
    )
    direct = _settings(tmp_path, ["DATABASES"], **PRODUCTION, DATABASE_URL=POOLED_DATABASE)

    assert pooled["DATABASES"]["default"]["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert not direct["DATABASES"]["default"].get("DISABLE_SERVER_SIDE_CURSORS")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"DB_POOL_MODE": "statement"}, "DB_POOL_MODE must be 'session' or 'transaction'"),
        (
            {
                "DB_POOL_MODE": "transaction",
                "DB_SERVER_SIDE_BINDING": "1",
                "DB_PREPARE_THRESHOLD": "5",
            },
            "DB_PREPARE_THRESHOLD prepares statements, which a transaction-pooling PgBouncer "
            "loses between transactions",
        ),
    ],
)
def test_a_pooler_setting_that_would_break_stops_start_up_naming_it(tmp_path, given, message):
    refused = _run(
        ["manage.py", "check"], tmp_path, **PRODUCTION, DATABASE_URL=POOLED_DATABASE, **given
    )

    assert refused.returncode != 0
    assert message in refused.stderr


def test_prepared_statements_behind_a_pooler_that_keeps_them_are_allowed(tmp_path):
    """PgBouncer 1.21+ with max_prepared_statements tracks them per client."""
    allowed = _settings(
        tmp_path,
        ["DATABASES"],
        **PRODUCTION,
        DATABASE_URL=POOLED_DATABASE,
        DB_POOL_MODE="transaction",
        DB_SERVER_SIDE_BINDING="1",
        DB_PREPARE_THRESHOLD="5",
        DB_POOLER_PREPARED_STATEMENTS="1",
    )

    assert allowed["DATABASES"]["default"]["OPTIONS"]["prepare_threshold"] == 5
