"""The engine-specific half of the audit log's append-only trigger (migration core 0003).

The trigger lets a DELETE through only for rows created before the cutoff the retention purge
states for its own transaction: on PostgreSQL a transaction-local setting, on SQLite the answer
of a function Django registers on each of its connections. `purge_permission` is the one place
that states it; nothing else in the code base does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

_SQLITE_ATTR = "_audit_purge_before"


def _register_sqlite_function(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor != "sqlite":
        return

    def purge_before() -> str | None:
        value: str | None = getattr(connection, _SQLITE_ATTR, None)
        return value

    connection.connection.create_function("dropship_audit_purge_before", 0, purge_before)


def connect() -> None:
    """Called once from the core app's ready()."""
    connection_created.connect(_register_sqlite_function, dispatch_uid="audit_purge_before")


@contextmanager
def purge_permission(*, using: str = "default", before: datetime) -> Iterator[None]:
    """Inside an atomic block: the trigger lets this transaction delete rows created before
    `before` (and nothing else, nowhere else)."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        raise RuntimeError("purge_permission must be used inside transaction.atomic()")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('dropship.audit_purge_before', %s, true)", [before.isoformat()]
            )
        yield  # the setting ends with the transaction
        return
    if connection.vendor == "sqlite":
        setattr(connection, _SQLITE_ATTR, connection.ops.adapt_datetimefield_value(before))
        try:
            yield
        finally:
            setattr(connection, _SQLITE_ATTR, None)
        return
    raise NotImplementedError(f"No audit purge permission for {connection.vendor}")


@contextmanager
def unrestricted_sqlite_deletes(*, using: str = "default") -> Iterator[None]:
    """For the test suite's flush between transactional tests on SQLite (it deletes every row;
    PostgreSQL's flush truncates, which row triggers do not see)."""
    connection = transaction.get_connection(using)
    setattr(connection, _SQLITE_ATTR, "9999-12-31")
    try:
        yield
    finally:
        setattr(connection, _SQLITE_ATTR, None)
