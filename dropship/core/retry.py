"""The one retry policy for calls to the outside (stores, Stripe, suppliers).

A client never waits long inside a worker: it may wait out a short pause (a leaky bucket that
refills within a second, a 429 asking for a second) from its `WaitBudget`, and otherwise raises a
`TemporaryError` carrying `retry_after` seconds. Whoever owns the work reschedules it with
`RetryPolicy.delay()`: Celery tasks through `RetryOnTemporaryError`, the outbox and the inventory
drain through their next-attempt time. One formula, exponential backoff with jitter, never sooner
than the outside system asked.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from celery import Task

from dropship.core.errors import TemporaryError

#: The longest a client waits, in total, inside one call before handing the retry to its caller.
MAX_INLINE_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: about `base`, 2×`base`, 4×`base` ... up to `cap` seconds."""

    base: float
    cap: float
    max_retries: int = 10

    def backoff(self, attempt: int, *, rng: Callable[[], float] = random.random) -> float:
        """Seconds before retry number `attempt` (0 for the first): between half and all of the
        exponential ceiling, so retries of many rows that failed together spread out."""
        ceiling = min(self.cap, self.base * 2 ** max(attempt, 0))
        return ceiling / 2 + rng() * ceiling / 2

    def delay(
        self, attempt: int, *, error: BaseException | None = None, rng=random.random
    ) -> float:
        """The backoff, but never sooner than the error's `retry_after` (capped at `cap`)."""
        asked = getattr(error, "retry_after", None) or 0.0
        return max(self.backoff(attempt, rng=rng), min(float(asked), self.cap))


#: Store calls made by retailer tasks (imports, pushes of listings, re-pricing).
STORE_TASKS = RetryPolicy(base=10, cap=600, max_retries=8)
#: Payments, payouts, refunds and the order pipeline (Stripe, SMTP).
PAYMENT_TASKS = RetryPolicy(base=30, cap=3600, max_retries=10)
#: Outbound pushes (`integrations.OutboundPush`): tracking to stores, orders to suppliers.
OUTBOX = RetryPolicy(base=30, cap=6 * 3600)
#: A store's inventory drain that failed as a whole (down, throttled for long).
INVENTORY_DRAIN = RetryPolicy(base=10, cap=15 * 60)


class WaitBudget:
    """The short waits one client call may still make before it must raise instead.

    `sleep` is injected (time.sleep by default) so tests never wait on the wall clock."""

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        seconds: float = MAX_INLINE_WAIT_SECONDS,
    ) -> None:
        self.sleep = sleep
        self.remaining = seconds

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds` and return True if the budget allows it; otherwise return False at once."""
        seconds = max(0.0, seconds)
        if seconds > self.remaining:
            return False
        self.remaining -= seconds
        self.sleep(seconds)
        return True


def parse_retry_after(headers: Mapping[str, Any], *, default: float) -> float:
    """Seconds from a Retry-After header (delta-seconds; a date or garbage gives `default`)."""
    value = {str(k).lower(): v for k, v in headers.items()}.get("retry-after")
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return default


class RetryOnTemporaryError(Task):
    """Celery task base: a TemporaryError reschedules the task with `retry_policy.delay()`,
    honouring the error's retry_after; after `max_retries` the error propagates. Declare with
    `@shared_task(base=RetryOnTemporaryError, retry_policy=STORE_TASKS, ...)`."""

    abstract = True
    retry_policy: RetryPolicy = PAYMENT_TASKS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "max_retries" not in cls.__dict__:
            cls.max_retries = cls.retry_policy.max_retries

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except TemporaryError as exc:
            # Task.__call__ has popped its own request: self.request is the delivered message's.
            countdown = self.retry_policy.delay(self.request.retries, error=exc)
            raise self.retry(exc=exc, countdown=countdown) from exc
