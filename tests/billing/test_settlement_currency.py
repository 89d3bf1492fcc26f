"""A platform whose Stripe balance is in another currency than the charge (a CAD charge settled
into a USD balance): Stripe's balance transaction gives the amount and fee in USD with the
exchange rate; the fee is booked in the charge's currency at Stripe's rate, the supplier's
transfer leaves in USD (the balance the charge funded), and reconciliation agrees."""

from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing.models import Charge, LedgerEntry, Payout
from billing.services import reconcile_day, schedule_payouts, transfer_payout
from billing.services.ledger import unbalanced_transactions
from tests.billing.helpers import balance, paid_supplier_order, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def usd_platform(stripe_sandbox):
    stripe_sandbox.app.settlement_currency = "usd"
    stripe_sandbox.app.exchange_rates["cad"] = 0.73
    return stripe_sandbox


def test_a_charge_settled_in_another_currency_books_stripes_fee_at_its_rate(usd_platform):
    supplier_order = paid_supplier_order(usd_platform, currency="CAD")

    charge = Charge.objects.get()
    (txn,) = [
        t for t in usd_platform.app.objects_of("balance_transaction") if t["type"] == "charge"
    ]
    assert (txn["currency"], txn["amount"], txn["exchange_rate"]) == ("usd", 1971, 0.73)
    assert (charge.currency, charge.amount) == ("CAD", D("27.00"))
    assert (charge.settlement_currency, charge.settlement_amount) == ("USD", D("19.71"))
    assert charge.settlement_fee == D(txn["fee"]) / 100 == D("0.87")
    assert charge.stripe_fee == D("1.19")  # 0.87 USD / 0.73, in the charge's currency
    fees = LedgerEntry.objects.filter(kind="STRIPE_FEE", account="STRIPE_FEES")
    assert [(e.amount, e.currency) for e in fees] == [(D("1.19"), "CAD")]
    assert balance("STRIPE_CLEARING", supplier_order=supplier_order) == D("25.81")
    assert unbalanced_transactions() == {}

    run = reconcile_day(day=timezone.now().date())
    assert list(run.mismatches.values_list("message", flat=True)) == []


def test_the_suppliers_transfer_leaves_in_the_currency_the_charge_settled_in(usd_platform):
    supplier_order = ship(paid_supplier_order(usd_platform, currency="CAD"))
    usd_platform.connect_supplier(supplier_order.supplier)
    (payout,) = schedule_payouts()

    transfer_payout(payout_id=payout.pk, now=payout.available_at)

    payout = Payout.objects.get()
    assert payout.status == "PAID", payout.status_reason
    (transfer,) = usd_platform.app.objects_of("transfer")
    owed = payout.amount
    assert payout.currency == "CAD"
    assert (transfer["currency"], transfer["amount"]) == ("usd", int(owed * D("0.73") * 100))
    assert (payout.transfer_currency, payout.transfer_amount) == (
        "USD",
        D(transfer["amount"]) / 100,
    )
    transfers = LedgerEntry.objects.filter(kind="TRANSFER", account="SUPPLIER_PAYABLE")
    assert [(e.amount, e.currency) for e in transfers] == [(owed, "CAD")]
    assert unbalanced_transactions() == {}

    run = reconcile_day(day=timezone.now().date())
    assert list(run.mismatches.values_list("message", flat=True)) == []
