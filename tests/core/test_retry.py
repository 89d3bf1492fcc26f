"""The one retry policy: backoff with jitter, never sooner than the outside asked, short waits only."""

import pytest
from celery import shared_task
from celery.exceptions import Retry

from dropship.core.errors import TemporaryError
from dropship.core.retry import (
    MAX_INLINE_WAIT_SECONDS,
    OUTBOX,
    RetryOnTemporaryError,
    RetryPolicy,
    WaitBudget,
    parse_retry_after,
)

POLICY = RetryPolicy(base=10, cap=600, max_retries=3)


@pytest.mark.parametrize(
    ("attempt", "lowest", "highest"),
    [(0, 5.0, 10.0), (1, 10.0, 20.0), (3, 40.0, 80.0), (6, 300.0, 600.0), (40, 300.0, 600.0)],
)
def test_backoff_doubles_from_base_to_cap_with_half_jitter(attempt, lowest, highest):
    assert POLICY.backoff(attempt, rng=lambda: 0.0) == lowest
    assert POLICY.backoff(attempt, rng=lambda: 1.0) == highest


def test_the_delay_is_never_sooner_than_the_retry_after_the_outside_asked_for():
    asked = TemporaryError("Shopify kept answering 429.", retry_after=90.0)
    assert POLICY.delay(0, error=asked, rng=lambda: 0.0) == 90.0
    assert POLICY.delay(5, error=asked, rng=lambda: 0.0) == 160.0  # the backoff is longer
    assert POLICY.delay(0, error=TemporaryError("down"), rng=lambda: 0.0) == 5.0


def test_a_retry_after_longer_than_the_cap_waits_the_cap():
    asked = TemporaryError("Retry in a day", retry_after=86_400.0)
    assert POLICY.delay(0, error=asked, rng=lambda: 0.0) == 600.0


def test_the_outbox_policy_is_30_seconds_doubling_to_six_hours():
    assert (OUTBOX.backoff(0, rng=lambda: 1.0), OUTBOX.backoff(30, rng=lambda: 1.0)) == (
        30.0,
        6 * 3600.0,
    )


def test_a_wait_budget_sleeps_within_its_seconds_and_refuses_beyond():
    slept: list[float] = []
    waits = WaitBudget(sleep=slept.append)

    assert waits.wait(0.5) is True
    assert waits.wait(1.25) is True
    assert waits.wait(0.5) is False  # 0.25 s left
    assert waits.wait(0.25) is True
    assert slept == [0.5, 1.25, 0.25]
    assert MAX_INLINE_WAIT_SECONDS == 2.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0.2"}, 0.2),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 1.0),
        ({"Retry-After": "-4"}, 0.0),
        ({}, 1.0),
    ],
)
def test_retry_after_is_read_in_seconds_with_a_default(headers, expected):
    assert parse_retry_after(headers, default=1.0) == expected


@shared_task(bind=True, base=RetryOnTemporaryError, retry_policy=POLICY)
def _flaky_task(self, retry_after: float | None) -> None:
    raise TemporaryError("The store is busy.", retry_after=retry_after)


def test_a_task_on_a_temporary_error_is_rescheduled_no_sooner_than_its_retry_after(monkeypatch):
    scheduled: list[dict] = []

    def retry(**kwargs):
        scheduled.append(kwargs)
        return RuntimeError("rescheduled")

    monkeypatch.setattr(_flaky_task, "retry", retry)
    with pytest.raises(RuntimeError, match="rescheduled"):
        _flaky_task.apply(args=[240.0], throw=True)

    [call] = scheduled
    assert call["countdown"] == 240.0
    assert str(call["exc"]) == "The store is busy."
    assert _flaky_task.max_retries == 3


def test_a_task_that_keeps_failing_gives_up_with_the_error_after_its_retries():
    with pytest.raises(Retry):
        _flaky_task.apply(args=[None], retries=2, throw=True)
    with pytest.raises(TemporaryError, match=r"^The store is busy\.$"):
        _flaky_task.apply(args=[None], retries=3, throw=True)
