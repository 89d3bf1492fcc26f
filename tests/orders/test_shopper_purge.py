"""Shopper data of finished orders is erased after the retention period, for every store type:
a day before the threshold nothing changes, a day after it is gone; open orders, open returns
and already-erased orders are left alone; the beat task is safe to run twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dropship.core.models import AuditLogEntry
from integrations.models import InboundWebhook
from orders.models import Order, ReturnLine, ReturnRequest, SupplierOrder
from orders.services.shopper_purge import purge_expired_shopper_data
from orders.tasks import purge_shopper_data_task
from retailers.models import Store
from tests import factories

# The Privacy page and the retention job are README flows: they run on SQLite too.
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

PLATFORMS = [Store.Platform.SHOPIFY, Store.Platform.WOOCOMMERCE, Store.Platform.CUSTOM]
NOW = timezone.now()


@pytest.fixture(autouse=True)
def _retention(settings):
    settings.RETURN_WINDOW_DAYS = 30
    settings.SHOPPER_DATA_RETENTION_DAYS = 10
    settings.SHOPPER_DATA_UNDELIVERED_DAYS = 60


def _order(
    platform, *, status, delivered_days_ago=None, shipped_days_ago=None, cancelled_days_ago=None
):
    store = factories.StoreFactory(platform=platform)
    order = factories.OrderFactory(
        store=store,
        status=status,
        shopper_email="bob@example.com",
        cancelled_at=NOW - timedelta(days=cancelled_days_ago) if cancelled_days_ago else None,
    )
    if shipped_days_ago is not None:
        factories.SupplierOrderFactory(
            order=order,
            status=SupplierOrder.Status.DELIVERED
            if delivered_days_ago
            else SupplierOrder.Status.SHIPPED,
            shipped_at=NOW - timedelta(days=shipped_days_ago),
            delivered_at=NOW - timedelta(days=delivered_days_ago) if delivered_days_ago else None,
        )
    return order


def _is_erased(order: Order) -> bool:
    order.refresh_from_db()
    return order.is_redacted and (
        order.shopper_name,
        order.shopper_email,
        order.shipping_address,
    ) == ("", "", None)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_delivered_orders_are_erased_after_the_return_window_and_retention(platform):
    # 30 days return window + 10 days retention = 40 days after delivery.
    kept = _order(
        platform, status=Order.Status.DELIVERED, shipped_days_ago=45, delivered_days_ago=39
    )
    erased = _order(
        platform, status=Order.Status.DELIVERED, shipped_days_ago=45, delivered_days_ago=41
    )

    result = purge_expired_shopper_data(now=NOW)

    assert result.orders == 1
    assert _is_erased(erased)
    assert not _is_erased(kept)
    assert kept.shopper_email == "bob@example.com"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_without_a_delivery_date_the_shipment_or_cancellation_counts(platform):
    shipped_kept = _order(platform, status=Order.Status.SHIPPED, shipped_days_ago=59)
    shipped_erased = _order(platform, status=Order.Status.SHIPPED, shipped_days_ago=61)
    cancelled_kept = _order(platform, status=Order.Status.CANCELLED, cancelled_days_ago=59)
    cancelled_erased = _order(platform, status=Order.Status.CANCELLED, cancelled_days_ago=61)

    assert purge_expired_shopper_data(now=NOW).orders == 2

    assert _is_erased(shipped_erased)
    assert _is_erased(cancelled_erased)
    assert not _is_erased(shipped_kept)
    assert not _is_erased(cancelled_kept)


def test_open_orders_and_open_returns_keep_their_data():
    open_order = _order(
        Store.Platform.WOOCOMMERCE, status=Order.Status.CONFIRMED, shipped_days_ago=400
    )
    returning = _order(
        Store.Platform.CUSTOM,
        status=Order.Status.DELIVERED,
        shipped_days_ago=400,
        delivered_days_ago=399,
    )
    supplier_order = returning.supplier_orders.get()
    item = factories.OrderItemFactory(order=returning, supplier_order=supplier_order)
    return_request = ReturnRequest.objects.create(
        supplier_order=supplier_order,
        number="RMA-1",
        reason_code=ReturnRequest.Reason.DEFECTIVE,
        reason="Broken",
        status=ReturnRequest.Status.SHIPPED_BACK,
        return_tracking_number="1Z999AA10123456784",
    )
    ReturnLine.objects.create(return_request=return_request, order_item=item, quantity=1)

    assert purge_expired_shopper_data(now=NOW).orders == 0
    assert not _is_erased(open_order)
    assert not _is_erased(returning)


def test_batches_cover_every_due_order_and_each_store_gets_an_audit_entry():
    orders = [
        _order(Store.Platform.WOOCOMMERCE, status=Order.Status.CANCELLED, cancelled_days_ago=100)
        for _ in range(5)
    ]

    result = purge_expired_shopper_data(now=NOW, batch_size=2)

    assert result.orders == 5
    assert all(_is_erased(o) for o in orders)
    assert AuditLogEntry.objects.filter(action="privacy.shopper_data_purged").count() == 5


def test_old_processed_webhook_bodies_are_blanked_recent_ones_kept():
    store = factories.StoreFactory(platform=Store.Platform.WOOCOMMERCE)
    old, recent = (
        InboundWebhook.objects.create(
            source="WOOCOMMERCE",
            store=store,
            topic="order.created",
            dedup_key=key,
            body=b'{"billing":{}}',
            status="PROCESSED",
        )
        for key in ("a", "b")
    )
    InboundWebhook.objects.filter(pk=old.pk).update(created_at=NOW - timedelta(days=61))

    assert purge_expired_shopper_data(now=NOW).webhooks == 1
    assert bytes(InboundWebhook.objects.get(pk=old.pk).body) == b""
    assert bytes(InboundWebhook.objects.get(pk=recent.pk).body) == b'{"billing":{}}'


def test_the_beat_task_is_safe_to_run_twice():
    order = _order(Store.Platform.SHOPIFY, status=Order.Status.CANCELLED, cancelled_days_ago=100)

    purge_shopper_data_task()
    purge_shopper_data_task()

    assert _is_erased(order)
    assert AuditLogEntry.objects.filter(action="privacy.shopper_data_purged").count() == 1
