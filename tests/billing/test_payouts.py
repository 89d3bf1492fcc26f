"""Supplier payouts: scheduled when a paid order ships, transferred after the holdback with one
Stripe transfer per order, held without a connected account or during a dispute, released after."""

import threading
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import LedgerEntry, Payout
from billing.services import (
    StripeTemporaryError,
    refund_supplier_order,
    schedule_payouts,
    settle_payouts,
    transfer_payout,
)
from billing.services.ledger import unbalanced_transactions
from dropship.accounts.models import Notification
from tests import factories
from tests.billing.helpers import balance, paid_supplier_order, ship

Account = LedgerEntry.Account
pytestmark = pytest.mark.django_db


def _transfers(stripe_sandbox):
    return stripe_sandbox.app.objects_of("transfer")


def test_a_paid_order_that_shipped_gets_a_payout_due_after_the_holdback(stripe_sandbox, settings):
    settings.PAYOUT_HOLDBACK_DAYS = 7
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=2)
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    factories.PayableSupplierOrderFactory(status="SHIPPED", shipped_at=timezone.now())  # unpaid

    (payout,) = schedule_payouts()
    assert schedule_payouts() == []  # once per supplier order

    assert (payout.status, payout.amount, payout.currency) == ("SCHEDULED", D("24.00"), "USD")
    assert payout.available_at == supplier_order.shipped_at + timedelta(days=7)
    assert payout.transfer_group == supplier_order.number
    transfer_payout(payout_id=payout.pk)  # not due yet
    payout.refresh_from_db()
    assert payout.status == "SCHEDULED"
    assert _transfers(stripe_sandbox) == []

    transfer_payout(payout_id=payout.pk, now=payout.available_at)

    payout.refresh_from_db()
    (transfer,) = _transfers(stripe_sandbox)
    account = supplier_order.supplier.connected_account
    assert (transfer["amount"], transfer["currency"], transfer["destination"]) == (
        2400,
        "usd",
        account.stripe_account_id,
    )
    assert transfer["transfer_group"] == supplier_order.number
    assert transfer["source_transaction"] == supplier_order.charges.get().stripe_charge_id
    assert (payout.status, payout.stripe_transfer_id) == ("PAID", transfer["id"])
    transfer_calls = [c for c in stripe_sandbox.app.calls if c.path == "/v1/transfers"]
    assert [c.idempotency_key for c in transfer_calls] == [f"payout-{payout.pk}"]
    assert balance(Account.SUPPLIER_PAYABLE, supplier=supplier_order.supplier) == D("0.00")
    assert balance(Account.STRIPE_CLEARING) == D("1.92")  # 27.00 − 1.08 Stripe fee − 24.00
    assert unbalanced_transactions() == {}


