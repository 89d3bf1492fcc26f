"""Worker tasks keep their PostgreSQL connection between tasks (Celery's Django fixup would open a
new one per task) but never start on a connection that is too old, broken or left by a failure."""

import time

import pytest
from celery import shared_task, signals
from django.db import connection

from dropship.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


@shared_task
def _noop() -> None:
    return None


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _start_task() -> None:
    signals.task_prerun.send(sender=_noop, task_id="t", task=_noop, args=(), kwargs={})


def test_the_fixup_is_told_to_reuse_connections():
    assert app.conf.get("CELERY_DB_REUSE_MAX", 0) == 1000  # the setting's default


def test_a_healthy_connection_is_kept_from_one_task_to_the_next():
    before = _backend_pid()
    _start_task()
    assert _backend_pid() == before


def test_a_connection_older_than_conn_max_age_is_replaced_before_the_task():
    before = _backend_pid()
    connection.close_at = time.monotonic() - 1
    _start_task()
    assert _backend_pid() != before


def test_a_connection_in_error_is_replaced_before_the_task():
    before = _backend_pid()
    connection.errors_occurred = True
    connection.connection.close()  # the server went away under it
    _start_task()
    assert _backend_pid() != before


def test_a_failed_task_gives_up_its_connection():
    before = _backend_pid()
    signals.task_failure.send(
        sender=_noop, task_id="t", exception=RuntimeError("boom"), args=(), kwargs={}
    )
    assert connection.connection is None
    assert _backend_pid() != before


def test_eager_tasks_leave_the_callers_connection_alone():
    before = _backend_pid()
    connection.close_at = time.monotonic() - 1
    _noop.push_request(is_eager=True)
    try:
        _start_task()
        signals.task_failure.send(sender=_noop, task_id="t", exception=RuntimeError("x"))
    finally:
        _noop.pop_request()
    assert _backend_pid() == before
