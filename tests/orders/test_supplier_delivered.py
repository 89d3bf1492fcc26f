"""Suppliers report delivery through the API or their own webhook (no tracking provider needed)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from dropship.accounts.services import create_api_key
from integrations.models import InboundWebhook
from integrations.signatures import sign_body
from orders.models import Order, Shipment, SupplierOrder, TrackingEvent
from orders.services import fulfilment
from suppliers.models import Supplier
from tests import factories
from tests.problems import problem

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
UPS = "1Z999AA10123456784"
BASE = "/api/v1/supplier/orders"
SECRET = "supplier-webhook-secret"


@pytest.fixture
def supplier():
    """A supplier on the WEBHOOK channel (its system may also call the API)."""
    channel = {"webhook_url": "https://erp.example.com/dropship", "webhook_secret": SECRET}
    return factories.SupplierFactory(order_channel=Supplier.OrderChannel.WEBHOOK, **channel)


@pytest.fixture
def auth(supplier):
    key = create_api_key(organisation=supplier, name="ERP", created_by=None)[1]
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def _shipped(supplier):
    order = factories.OrderFactory(store=factories.StoreFactory(platform="CUSTOM"))
    supplier_order = factories.make_supplier_order(supplier=supplier, order=order)
    fulfilment.ship_supplier_order(
        supplier_order=supplier_order, carrier="UPS", tracking_number=UPS
    )
    return supplier_order


def test_the_api_reports_delivery_and_a_repeat_changes_nothing(client, supplier, auth):
    supplier_order = _shipped(supplier)
    shipped_at = Shipment.objects.get(supplier_order=supplier_order).shipped_at
    when = (shipped_at + timedelta(minutes=1)).replace(microsecond=0)

    first = client.post(
        f"{BASE}/{supplier_order.pk}/delivered",
        {"delivered_at": when.isoformat()},
        content_type="application/json",
        **auth,
    )
    again = client.post(
        f"{BASE}/{supplier_order.pk}/delivered", {}, content_type="application/json", **auth
    )

    assert first.status_code == 200
    assert first.json()["status"] == "DELIVERED"
    assert again.status_code == 200
    supplier_order.refresh_from_db()
    assert (supplier_order.status, supplier_order.delivered_at) == ("DELIVERED", when)
    order = Order.objects.get(pk=supplier_order.order_id)
    assert (order.status, order.delivered_at) == ("DELIVERED", when)
    (scan,) = TrackingEvent.objects.all()
    assert (scan.source, scan.status) == ("SUPPLIER", "DELIVERED")
    assert order.events.filter(kind="carrier_scan").count() == 1


def test_the_api_refuses_an_order_not_shipped_a_future_time_and_another_suppliers_order(
    client, supplier, auth
):
    unshipped = factories.make_supplier_order(supplier=supplier)
    answer = client.post(
        f"{BASE}/{unshipped.pk}/delivered", {}, content_type="application/json", **auth
    )
    assert answer.status_code == 409
    assert problem(answer)["detail"] == (
        f"Order {unshipped.number} has not shipped yet, so it cannot be delivered."
    )

    shipped = _shipped(supplier)
    future = (timezone.now() + timedelta(days=1)).isoformat()
    answer = client.post(
        f"{BASE}/{shipped.pk}/delivered",
        {"delivered_at": future},
        content_type="application/json",
        **auth,
    )
    assert answer.status_code == 400
    assert problem(answer) == {
        "detail": "The delivery time is in the future.",
        "field": "delivered_at",
    }
    unknown_parcel = client.post(
        f"{BASE}/{shipped.pk}/delivered",
        {"tracking_number": "1Z999AA10123456793"},
        content_type="application/json",
        **auth,
    )
    assert unknown_parcel.status_code == 404

    foreign = _shipped(factories.SupplierFactory())
    assert (
        client.post(
            f"{BASE}/{foreign.pk}/delivered", {}, content_type="application/json", **auth
        ).status_code
        == 404
    )
    assert SupplierOrder.objects.filter(status="DELIVERED").count() == 0
    assert not TrackingEvent.objects.exists()


def test_the_supplier_webhook_reports_delivery(
    client, supplier, django_capture_on_commit_callbacks
):
    supplier_order = _shipped(supplier)
    body = json.dumps(
        {
            "id": "evt_9",
            "event": "order.delivered",
            "order_number": supplier_order.number,
            "tracking_number": UPS,
        }
    ).encode()

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            f"/webhooks/supplier/{supplier.slug}/",
            data=body,
            content_type="application/json",
            HTTP_X_DROPSHIP_SIGNATURE=sign_body(body, SECRET),
        )

    assert answer.status_code == 200
    assert InboundWebhook.objects.get(topic="order.delivered").status == "PROCESSED"
    assert Shipment.objects.get(supplier_order=supplier_order).tracking_status == "DELIVERED"
    assert SupplierOrder.objects.get(pk=supplier_order.pk).status == "DELIVERED"


def test_a_supplier_webhook_with_a_bad_time_is_kept_failed_with_the_reason(
    client, supplier, django_capture_on_commit_callbacks
):
    supplier_order = _shipped(supplier)
    body = json.dumps(
        {
            "event": "order.delivered",
            "order_number": supplier_order.number,
            "delivered_at": "yesterday",
        }
    ).encode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/webhooks/supplier/{supplier.slug}/",
            data=body,
            content_type="application/json",
            HTTP_X_DROPSHIP_SIGNATURE=sign_body(body, SECRET),
        )

    webhook = InboundWebhook.objects.get(topic="order.delivered")
    assert webhook.status == "FAILED"
    assert "ISO 8601" in webhook.last_error
    assert SupplierOrder.objects.get(pk=supplier_order.pk).status == "SHIPPED"
