"""A new order on payment terms is paid and sent in bulk: one charge and ledger movements per
supplier order, every supplier told, and a query count that does not grow with its lines or
supplier orders."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Charge, LedgerEntry
from billing.services import PaymentError, pay_new_supplier_orders_on_terms
from billing.services.ledger import unbalanced_transactions
from dropship.accounts.models import Notification
from integrations.shopify.mappers import order_from_webhook
from orders.models import Order, OrderEvent, SupplierOrder
from orders.services.intake import receive_store_order
from tests import factories
from tests.orders.pipeline import make_offer, make_supplier, numeric, shopify_order, terms_store

pytestmark = pytest.mark.django_db


def _receive(store, offers, *, order_id=None, quantity=1):
    payload = shopify_order(
        order_id=order_id,
        lines=[(numeric(offer.store_variant_id), offer.variant.sku, quantity) for offer in offers],
    )
    return receive_store_order(store=store, data=order_from_webhook(payload))


def test_each_supplier_order_of_a_terms_order_is_charged_booked_and_announced(
    django_capture_on_commit_callbacks,
):
    store = terms_store()
    suppliers = [make_supplier(), make_supplier(), make_supplier()]
    owners = [factories.SupplierMemberFactory(supplier=supplier) for supplier in suppliers]
    offers = [make_offer(store=store, supplier=supplier) for supplier in suppliers]

    with django_capture_on_commit_callbacks(execute=True):
        result = _receive(store, offers, quantity=2)

    order = Order.objects.get(pk=result.order.pk)
    assert order.status == Order.Status.CONFIRMED
    supplier_orders = list(order.supplier_orders.order_by("supplier_id"))
    assert len(supplier_orders) == 3
    for supplier_order in supplier_orders:
        assert supplier_order.status == SupplierOrder.Status.SENT
        assert supplier_order.paid_at is not None
        assert supplier_order.sent_at is not None
        [charge] = Charge.objects.filter(supplier_order=supplier_order)
        assert (charge.method, charge.status) == (Charge.Method.TERMS, Charge.Status.SUCCEEDED)
        assert charge.amount == supplier_order.total
        kinds = set(
            LedgerEntry.objects.filter(supplier_order=supplier_order).values_list("kind", flat=True)
        )
        assert kinds == {"CHARGE", "FEE", "COMMISSION"}
        events = OrderEvent.objects.filter(supplier_order=supplier_order)
        assert sorted(events.values_list("kind", flat=True)) == ["paid", "reserved", "sent"]
    assert unbalanced_transactions() == {}
    for supplier, owner in zip(suppliers, owners, strict=True):
        assert Notification.objects.filter(supplier=supplier, kind="orders.new").count() == 1
        [message] = [m for m in mail.outbox if owner.user.email in m.to]
        assert sorted(message.to) == sorted([owner.user.email, supplier.contact_email])
        supplier_order = next(so for so in supplier_orders if so.supplier_id == supplier.pk)
        assert supplier_order.number in message.subject
    assert len(mail.outbox) == 3


def test_queries_do_not_grow_with_lines_or_supplier_orders():
    store = terms_store()
    one = [make_offer(store=store)]
    four = [make_offer(store=store) for _ in range(4)]
    _receive(store, one, order_id=1)  # warm caches (fee schedule)

    with CaptureQueriesContext(connection) as single:
        _receive(store, one, order_id=2)
    with CaptureQueriesContext(connection) as split:
        _receive(store, four, order_id=3)

    assert Order.objects.get(store_order_id="gid://shopify/Order/3").supplier_orders.count() == 4
    # on PostgreSQL every line is reserved in one statement: four suppliers cost what one does
    assert len(split.captured_queries) == len(single.captured_queries)


def test_paying_new_supplier_orders_on_terms_refuses_a_card_retailer():
    store = factories.StoreFactory(retailer=factories.RetailerFactory(has_payment_terms=False))
    offer = make_offer(store=store)
    result = _receive(store, [offer])
    [supplier_order] = result.supplier_orders

    with pytest.raises(PaymentError, match="not on payment terms"):
        pay_new_supplier_orders_on_terms(supplier_orders=[supplier_order], retailer=store.retailer)

    assert not Charge.objects.filter(method=Charge.Method.TERMS).exists()
    assert supplier_order.total == Decimal("17.00")  # 10.00 wholesale, 5.00 shipping, 2.00 fee
