"""Billing tasks, on the `billing` queue: ids in, one service call, safe to run twice.
Temporary Stripe failures (timeout, 429, 5xx) are rescheduled by the one retry policy
(dropship.core.retry); the idempotency keys make a retry send exactly the same request. Paying
held supplier orders again after a card change is the order pipeline's task
(orders.tasks.retry_failed_payments_task), on this queue."""

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from billing import services
from dropship.core.retry import PAYMENT_TASKS, RetryOnTemporaryError


@shared_task(
    acks_late=True, ignore_result=True, base=RetryOnTemporaryError, retry_policy=PAYMENT_TASKS
)
def transfer_payout_task(payout_id: int) -> None:
    services.transfer_payout(payout_id=payout_id)


@shared_task(
    acks_late=True, ignore_result=True, base=RetryOnTemporaryError, retry_policy=PAYMENT_TASKS
)
def reverse_transfer_task(reversal_id: int) -> None:
    services.reverse_transfer(reversal_id=reversal_id)


@shared_task(
    acks_late=True, ignore_result=True, base=RetryOnTemporaryError, retry_policy=PAYMENT_TASKS
)
def submit_refund_task(refund_id: int) -> None:
    services.submit_refund(refund_id=refund_id)


@shared_task(ignore_result=True)
def settle_payouts_task() -> dict:
    return services.settle_payouts()


@shared_task(ignore_result=True)
def refresh_held_accounts_task() -> int:
    """Read again from Stripe the connected accounts whose payouts are held (a lost
    account.updated must not hold a supplier's money)."""
    return services.refresh_held_accounts()


@shared_task(ignore_result=True)
def issue_monthly_invoices_task() -> int:
    return len(services.issue_monthly_invoices())


@shared_task(ignore_result=True, base=RetryOnTemporaryError, retry_policy=PAYMENT_TASKS)
def reconcile_stripe_task(day: str | None = None) -> int:
    """Reconcile a day (ISO date; yesterday by default)."""
    target = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
    return services.reconcile_day(day=target).pk


@shared_task(ignore_result=True)
def enforce_plan_grace_periods_task() -> int:
    return services.plans.enforce_grace_periods()
