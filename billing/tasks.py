"""Billing tasks, on the `billing` queue: ids in, one service call, safe to run twice.
Temporary Stripe failures (timeout, 429, 5xx) are rescheduled by the one retry policy
(dropship.core.retry); the idempotency keys make a retry send exactly the same request."""

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from billing import services
from dropship.core.retry import PAYMENT_TASKS, RetryOnTemporaryError
from retailers.models import Retailer


@shared_task(bind=True, acks_late=True, max_retries=PAYMENT_TASKS.max_retries, ignore_result=True)
def retry_failed_payments_task(self, retailer_id: int, retry_same_card: bool = False) -> list[int]:
    """After a retailer's card changed: pay its supplier orders that were waiting.

    Returns the ids of the supplier orders this run paid and hands their orders to the order
    pipeline, which sends them to their suppliers at once (its sweeper would, a minute later).
    A Stripe outage on some of them brings the task back later."""
    # local: billing calling up into orders, the exception pyproject.toml's import contract names
    from orders.tasks import pay_and_dispatch_order_task

    retailer = Retailer.objects.get(pk=retailer_id)
    paid = services.retry_failed_payments(retailer=retailer, retry_same_card=retry_same_card)
    for order_id in sorted({supplier_order.order_id for supplier_order in paid}):
        pay_and_dispatch_order_task.delay(order_id)
    if services.has_payments_awaiting_stripe(retailer=retailer):
        raise self.retry(countdown=PAYMENT_TASKS.delay(self.request.retries))
    return [supplier_order.pk for supplier_order in paid]


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
def issue_monthly_invoices_task() -> int:
    return len(services.issue_monthly_invoices())


@shared_task(ignore_result=True, base=RetryOnTemporaryError, retry_policy=PAYMENT_TASKS)
def reconcile_stripe_task(day: str | None = None) -> int:
    """Reconcile a day (ISO date; yesterday by default)."""
    target = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
    return services.reconcile_day(day=target).pk
