"""exclusive_lock: one holder at a time per (namespace, key), across threads, on either engine."""

import threading

import pytest
from django.db import connection

from dropship.core.locks import exclusive_lock

pytestmark = [pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


def _hold_while_the_other_tries(first_key: int, second_key: int) -> list[str]:
    """The first thread holds its lock until the second has tried its own; the order of events."""
    events: list[str] = []
    held = threading.Event()
    second_done = threading.Event()

    def first():
        try:
            with exclusive_lock(namespace=77, key=first_key):
                events.append("first in")
                held.set()
                second_done.wait(timeout=1)
                events.append("first out")
        finally:
            connection.close()

    def second():
        try:
            held.wait(timeout=10)
            with exclusive_lock(namespace=77, key=second_key):
                events.append("second in")
            second_done.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return events


def test_a_second_holder_of_the_same_key_waits_for_the_first():
    assert _hold_while_the_other_tries(1, 1) == ["first in", "first out", "second in"]


def test_different_keys_do_not_wait_for_each_other():
    assert _hold_while_the_other_tries(1, 2) == ["first in", "second in", "first out"]
