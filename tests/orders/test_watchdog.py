"""The watchdog flags supplier orders that stopped moving, once, for support and the retailer."""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Notification
from orders.models import Shipment, SupplierOrder
from orders.services import watchdog
from tests import factories

pytestmark = pytest.mark.django_db
S = SupplierOrder.Status


def _ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


def test_flags_an_order_not_accepted_within_handling_time_plus_a_day():
    supplier = factories.SupplierFactory(handling_days=2)
    late = factories.make_supplier_order(supplier=supplier, sent_at=_ago(days=3, hours=1))
    on_time = factories.make_supplier_order(supplier=supplier, sent_at=_ago(days=2, hours=23))

    assert watchdog.run_watchdog() == 1

    late.refresh_from_db()
    on_time.refresh_from_db()
    assert late.is_flagged
    assert late.flag_reason == "Not accepted within the supplier's handling time + 24 h."
    assert not on_time.is_flagged
    assert late.events.get(kind="flagged").message.startswith("Flagged for support")
    notification = Notification.objects.get(retailer=late.order.retailer)
    assert notification.kind == "order_flagged"
    assert late.order.number in notification.message


def test_flags_a_shipment_whose_tracking_is_not_in_the_store_after_an_hour():
    stuck = factories.make_supplier_order(status=S.SHIPPED)
    Shipment.objects.create(
        supplier_order=stuck,
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
        shipped_at=_ago(minutes=61),
        push_status=Shipment.PushStatus.PENDING,
    )
    fine = factories.make_supplier_order(status=S.SHIPPED)
    Shipment.objects.create(
        supplier_order=fine,
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
        shipped_at=_ago(hours=5),
        push_status=Shipment.PushStatus.PUSHED,
    )
    recent = factories.make_supplier_order(status=S.SHIPPED)
    Shipment.objects.create(
        supplier_order=recent,
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
        shipped_at=_ago(minutes=10),
        push_status=Shipment.PushStatus.FAILED,
    )

    assert watchdog.run_watchdog() == 1
    assert list(SupplierOrder.objects.filter(is_flagged=True).values_list("pk", "flag_reason")) == [
        (stuck.pk, "Shipped, but the tracking number is not in the store after 1 hour.")
    ]


@pytest.mark.parametrize(
    ("status", "fields", "reason"),
    [
        (S.PENDING, {}, "Stuck: payment pending for over 2 hours."),
        (
            S.PAID,
            {"paid_at": _ago(hours=2), "sent_at": None},
            "Stuck: paid but not sent to the supplier after 1 hour.",
        ),
        (
            S.ACCEPTED,
            {"accepted_at": _ago(days=6)},
            "Stuck: accepted but not shipped within the handling time + 3 days.",
        ),
    ],
)
def test_flags_orders_stuck_in_a_state(status, fields, reason):
    supplier_order = factories.make_supplier_order(status=status, **fields)
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(created_at=_ago(days=1))
    watchdog.run_watchdog()
    supplier_order.refresh_from_db()
    assert (supplier_order.is_flagged, supplier_order.flag_reason) == (True, reason)


def test_running_twice_flags_once_and_a_cleared_flag_waits_a_day():
    supplier_order = factories.make_supplier_order(sent_at=_ago(days=10))
    assert watchdog.run_watchdog() == 1
    assert watchdog.run_watchdog() == 0
    assert supplier_order.events.filter(kind="flagged").count() == 1

    assert watchdog.clear_flag(supplier_order=supplier_order)
    supplier_order.refresh_from_db()
    assert (supplier_order.is_flagged, supplier_order.flag_reason) == (False, "")
    assert watchdog.run_watchdog() == 0  # snoozed after support looked at it
    assert watchdog.run_watchdog(now=timezone.now() + timedelta(days=1, minutes=1)) == 1


def test_support_sees_flags_in_the_admin_and_clears_them(admin_client):
    flagged = factories.make_supplier_order(sent_at=_ago(days=10))
    factories.make_supplier_order()
    watchdog.run_watchdog()

    url = reverse("admin:orders_supplierorder_changelist")
    listing = admin_client.get(url, {"is_flagged__exact": "1"})
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [flagged]
    assert "Not accepted within" in listing.content.decode()

    response = admin_client.post(
        url, {"action": "clear_watchdog_flag", "_selected_action": [flagged.pk]}
    )
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert not flagged.is_flagged
    assert site._registry[SupplierOrder].list_filter[1] == "is_flagged"
