"""Leases on rows a worker is running: renewed while the worker lives, expired when it dies.

A claimed inbox or outbox row carries `lease_until`. The worker that claimed it holds the lease
(`held_lease(queryset)`): one daemon thread per process renews every lease the process holds,
every third of the lease, with one UPDATE per row. A worker killed mid-task stops renewing, its
lease runs out and the sweeper hands the row to another worker within the lease plus the sweep
interval, instead of waiting for the broker's visibility timeout.

A lease only says when to try again: which execution wins is decided by the row (its attempt
number, compared and set by the claim and by the outcome), so a worker that was merely slow
past its lease cannot have its outcome written over the new one's.

The queryset names the row as claimed (its id, its claim's attempt and status), so a renewal
never extends a lease another worker has taken over. Most work ends well before the first
renewal, so a process usually runs no renewal at all.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


def lease_seconds() -> float:
    return float(settings.WORK_LEASE_SECONDS)


def _renew_every() -> float:
    """How often the keeper renews: every third of the lease."""
    return max(lease_seconds() / 3, 0.05)


def lease_until(now: datetime | None = None) -> datetime:
    """When a lease taken (or renewed) now runs out."""
    return (now or timezone.now()) + timedelta(seconds=lease_seconds())


class _Keeper:
    """This process's renewing thread and the leases it holds (started lazily, again after a
    fork: a prefork pool's children do not inherit the parent's threads)."""

    def __init__(self) -> None:
        self._held: dict[int, QuerySet[Any]] = {}
        self._next = 0
        self._guard = threading.Lock()
        self._pid = 0
        self._wake = threading.Event()

    def hold(self, rows: QuerySet[Any]) -> int:
        with self._guard:
            if self._pid != os.getpid():
                self._held.clear()
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="lease-keeper", daemon=True).start()
            self._next += 1
            token = self._next
            self._held[token] = rows
        # The lease may be shorter than when the keeper last went to sleep (a setting changed):
        # let it bring its next renewal forward.
        self._wake.set()
        return token

    def release(self, token: int) -> None:
        with self._guard:
            self._held.pop(token, None)

    def _run(self) -> None:
        due = time.monotonic() + _renew_every()
        while True:
            if self._wake.wait(timeout=max(due - time.monotonic(), 0)):
                self._wake.clear()
                due = min(due, time.monotonic() + _renew_every())
                continue
            due = time.monotonic() + _renew_every()
            with self._guard:
                held = list(self._held.items())
            if held:
                self.renew(held)

    def renew(self, held: list[tuple[int, QuerySet[Any]]]) -> None:
        close_old_connections()
        until = lease_until()
        for token, rows in held:
            try:
                renewed = rows.update(lease_until=until)
            except Exception:  # the database is away: try again next round, the lease may lapse
                logger.warning("Could not renew a work lease", exc_info=True)
                connection.close()
                return
            if not renewed:  # finished meanwhile, or taken over after it lapsed
                self.release(token)


_keeper = _Keeper()


@contextmanager
def held_lease(rows: QuerySet[Any]) -> Iterator[None]:
    """Keep renewing the lease of `rows` (the claimed row, filtered by its claim) for the block."""
    token = _keeper.hold(rows)
    try:
        yield
    finally:
        _keeper.release(token)
