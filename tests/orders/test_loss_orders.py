"""Orders at a loss are flagged in the retailer's daily digest (orders/services/losses.py): the
real result as the order page computes it, once per order, and as the retailer chose."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core import mail
from django.utils import timezone

from dropship.accounts.models import Notification, Role
from orders.models import OrderEvent, OrderItem, SupplierOrder
from orders.selectors import get_order_result, list_loss_orders
from orders.services.losses import flag_loss_orders
from orders.services.timeline import EventKind
from orders.tasks import flag_loss_orders_task
from retailers.models import DigestNotice
from retailers.services import notices
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _order(retailer, *, retail, placed_ago=timedelta(hours=3), status=SupplierOrder.Status.SENT):
    """One Dropship line sold at `retail` whose supplier order costs 20.00 + 5.00 + 2.00."""
    order = factories.OrderFactory(
        store=factories.StoreFactory(retailer=retailer), placed_at=timezone.now() - placed_ago
    )
    supplier_order = factories.SupplierOrderFactory(order=order, status=status)
    factories.OrderItemFactory(
        order=order,
        supplier_order=supplier_order,
        variant=factories.VariantFactory(),
        retail_unit_price=D(retail),
        wholesale_unit_price=D("20.00"),
    )
    return order


@pytest.fixture
def retailer():
    retailer = factories.RetailerFactory()
    factories.RetailerMemberFactory(retailer=retailer, role=Role.OWNER, user__email="o@maple.test")
    return retailer


def test_a_loss_goes_to_the_daily_digest_once(retailer, django_capture_on_commit_callbacks):
    loss = _order(retailer, retail="24.99")  # 24.99 − 27.00 = −2.01
    _order(retailer, retail="40.00")  # a profit
    _order(retailer, retail="10.00", placed_ago=timedelta(days=3))  # before the lookback

    with django_capture_on_commit_callbacks(execute=True):
        assert flag_loss_orders_task.apply().get() == 1
        assert flag_loss_orders() == 0  # run twice: flagged once

    assert mail.outbox == []  # a loss waits for the digest unless the retailer chose otherwise
    (notice,) = DigestNotice.objects.filter(retailer=retailer)
    assert notice.kind == "order_loss"
    assert notice.message.startswith(f"Order {loss.number} lost $2.01: the shopper paid $24.99")
    assert OrderEvent.objects.filter(order=loss, kind=EventKind.LOSS).count() == 1
    assert Notification.objects.get(retailer=retailer, kind="order_loss").level == "WARNING"
    with django_capture_on_commit_callbacks(execute=True):
        assert notices.send_notice_digests() == 1
    (email,) = mail.outbox
    assert f"Order {loss.number} lost $2.01" in email.body
    assert f"/retailer/orders/{loss.pk}/" in email.body


def test_the_processing_estimate_can_make_the_loss(retailer):
    retailer.processing_fee_percent = D("2.90")
    retailer.processing_fee_fixed = D("0.30")
    retailer.save(update_fields=["processing_fee_percent", "processing_fee_fixed"])
    order = _order(retailer, retail="27.50")  # 27.50 − 27.00 − (0.80 + 0.30) = −0.60

    ((found, result),) = list_loss_orders(
        since=timezone.now() - timedelta(days=1), until=timezone.now()
    )

    expected = get_order_result(
        retailer=retailer,
        items=OrderItem.objects.filter(order=order),
        supplier_orders=SupplierOrder.objects.filter(order=order),
    )
    assert found == order
    assert result == expected
    assert result.profit == D("-0.60")


def test_cancelled_supplier_orders_and_lines_are_not_a_loss(retailer):
    _order(retailer, retail="5.00", status=SupplierOrder.Status.CANCELLED)

    assert list_loss_orders(since=timezone.now() - timedelta(days=1), until=timezone.now()) == []


def test_a_retailer_who_wants_it_at_once_gets_an_email(
    retailer, django_capture_on_commit_callbacks
):
    notices.set_notice_preferences(retailer=retailer, choices={"order_loss": "IMMEDIATE"})
    loss = _order(retailer, retail="24.99")

    with django_capture_on_commit_callbacks(execute=True):
        assert flag_loss_orders() == 1

    (email,) = mail.outbox
    assert email.subject == f"Order {loss.number} lost $2.01"
    assert not DigestNotice.objects.exists()


def test_the_preferences_page_offers_the_loss_notice_as_a_digest_by_default(retailer):
    rows = {row.kind: row.delivery for row in notices.list_notice_preferences(retailer=retailer)}
    assert rows["order_loss"] == "DIGEST"
    assert rows["order_shipped"] == "IMMEDIATE"


def test_the_supplier_never_sees_the_retailers_loss(retailer, client):
    loss = _order(retailer, retail="24.99")
    flag_loss_orders()
    supplier_order = loss.supplier_orders.get()
    member = factories.SupplierMemberFactory(supplier=supplier_order.supplier)
    client.force_login(member.user)

    page = client.get(f"/supplier/orders/{supplier_order.pk}/")

    assert page.status_code == 200
    assert "lost" not in page.content.decode()
    assert loss.number in page.content.decode()
    assert OrderEvent.objects.filter(order=loss, kind=EventKind.LOSS).exists()
