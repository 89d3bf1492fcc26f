"""Configuration comes from the environment; production refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parents[1]


def _check(**overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="dropship.settings", **overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": "a-real-secret"}, "FIELD_ENCRYPTION_KEYS"),
    ],
)
def test_debug_off_without_a_secret_stops_start_up_naming_it(overrides, missing):
    result = _check(**overrides)
    assert result.returncode != 0
    assert f"{missing} is not set. It is required when DEBUG is off" in result.stderr


def test_debug_off_with_every_secret_starts():
    result = _check(
        DEBUG="0",
        SECRET_KEY="a-real-secret",
        FIELD_ENCRYPTION_KEYS="Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLXNlY3JldCE=",
        ALLOWED_HOSTS="dropship.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_malformed_encryption_key_is_refused_with_how_to_make_one():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from dropship.core.fields import encrypt_str; encrypt_str('x')",
        ],
        cwd=REPO,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dropship.settings",
            "FIELD_ENCRYPTION_KEYS": "not-a-key",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
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
