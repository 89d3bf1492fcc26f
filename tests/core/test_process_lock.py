"""exclusive_lock on PostgreSQL is a leased row (dropship/core/locks.py), not a session advisory
lock: it must free itself when a holder dies and must not be taken while a live holder works past
its first lease."""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dropship.core.locks import exclusive_lock
from dropship.core.models import ProcessLock

pytestmark = pytest.mark.django_db(transaction=True)

DEAD_HOLDER = uuid.UUID(int=1)


def test_a_holder_that_died_frees_the_lock_when_its_lease_runs_out():
    ProcessLock.objects.create(
        namespace=77,
        key=3,
        holder=DEAD_HOLDER,
        acquired_at=timezone.now() - timedelta(minutes=5),
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    with exclusive_lock(namespace=77, key=3):
        row = ProcessLock.objects.get(namespace=77, key=3)
        assert row.holder != DEAD_HOLDER
        assert row.lease_until > timezone.now()
    assert not ProcessLock.objects.filter(namespace=77, key=3).exists()


def test_a_live_holder_keeps_the_lock_past_its_first_lease(settings):
    """The lease is renewed while the holder works: a waiter does not take over after one lease."""
    settings.WORK_LEASE_SECONDS = 0.3
    events: list[str] = []
    holding = threading.Event()

    def holder():
        try:
            with exclusive_lock(namespace=77, key=4):
                holding.set()
                events.append("holder in")
                time.sleep(1.2)  # four leases long
                events.append("holder out")
        finally:
            connection.close()

    def waiter():
        try:
            holding.wait(timeout=10)
            with exclusive_lock(namespace=77, key=4):
                events.append("waiter in")
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert events == ["holder in", "holder out", "waiter in"]
