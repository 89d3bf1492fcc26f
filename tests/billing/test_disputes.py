"""A dispute opened by the retailer's bank freezes the supplier order's payout until it closes;
a lost dispute is booked like a refund (and taken back from the supplier if already paid)."""

from decimal import Decimal as D

import pytest

from billing.models import LedgerEntry, Payout, Refund, TransferReversal
from billing.services import schedule_payouts, transfer_payout
from billing.services.ledger import unbalanced_transactions
from orders.models import Dispute
from tests.billing.helpers import balance, paid_supplier_order, ship

Account = LedgerEntry.Account
pytestmark = pytest.mark.django_db


@pytest.fixture
def due_payout(stripe_sandbox):
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    (payout,) = schedule_payouts()
    return payout


def _deliver_new(stripe_sandbox, client, callbacks, *types):
    with callbacks(execute=True):
        for event in stripe_sandbox.app.events_of(*types):
            assert stripe_sandbox.deliver(client, event).status_code == 200


def test_an_open_dispute_freezes_the_payout_until_it_is_won(
    client, stripe_sandbox, due_payout, django_capture_on_commit_callbacks
):
    charge = due_payout.supplier_order.charges.get()
    dispute = stripe_sandbox.app.open_dispute(charge.stripe_charge_id, reason="fraudulent")
    _deliver_new(
        stripe_sandbox, client, django_capture_on_commit_callbacks, "charge.dispute.created"
    )

    due_payout.refresh_from_db()
    assert due_payout.status == "HELD"
    assert due_payout.status_reason == (
        f"Frozen while the retailer's bank disputes the payment ({dispute['id']}); released "
        "when the dispute closes."
    )
    transfer_payout(payout_id=due_payout.pk)
    assert stripe_sandbox.app.objects_of("transfer") == []
    assert balance(Account.STRIPE_FEES) == D("16.08")  # 1.08 on the charge + 15.00 dispute fee

    stripe_sandbox.app.close_dispute(dispute["id"], status="won")
    _deliver_new(
        stripe_sandbox, client, django_capture_on_commit_callbacks, "charge.dispute.closed"
    )

    due_payout.refresh_from_db()
    row = Dispute.objects.get()
    assert (row.status, row.amount, row.reason) == ("WON", D("27.00"), "fraudulent")
    assert (due_payout.status, due_payout.amount) == ("PAID", D("24.00"))
    assert len(stripe_sandbox.app.objects_of("transfer")) == 1
    assert Refund.objects.count() == 0


def test_a_lost_dispute_before_payout_is_booked_as_a_chargeback_and_nothing_is_paid(
    client, stripe_sandbox, due_payout, django_capture_on_commit_callbacks
):
    charge = due_payout.supplier_order.charges.get()
    dispute = stripe_sandbox.app.open_dispute(charge.stripe_charge_id)
    stripe_sandbox.app.close_dispute(dispute["id"], status="lost")

    _deliver_new(
        stripe_sandbox,
        client,
        django_capture_on_commit_callbacks,
        "charge.dispute.created",
        "charge.dispute.closed",
    )

    refund = Refund.objects.get()
    assert (refund.source, refund.amount, refund.stripe_refund_id) == (
        "CHARGEBACK",
        D("27.00"),
        None,
    )
    assert refund.reason == f"Chargeback {dispute['id']} lost (fraudulent)"
    due_payout.refresh_from_db()
    assert (due_payout.status, due_payout.amount) == ("CANCELLED", D("0.00"))
    assert stripe_sandbox.app.objects_of("transfer") == []
    assert balance(Account.SUPPLIER_PAYABLE) == D("0.00")
    assert balance(Account.STRIPE_CLEARING) == D("-16.08")  # the fees are the platform's loss
    assert unbalanced_transactions() == {}


def test_a_dispute_lost_after_payout_takes_the_suppliers_share_back(
    client, stripe_sandbox, due_payout, django_capture_on_commit_callbacks
):
    transfer_payout(payout_id=due_payout.pk)
    charge = due_payout.supplier_order.charges.get()
    dispute = stripe_sandbox.app.open_dispute(charge.stripe_charge_id)
    _deliver_new(
        stripe_sandbox, client, django_capture_on_commit_callbacks, "charge.dispute.created"
    )
    due_payout.refresh_from_db()
    assert due_payout.status == "PAID"  # already transferred: nothing left to freeze

    stripe_sandbox.app.close_dispute(dispute["id"], status="lost")
    _deliver_new(
        stripe_sandbox, client, django_capture_on_commit_callbacks, "charge.dispute.closed"
    )

    reversal = TransferReversal.objects.get()
    assert (reversal.status, reversal.amount) == ("SUCCEEDED", D("24.00"))
    assert Payout.objects.get().status == "REVERSED"
    assert balance(Account.SUPPLIER_PAYABLE) == D("0.00")
    assert unbalanced_transactions() == {}