def test_the_beat_job_transfers_due_payouts_through_the_task(
    stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    stripe_sandbox.connect_supplier(supplier_order.supplier)

    with django_capture_on_commit_callbacks(execute=True):
        counts = settle_payouts()
    with django_capture_on_commit_callbacks(execute=True):
        again = settle_payouts()

    assert (counts["scheduled"], counts["due"]) == (1, 1)
    assert (again["scheduled"], again["due"]) == (0, 0)
    assert Payout.objects.get().status == "PAID"
    assert len(_transfers(stripe_sandbox)) == 1
    notice = Notification.objects.get(supplier=supplier_order.supplier, kind="billing.payout_paid")
    assert notice.message == f"$24.00 transferred for {supplier_order.number}."


def test_transferring_twice_makes_one_transfer(stripe_sandbox):
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    (payout,) = schedule_payouts()

    transfer_payout(payout_id=payout.pk)
    transfer_payout(payout_id=payout.pk)

    assert len(_transfers(stripe_sandbox)) == 1
    assert LedgerEntry.objects.filter(kind="TRANSFER").count() == 2  # one movement, two legs


@pytest.mark.django_db(transaction=True)
def test_concurrent_transfers_of_one_payout_make_one_transfer(stripe_sandbox):
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    (payout,) = schedule_payouts()
    start = threading.Barrier(5)
    errors = []

    def run() -> None:
        try:
            start.wait()
            transfer_payout(payout_id=payout.pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(_transfers(stripe_sandbox)) == 1
    assert balance(Account.SUPPLIER_PAYABLE) == D("0.00")


def test_stripe_down_leaves_the_payout_scheduled_and_the_retry_transfers_once(stripe_sandbox):
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    (payout,) = schedule_payouts()
    stripe_sandbox.app.add_fault("/v1/transfers", status=500, after=True)

    with pytest.raises(StripeTemporaryError):
        transfer_payout(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == "SCHEDULED"
    assert LedgerEntry.objects.filter(kind="TRANSFER").count() == 0

    transfer_payout(payout_id=payout.pk)

    payout.refresh_from_db()
    assert payout.status == "PAID"
    assert len(_transfers(stripe_sandbox)) == 1


def test_a_supplier_without_a_connected_account_is_held_with_the_reason_then_released(
    stripe_sandbox, client, django_capture_on_commit_callbacks
):
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    supplier = supplier_order.supplier
    (payout,) = schedule_payouts()

    transfer_payout(payout_id=payout.pk)

    payout.refresh_from_db()
    assert payout.status == "HELD"
    assert payout.status_reason == (
        "No Stripe account to pay into: set up payouts on your billing page."
    )
    assert _transfers(stripe_sandbox) == []
    assert Notification.objects.filter(supplier=supplier, kind="billing.payout_held").count() == 1

    stripe_sandbox.connect_supplier(supplier, complete=False)  # started, details not given
    settle_payouts()
    payout.refresh_from_db()
    assert payout.status == "HELD"
    assert payout.status_reason.startswith("Stripe needs more details before paying you (")

    import requests

    from billing.services import start_payout_onboarding

    link = start_payout_onboarding(
        supplier=supplier, return_url="http://x.test/r", refresh_url="http://x.test/f"
    )
    requests.post(link, data={"business_name": "S"}, allow_redirects=False, timeout=10)
    (event,) = stripe_sandbox.app.events_of("account.updated")
    with django_capture_on_commit_callbacks(execute=True):
        assert stripe_sandbox.deliver(client, event).status_code == 200

    payout.refresh_from_db()
    supplier.refresh_from_db()
    assert supplier.payouts_enabled is True
    assert (payout.status, payout.amount) == ("PAID", D("24.00"))
    assert len(_transfers(stripe_sandbox)) == 1


def test_stripe_refusing_the_transfer_fails_the_payout_with_its_reason(stripe_sandbox):
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    account = stripe_sandbox.connect_supplier(supplier_order.supplier)
    # Stripe disables the account, and its account.updated has not reached us yet.
    stripe_sandbox.app.require_details(account.stripe_account_id, ["external_account"])
    (payout,) = schedule_payouts()

    transfer_payout(payout_id=payout.pk)

    payout.refresh_from_db()
    assert payout.status == "FAILED"
    assert payout.status_reason == (
        "Stripe refused the transfer: Your destination account needs to have at least one of "
        "the following capabilities enabled: transfers, crypto_transfers, legacy_payments"
    )
    assert LedgerEntry.objects.filter(kind="TRANSFER").count() == 0


def test_a_refund_before_the_payout_lowers_it_and_a_full_refund_cancels_it(stripe_sandbox):
    first = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    second = ship(paid_supplier_order(stripe_sandbox, retailer=first.order.retailer), days_ago=8)
    stripe_sandbox.connect_supplier(first.supplier)
    stripe_sandbox.connect_supplier(second.supplier)
    refund_supplier_order(supplier_order=first, amount=D("10.00"), reason="Damaged")
    refund_supplier_order(supplier_order=second, reason="Never arrived")
    payouts = {p.supplier_order_id: p for p in schedule_payouts()}

    for payout in payouts.values():
        transfer_payout(payout_id=payout.pk)

    lowered, cancelled = (Payout.objects.get(pk=payouts[so.pk].pk) for so in (first, second))
    # 24.00 − (10.00 of wholesale less the 0.50 commission returned on it)
    assert (lowered.status, lowered.amount) == ("PAID", D("14.50"))
    assert (cancelled.status, cancelled.amount) == ("CANCELLED", D("0.00"))
    assert cancelled.status_reason == "Nothing left to pay: the order was refunded."
    assert [t["amount"] for t in _transfers(stripe_sandbox)] == [1450]
    assert unbalanced_transactions() == {}


def test_a_lost_transfer_answer_then_a_refund_keeps_the_transfer_and_reverses_the_difference(
    stripe_sandbox, django_capture_on_commit_callbacks
):
    """Stripe made the transfer but the answer was lost; a refund then lowered what is owed. The
    retry's new amount meets Stripe's idempotency check: the existing transfer is found and
    booked, and the difference is reversed, so the supplier is never paid twice."""
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    (payout,) = schedule_payouts()
    stripe_sandbox.app.add_fault("/v1/transfers", status=502, after=True)
    with pytest.raises(StripeTemporaryError):
        transfer_payout(payout_id=payout.pk)
    refund_supplier_order(supplier_order=supplier_order, amount=D("4.00"), reason="Scuffed")

    with django_capture_on_commit_callbacks(execute=True):
        transfer_payout(payout_id=payout.pk)

    payout.refresh_from_db()
    (transfer,) = _transfers(stripe_sandbox)
    assert (payout.status, payout.amount, payout.stripe_transfer_id) == (
        "PAID",
        D("24.00"),
        transfer["id"],
    )
    # 4.00 of wholesale less the 0.20 commission on it comes back from the 24.00 transfer
    assert (transfer["amount"], transfer["amount_reversed"]) == (2400, 380)
    assert payout.amount_reversed == D("3.80")
    assert balance(Account.SUPPLIER_PAYABLE) == D("0.00")
    assert unbalanced_transactions() == {}


def _terms_order_shipped(stripe_sandbox):
    """A supplier order paid on payment terms (no Stripe charge to transfer from), shipped."""
    from orders.services.payment import pay_supplier_order
    from tests.billing.helpers import supplier_order_for

    retailer = factories.RetailerFactory(has_payment_terms=True)
    supplier_order = supplier_order_for(retailer)
    assert pay_supplier_order(supplier_order=supplier_order).is_paid
    supplier_order = ship(supplier_order, days_ago=8)
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    return supplier_order


def test_a_transfer_refused_for_a_short_balance_is_retried_later_not_failed(stripe_sandbox):
    """Without a source charge a transfer needs the platform's available balance; Stripe's
    `balance_insufficient` is temporary: the payout waits, says why and when, and goes later."""
    _terms_order_shipped(stripe_sandbox)
    (payout,) = schedule_payouts()
    now = timezone.now()

    transfer_payout(payout_id=payout.pk, now=now)

    payout.refresh_from_db()
    assert (payout.status, payout.transfer_attempts) == ("SCHEDULED", 1)
    assert payout.retry_at == now + timedelta(minutes=15)
    assert payout.status_reason.startswith(
        "Waiting for funds in the platform's Stripe balance; next try at "
    )
    assert "(try 1). Stripe said: You have insufficient available funds" in payout.status_reason
    assert settle_payouts(now=now + timedelta(minutes=14))["due"] == 0  # not before retry_at
    transfer_payout(payout_id=payout.pk, now=payout.retry_at)  # still short: waits longer
    payout.refresh_from_db()
    assert (payout.transfer_attempts, payout.retry_at) == (2, now + timedelta(minutes=45))
    assert _transfers(stripe_sandbox) == []

    stripe_sandbox.app.top_up(10000)
    assert settle_payouts(now=payout.retry_at)["due"] == 1
    transfer_payout(payout_id=payout.pk, now=payout.retry_at)

    payout.refresh_from_db()
    assert (payout.status, payout.status_reason, payout.retry_at) == ("PAID", "", None)
    (transfer,) = _transfers(stripe_sandbox)
    assert (transfer["amount"], transfer["source_transaction"]) == (2400, None)
    assert unbalanced_transactions() == {}
