"""Locks held across processes for the length of some work, on whichever database runs.

`exclusive_lock(namespace, key)` holds one lock per (namespace, key) until the block ends, for
every thread and process sharing the database, and waits while someone else holds it:
- PostgreSQL: a session advisory lock (`pg_advisory_lock`), the same for every machine.
- SQLite (the embedded `make run` default, one machine by definition): an `flock` on a file
  under `VAR_DIR/locks/`. Each acquisition opens its own file description, so threads of one
  worker exclude each other as processes do; the kernel drops the lock if a process dies.
The block runs outside any database transaction the lock would otherwise have to live in:
callers may do slow work (HTTP calls to a store) while holding it.
"""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection


@contextmanager
def exclusive_lock(*, namespace: int, key: int) -> Iterator[None]:
    """Hold the lock (namespace, key) for the block; wait while another holder has it."""
    if connection.vendor == "postgresql":
        with _advisory_lock(namespace, key):
            yield
    else:
        with _file_lock(Path(settings.VAR_DIR) / "locks" / f"{namespace}-{key}.lock"):
            yield


@contextmanager
def _advisory_lock(namespace: int, key: int) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [namespace, key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
