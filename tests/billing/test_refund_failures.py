"""A refund Stripe reports failed after we booked it (refund.updated to `failed`, a
`refund_failure` balance transaction): reversed in the ledger once, with new rows, and
reconciliation agrees."""

import threading
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing.models import Charge, LedgerEntry, Refund
from billing.services import reconcile_day, refund_supplier_order
from billing.services.ledger import unbalanced_transactions
from billing.webhooks import handle_refund
from dropship.accounts.models import Notification
from tests.billing.helpers import balance, paid_supplier_order

pytestmark = pytest.mark.django_db


def _booked_refund_that_fails(stripe_sandbox):
    supplier_order = paid_supplier_order(stripe_sandbox)
    stripe_sandbox.revenue_before_refund = balance("PLATFORM_REVENUE")
    refund = refund_supplier_order(
        supplier_order=supplier_order, reason="Damaged", amount=D("7.00")
    )
    assert refund.status == "SUCCEEDED"
    stripe_sandbox.app.settle_refund(refund.stripe_refund_id, status="failed")
    (updated,) = stripe_sandbox.app.events_of("refund.updated")
    assert updated["data"]["object"]["status"] == "failed"
    return supplier_order, refund, updated


def test_a_booked_refund_that_fails_is_reversed_once(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order, refund, updated = _booked_refund_that_fails(stripe_sandbox)
    ledger_rows = LedgerEntry.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        for event in [updated, updated]:
            assert stripe_sandbox.deliver(client, event).status_code == 200

    refund.refresh_from_db()
    assert refund.status == "FAILED"
    assert refund.reversed_at is not None
    assert "failed at the bank after it was booked (expired_or_canceled_card)" in (
        refund.failure_message
    )
    charge = Charge.objects.get()
    assert (charge.status, charge.amount_refunded) == ("SUCCEEDED", D("0.00"))
    reversing = LedgerEntry.objects.filter(kind="REFUND_FAIL")
    assert LedgerEntry.objects.count() > ledger_rows  # appended, nothing rewritten
    assert sum(e.amount for e in reversing if e.account == "STRIPE_CLEARING") == D("7.00")
    # The refund and its reversal cancel out: revenue and the supplier's balance are what they
    # were before the refund.
    assert balance("PLATFORM_REVENUE") == stripe_sandbox.revenue_before_refund
    assert (
        balance(
            "STRIPE_CLEARING",
            supplier_order=supplier_order,
            kind__in=["CHARGE", "FEE", "REFUND", "REFUND_FAIL"],
        )
        == charge.amount
    )
    assert unbalanced_transactions() == {}
    assert Notification.objects.filter(kind="billing.refund_failed").count() == 1

    run = reconcile_day(day=timezone.now().date())
    assert list(run.mismatches.values_list("message", flat=True)) == []


def test_reconciliation_flags_a_refund_failure_the_books_ignore(stripe_sandbox):
    """The refund.updated was lost: Stripe's refund_failure balance transaction is found."""
    _booked_refund_that_fails(stripe_sandbox)

    run = reconcile_day(day=timezone.now().date())

    messages = list(
        run.mismatches.filter(kind="MISSING_IN_LEDGER").values_list("message", flat=True)
    )
    assert len(messages) == 1
    assert "failed at the bank, and our books still count it refunded" in messages[0]


@pytest.mark.django_db(transaction=True)
def test_a_failed_refund_delivered_to_several_workers_is_reversed_once(stripe_sandbox):
    _, refund, updated = _booked_refund_that_fails(stripe_sandbox)
    start = threading.Barrier(3)
    errors = []

    def run() -> None:
        try:
            start.wait()
            with transaction.atomic():  # as the inbox runs a handler
                handle_refund(None, updated)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(type(exc).__name__ == "IntegrityError" for exc in errors), errors
    assert Refund.objects.get(pk=refund.pk).status == "FAILED"
    assert LedgerEntry.objects.filter(kind="REFUND_FAIL", account="STRIPE_CLEARING").count() == 1
    assert Charge.objects.get().amount_refunded == D("0.00")
    assert unbalanced_transactions() == {}
