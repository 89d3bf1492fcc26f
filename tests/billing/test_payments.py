from decimal import Decimal as D

import pytest

from billing.models import Charge, LedgerEntry
from billing.selectors import account_balance
from billing.services.ledger import unbalanced_transactions
from orders.models import SupplierOrder
from orders.services.payment import pay_supplier_order
from tests.factories import OrderFactory, RetailerFactory, StoreFactory, SupplierOrderFactory

Account = LedgerEntry.Account
pytestmark = pytest.mark.django_db


def _supplier_order(*, has_payment_terms: bool) -> SupplierOrder:
    retailer = RetailerFactory(has_payment_terms=has_payment_terms)
    order = OrderFactory(store=StoreFactory(retailer=retailer))
    return SupplierOrderFactory(
        order=order,
        status=SupplierOrder.Status.PENDING,
        wholesale_total=D("20.00"),
        shipping_total=D("5.00"),
        platform_fee=D("2.00"),
        commission_percent=D("5.00"),
    )


def test_a_retailer_on_payment_terms_is_trusted_and_the_ledger_records_what_it_owes():
    supplier_order = _supplier_order(has_payment_terms=True)

    result = pay_supplier_order(supplier_order=supplier_order)

    supplier_order.refresh_from_db()
    assert result.is_paid
    assert supplier_order.status == SupplierOrder.Status.PAID
    assert supplier_order.paid_at is not None
    charge = Charge.objects.get(supplier_order=supplier_order)
    assert (charge.method, charge.status, charge.amount) == ("TERMS", "SUCCEEDED", D("27.00"))
    retailer, supplier = supplier_order.order.retailer, supplier_order.supplier
    assert account_balance(
        account=Account.RETAILER_RECEIVABLE, currency="USD", retailer=retailer
    ) == D("27.00")
    # owed to the supplier: 25.00 wholesale + shipping, minus 1.00 commission (5 % of 20.00)
    assert account_balance(
        account=Account.SUPPLIER_PAYABLE, currency="USD", supplier=supplier
    ) == D("-24.00")
    assert account_balance(account=Account.PLATFORM_REVENUE, currency="USD") == D("-3.00")
    assert unbalanced_transactions() == {}


def test_paying_twice_charges_once():
    supplier_order = _supplier_order(has_payment_terms=True)

    pay_supplier_order(supplier_order=supplier_order)
    second = pay_supplier_order(supplier_order=supplier_order)

    assert second.is_paid
    assert Charge.objects.filter(supplier_order=supplier_order).count() == 1
    # 2 legs each: the supplier's gross, the platform fee, the commission
    assert LedgerEntry.objects.filter(supplier_order=supplier_order).count() == 6


def test_without_terms_or_a_card_the_supplier_order_waits_with_a_reason_and_nothing_is_booked():
    supplier_order = _supplier_order(has_payment_terms=False)

    result = pay_supplier_order(supplier_order=supplier_order)

    supplier_order.refresh_from_db()
    assert not result.is_paid
    assert supplier_order.status == SupplierOrder.Status.PAYMENT_FAILED
    assert (
        supplier_order.status_reason
        == "No way to pay yet: add a card on your billing page, or ask us for payment terms."
    )
    assert Charge.objects.count() == 0
    assert LedgerEntry.objects.count() == 0
