"""Daily reconciliation of the ledger, Stripe's balance transactions and the supplier orders."""

from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing.models import ReconciliationMismatch, ReconciliationRun
from billing.services import reconcile_day, refund_supplier_order, schedule_payouts, transfer_payout
from billing.tasks import reconcile_stripe_task
from orders.models import SupplierOrder
from tests import factories
from tests.billing.helpers import paid_supplier_order, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def day_of_business(stripe_sandbox, django_capture_on_commit_callbacks):
    """A card payment, its payout, then a partial refund reversed from the transfer."""
    paid = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    stripe_sandbox.connect_supplier(paid.supplier)
    (payout,) = schedule_payouts()
    transfer_payout(payout_id=payout.pk)
    with django_capture_on_commit_callbacks(execute=True):
        refund_supplier_order(supplier_order=paid, amount=D("3.00"), reason="Scratched")
    return paid


def test_a_day_where_everything_matches_is_clean(day_of_business):
    run = reconcile_day(day=timezone.now().date())

    assert run.status == ReconciliationRun.Status.CLEAN
    assert list(run.mismatches.values_list("message", flat=True)) == []
    # charge, transfer, refund, reversal of the refund's supplier share
    assert run.balance_transactions_checked == 4
    assert run.supplier_orders_checked == 1


def test_a_refund_made_at_stripe_without_a_webhook_is_found(stripe_sandbox, day_of_business):
    paid = day_of_business
    planted = stripe_sandbox.app.refund_in_dashboard(
        paid.charges.get().stripe_charge_id, 250, silent=True
    )

    run = reconcile_day(day=timezone.now().date())

    assert run.status == ReconciliationRun.Status.MISMATCHES
    (mismatch,) = run.mismatches.all()
    assert (mismatch.kind, mismatch.reference, mismatch.actual) == (
        ReconciliationMismatch.Kind.MISSING_IN_LEDGER,
        planted["id"],
        "2.50",
    )
    assert mismatch.message == (
        f"Stripe refunded $2.50 ({planted['id']}) and our books do not have that refund."
    )


def test_supplier_orders_that_disagree_with_their_money_are_found(stripe_sandbox):
    paid = paid_supplier_order(stripe_sandbox)
    never_paid = factories.PayableSupplierOrderFactory()
    SupplierOrder.objects.filter(pk=never_paid.pk).update(status="SHIPPED")
    SupplierOrder.objects.filter(pk=paid.pk).update(status="CANCELLED")

    run = reconcile_day(day=timezone.now().date())

    found = {(m.kind, m.reference): m.message for m in run.mismatches.all()}
    assert found == {
        ("ORDER_STATE", never_paid.number): f"{never_paid.number} is shipped but has no payment.",
        ("ORDER_STATE", paid.number): (
            f"{paid.number} is cancelled but $27.00 of its payment is kept."
        ),
    }


def test_stripe_being_down_fails_the_run_with_the_reason(stripe_sandbox):
    stripe_sandbox.app.add_fault("/v1/balance_transactions", method="GET", status=500)

    run = reconcile_day(day=timezone.now().date())

    assert run.status == ReconciliationRun.Status.FAILED
    assert run.error.startswith("Could not read Stripe's balance transactions: Stripe answered 500")
    assert run.mismatches.count() == 0


def test_the_daily_task_reconciles_the_day_asked_for(stripe_sandbox):
    day = timezone.now().date()
    run_id = reconcile_stripe_task.apply(args=[day.isoformat()]).get()
    assert ReconciliationRun.objects.get(pk=run_id).day == day
