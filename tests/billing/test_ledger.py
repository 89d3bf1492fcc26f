from decimal import Decimal as D

import pytest
from django.db import IntegrityError, connection, transaction

from billing.models import LedgerEntry
from billing.selectors import account_balance
from billing.services import Leg, UnbalancedMovement, record_movement
from billing.services.ledger import unbalanced_transactions
from tests.factories import RetailerFactory, SupplierFactory

Account = LedgerEntry.Account
pytestmark = pytest.mark.django_db


def test_a_balanced_movement_is_written_as_legs_that_sum_to_zero():
    retailer, supplier = RetailerFactory(), SupplierFactory()
    transaction_id = record_movement(
        kind=LedgerEntry.Kind.CHARGE,
        currency="USD",
        legs=[
            Leg(Account.RETAILER_RECEIVABLE, D("27.00"), retailer=retailer),
            Leg(Account.SUPPLIER_PAYABLE, D("-25.00"), supplier=supplier),
            Leg(Account.PLATFORM_REVENUE, D("-2.00")),
        ],
    )
    rows = list(LedgerEntry.objects.filter(transaction_id=transaction_id).order_by("id"))
    assert [(r.account, r.amount) for r in rows] == [
        ("RETAILER_RECEIVABLE", D("27.00")),
        ("SUPPLIER_PAYABLE", D("-25.00")),
        ("PLATFORM_REVENUE", D("-2.00")),
    ]
    assert account_balance(
        account=Account.RETAILER_RECEIVABLE, currency="USD", retailer=retailer
    ) == D("27.00")
    assert account_balance(
        account=Account.SUPPLIER_PAYABLE, currency="USD", supplier=supplier
    ) == D("-25.00")
    assert unbalanced_transactions() == {}


def test_an_unbalanced_movement_is_refused_and_nothing_is_written():
    with pytest.raises(UnbalancedMovement, match=r"sum to 0\.01 USD"):
        record_movement(
            kind=LedgerEntry.Kind.FEE,
            currency="USD",
            legs=[
                Leg(Account.STRIPE_CLEARING, D("2.01")),
                Leg(Account.PLATFORM_REVENUE, D("-2.00")),
            ],
        )
    assert LedgerEntry.objects.count() == 0


def test_the_database_refuses_an_unbalanced_transaction_written_behind_the_service():
    savepoint = transaction.savepoint()
    LedgerEntry.objects.create(
        kind="FEE", account=Account.PLATFORM_REVENUE, amount=D("-2.00"), currency="USD"
    )
    # The check is deferred to COMMIT; make it run now.
    with pytest.raises(IntegrityError, match="does not balance"), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    transaction.savepoint_rollback(savepoint)
    assert LedgerEntry.objects.count() == 0


@pytest.mark.parametrize(
    "statement", ["UPDATE billing_ledgerentry SET amount = 0", "DELETE FROM billing_ledgerentry"]
)
def test_ledger_rows_are_append_only_in_the_database(statement):
    record_movement(
        kind=LedgerEntry.Kind.FEE,
        currency="USD",
        legs=[Leg(Account.STRIPE_CLEARING, D("2.00")), Leg(Account.PLATFORM_REVENUE, D("-2.00"))],
    )
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert sorted(LedgerEntry.objects.values_list("amount", flat=True)) == [D("-2.00"), D("2.00")]


def test_every_kind_of_money_movement_is_written_as_legs_that_sum_to_zero(
    stripe_sandbox, django_capture_on_commit_callbacks
):
    """Charge, platform fee, commission, Stripe fee, transfer, refund, reversal and a refund that
    failed at the bank: the whole
    life of a card-paid supplier order, each movement balanced on its own."""
    from collections import defaultdict

    from billing.services import refund_supplier_order, schedule_payouts, transfer_payout
    from tests.billing.helpers import paid_supplier_order, ship

    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    (payout,) = schedule_payouts()
    transfer_payout(payout_id=payout.pk)
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_supplier_order(
            supplier_order=supplier_order, amount=D("12.00"), reason="Part"
        )
    assert account_balance(account=Account.SUPPLIER_PAYABLE, currency="USD") == D("0.00")
    # The bank sends the refund back later: reversed with REFUND_FAIL rows, and the supplier,
    # whose share was taken back from its transfer, is owed that share again.
    from billing.webhooks import handle_refund

    stripe_sandbox.app.settle_refund(refund.stripe_refund_id, status="failed")
    handle_refund(None, stripe_sandbox.app.events_of("refund.updated")[-1])

    per_transaction = defaultdict(lambda: D("0"))
    kinds = defaultdict(set)
    for entry in LedgerEntry.objects.all():
        per_transaction[entry.transaction_id] += entry.amount
        kinds[entry.kind].add(entry.transaction_id)
    # plan revenue (SUBSCRIPTION) is not an order's: tests/billing/test_plans.py books it
    assert set(kinds) == set(LedgerEntry.Kind.values) - {"SUBSCRIPTION"}
    assert {tid: total for tid, total in per_transaction.items() if total} == {}
    assert {kind: len(tids) for kind, tids in kinds.items()} == {
        "CHARGE": 1,
        "FEE": 1,
        "COMMISSION": 2,  # kept on the charge, returned on the refund
        "STRIPE_FEE": 1,
        "TRANSFER": 1,
        "REFUND": 1,
        "REVERSAL": 1,
        "REFUND_FAIL": 2,  # the refund's and the commission's movements, reversed
    }
    assert unbalanced_transactions() == {}
    assert account_balance(account=Account.SUPPLIER_PAYABLE, currency="USD") == -refund.supplier_net


@pytest.mark.django_db
def test_several_movements_are_written_together_or_not_at_all():
    from billing.services.ledger import Movement, record_movements

    good = Movement(
        kind=LedgerEntry.Kind.FEE,
        currency="USD",
        legs=[
            Leg(Account.RETAILER_RECEIVABLE, D("2.00")),
            Leg(Account.PLATFORM_REVENUE, D("-2.00")),
        ],
    )
    bad = Movement(
        kind=LedgerEntry.Kind.COMMISSION,
        currency="USD",
        legs=[Leg(Account.SUPPLIER_PAYABLE, D("1.00")), Leg(Account.PLATFORM_REVENUE, D("-0.99"))],
    )
    with pytest.raises(UnbalancedMovement, match=r"COMMISSION legs sum to 0\.01 USD"):
        record_movements(movements=[good, bad])
    assert LedgerEntry.objects.count() == 0

    first, second = record_movements(movements=[good, good])
    assert first != second
    assert LedgerEntry.objects.filter(transaction_id=first).count() == 2
    assert unbalanced_transactions() == {}
