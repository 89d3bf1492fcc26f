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
