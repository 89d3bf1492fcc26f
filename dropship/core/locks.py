"""Locks held across processes for the length of some work, on whichever database runs.

`exclusive_lock(namespace, key)` holds one lock per (namespace, key) until the block ends, for
every thread and process sharing the database, and waits while someone else holds it:
- PostgreSQL: a row of `ProcessLock`, taken with one INSERT ... ON CONFLICT that succeeds only
  when no one holds the row or the holder's lease has run out. The holder's lease is renewed by
  the process's lease keeper (dropship/core/leases.py) for as long as it lives, so a holder
  killed mid-work frees the lock within WORK_LEASE_SECONDS. Nothing lives in the database
  session, so the lock works behind a transaction-pooling PgBouncer, where a session advisory
  lock would be taken on one server connection and released (or leaked) on another.
- SQLite (the embedded `make run` default, one machine by definition): an `flock` on a file
  under `VAR_DIR/locks/`. Each acquisition opens its own file description, so threads of one
  worker exclude each other as processes do; the kernel drops the lock if a process dies.
The block runs outside any database transaction the lock would otherwise have to live in:
callers may do slow work (HTTP calls to a store) while holding it. A waiter polls, first every
50 ms and backing off to once a second.
"""

import fcntl
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from dropship.core.leases import held_lease, lease_until
from dropship.core.models import ProcessLock

FIRST_POLL_SECONDS = 0.05
LAST_POLL_SECONDS = 1.0


@contextmanager
def exclusive_lock(*, namespace: int, key: int) -> Iterator[None]:
    """Hold the lock (namespace, key) for the block; wait while another holder has it."""
    if connection.vendor == "postgresql":
        with _row_lock(namespace, key):
            yield
    else:
        with _file_lock(Path(settings.VAR_DIR) / "locks" / f"{namespace}-{key}.lock"):
            yield


@contextmanager
def _row_lock(namespace: int, key: int) -> Iterator[None]:
    holder = uuid.uuid4()
    poll = FIRST_POLL_SECONDS
    while not _take_row(namespace, key, holder):
        time.sleep(poll)
        poll = min(poll * 2, LAST_POLL_SECONDS)
    mine = ProcessLock.objects.filter(namespace=namespace, key=key, holder=holder)
    try:
        with held_lease(mine):
            yield
    finally:
        mine.delete()


def _take_row(namespace: int, key: int, holder: uuid.UUID) -> bool:
    """Insert the lock row, or take it over from a holder whose lease ran out: True when ours."""
    now = timezone.now()
    table = ProcessLock._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(  # the table name is our model's, never input
            f"""
            INSERT INTO {table} (namespace, key, holder, acquired_at, lease_until)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (namespace, key) DO UPDATE
               SET holder = EXCLUDED.holder,
                   acquired_at = EXCLUDED.acquired_at,
                   lease_until = EXCLUDED.lease_until
             WHERE {table}.lease_until < %s
            RETURNING holder
            """,  # noqa: S608
            [namespace, key, holder, now, lease_until(now), now],
        )
        return cursor.fetchone() is not None


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
