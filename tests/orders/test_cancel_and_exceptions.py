"""Store cancellations and the retailer's choices for an out-of-stock line."""

import pytest
from django.db import transaction

from billing.models import Charge, Refund
from catalog.models import Variant
from integrations.models import InboundWebhook
from orders.models import Order, OrderItem, SupplierOrder
from orders.services.exceptions import (
    OrderItemActionError,
    cancel_item,
    retry_waiting_items,
    substitute_item,
    wait_for_stock,
)
from tests.integrations.helpers import post_shopify, woo_headers
from tests.orders.pipeline import (
    body,
    make_offer,
    make_supplier,
    numeric,
    shopify_order,
    terms_store,
    woo_order,
)

pytestmark = pytest.mark.django_db


def _post(client, capture, store, payload, topic="orders/create"):
    with capture(execute=True):
        post_shopify(client, body(payload), topic=topic, shop=store.domain)


def test_shopify_cancellation_releases_stock_refunds_and_tells_the_supplier(
    client, django_capture_on_commit_callbacks
):
    store = terms_store()
    dashboard_supplier = make_supplier()
    a = make_offer(store=store, supplier=dashboard_supplier, stock=5)
    b = make_offer(store=store, stock=5)
    payload = shopify_order(
        lines=[
            (numeric(a.store_variant_id), a.variant.sku, 2),
            (numeric(b.store_variant_id), b.variant.sku, 1),
        ]
    )
    _post(client, django_capture_on_commit_callbacks, store, payload)
    order = Order.objects.get()
    shipped = order.supplier_orders.get(supplier=b.variant.supplier)
    shipped.status = SupplierOrder.Status.SHIPPED  # fulfilment (issue 7b) shipped this one
    shipped.save()
    payload["cancelled_at"] = "2026-12-03T10:00:00-05:00"
    payload["cancel_reason"] = "customer"
    _post(client, django_capture_on_commit_callbacks, store, payload, topic="orders/cancelled")
    assert set(InboundWebhook.objects.values_list("status", flat=True)) == {"PROCESSED"}
    cancelled = order.supplier_orders.get(supplier=dashboard_supplier)
    assert cancelled.status == SupplierOrder.Status.CANCELLED
    assert Variant.objects.get(pk=a.variant_id).stock_reserved == 0
    assert Variant.objects.get(pk=b.variant_id).stock_reserved == 1  # shipped: left for returns
    shipped.refresh_from_db()
    assert shipped.status == SupplierOrder.Status.SHIPPED
    refund = Refund.objects.get(supplier_order=cancelled)
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.amount == cancelled.total
    assert Charge.objects.get(supplier_order=cancelled).status == Charge.Status.REFUNDED
    assert dashboard_supplier.notifications.filter(kind="orders.cancelled").count() == 1
    assert order.events.filter(kind="cancelled", supplier_order=cancelled).exists()
    order.refresh_from_db()
    assert order.cancelled_at is not None
    # The same cancellation again changes nothing.
    payload_again = dict(payload)
    with django_capture_on_commit_callbacks(execute=True):
        post_shopify(client, body(payload_again), topic="orders/cancelled", shop=store.domain)
    assert Refund.objects.count() == 1
    assert Variant.objects.get(pk=a.variant_id).stock_reserved == 0


def test_woocommerce_cancelled_status_cancels_the_order(client, django_capture_on_commit_callbacks):
    store = terms_store(platform="WOOCOMMERCE", domain="shop.example.com", webhook_secret="wc-s")
    offer = make_offer(store=store, store_variant_id="23", stock=4)
    for status in ("processing", "cancelled"):
        raw = body(woo_order(order_id=900, lines=[(22, 23, offer.variant.sku, 2)], status=status))
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                f"/webhooks/woocommerce/{store.public_id}/",
                data=raw,
                content_type="application/json",
                **woo_headers(raw, topic="order.updated", secret="wc-s"),
            )
    order = Order.objects.get()
    assert order.status == Order.Status.CANCELLED
    assert Variant.objects.get(pk=offer.variant_id).stock_reserved == 0


def _exception_order(client, capture, *, stock=0):
    store = terms_store()
    offer = make_offer(store=store, stock=stock)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 2)])
    _post(client, capture, store, payload)
    order = Order.objects.get()
    return store, offer, order, order.items.get()


def test_wait_retries_the_line_when_stock_returns(client, django_capture_on_commit_callbacks):
    _store, offer, order, item = _exception_order(client, django_capture_on_commit_callbacks)
    assert item.status == OrderItem.Status.EXCEPTION
    with django_capture_on_commit_callbacks(execute=True):
        item = wait_for_stock(item=item)
    assert item.is_waiting_for_stock
    assert item.status == OrderItem.Status.EXCEPTION
    assert retry_waiting_items() == 0
    Variant.objects.filter(pk=offer.variant_id).update(stock_on_hand=5)  # restocked
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_waiting_items() == 1
    item.refresh_from_db()
    assert item.status == OrderItem.Status.RESERVED
    assert item.supplier_order.status == SupplierOrder.Status.SENT
    assert Variant.objects.get(pk=offer.variant_id).stock_reserved == 2
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert retry_waiting_items() == 0  # twice: nothing doubled


def test_substitute_routes_another_suppliers_variant(client, django_capture_on_commit_callbacks):
    store, offer, order, item = _exception_order(client, django_capture_on_commit_callbacks)
    other = make_offer(store=store, stock=3, wholesale="12.00")
    with pytest.raises(OrderItemActionError):
        substitute_item(item=item, variant_id=offer.variant_id)  # the one out of stock
    with django_capture_on_commit_callbacks(execute=True):
        item = substitute_item(item=item, variant_id=other.variant_id)
    assert item.status == OrderItem.Status.RESERVED
    assert item.variant_id == other.variant_id
    supplier_order = item.supplier_order
    assert supplier_order.supplier_id == other.variant.supplier_id
    assert supplier_order.status == SupplierOrder.Status.SENT
    assert supplier_order.wholesale_total == 24
    assert Variant.objects.get(pk=other.variant_id).stock_reserved == 2
    assert order.events.filter(kind="substituted").exists()


def test_substitute_with_too_little_stock_changes_nothing(
    client, django_capture_on_commit_callbacks
):
    store, offer, _order, item = _exception_order(client, django_capture_on_commit_callbacks)
    scarce = make_offer(store=store, stock=1)
    with pytest.raises(OrderItemActionError), transaction.atomic():
        substitute_item(item=item, variant_id=scarce.variant_id)
    item.refresh_from_db()
    assert item.status == OrderItem.Status.EXCEPTION
    assert item.variant_id == offer.variant_id
    assert Variant.objects.get(pk=scarce.variant_id).stock_reserved == 0


def test_cancel_exception_line_and_routed_line(client, django_capture_on_commit_callbacks):
    store = terms_store()
    ok = make_offer(store=store, stock=5)
    other = make_offer(store=store, supplier=ok.variant.supplier, stock=5)
    missing = make_offer(store=store, stock=0)
    payload = shopify_order(
        lines=[
            (numeric(ok.store_variant_id), ok.variant.sku, 1),
            (numeric(other.store_variant_id), other.variant.sku, 1),
            (numeric(missing.store_variant_id), missing.variant.sku, 1),
        ]
    )
    _post(client, django_capture_on_commit_callbacks, store, payload)
    order = Order.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        cancel_item(item=order.items.get(variant=missing.variant), reason="Not coming back")
        routed = cancel_item(item=order.items.get(variant=ok.variant), reason="Shopper changed")
    assert routed.status == OrderItem.Status.CANCELLED
    assert Variant.objects.get(pk=ok.variant_id).stock_reserved == 0
    assert Refund.objects.get(order_item=routed).amount == 10
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED  # the remaining line is with the supplier
    with pytest.raises(OrderItemActionError):
        cancel_item(item=routed)


def test_cancellation_that_overtakes_its_order_waits_for_it(
    client, django_capture_on_commit_callbacks
):
    from unittest import mock

    from integrations import tasks as integration_tasks
    from integrations.services import process_inbound_webhook

    store = terms_store()
    offer = make_offer(store=store, stock=5)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    lost = mock.patch.object(integration_tasks.process_inbound_webhook_task, "delay")
    with lost, django_capture_on_commit_callbacks(execute=True):
        post_shopify(client, body(payload), topic="orders/create", shop=store.domain)
        payload["cancelled_at"] = "2026-12-03T10:00:00-05:00"
        post_shopify(client, body(payload), topic="orders/cancelled", shop=store.domain)
    create, cancel = InboundWebhook.objects.order_by("pk")
    process_inbound_webhook(webhook_id=cancel.pk)
    cancel.refresh_from_db()
    assert cancel.status == InboundWebhook.Status.RECEIVED  # to be retried
    assert "not been processed yet" in cancel.last_error
    with django_capture_on_commit_callbacks(execute=True):
        process_inbound_webhook(webhook_id=create.pk)
        process_inbound_webhook(webhook_id=cancel.pk)
    order = Order.objects.get()
    assert order.status == Order.Status.CANCELLED
    assert Variant.objects.get(pk=offer.variant_id).stock_reserved == 0


def test_waited_line_of_a_supplier_already_sent_goes_in_a_second_part(
    client, django_capture_on_commit_callbacks
):
    store = terms_store()
    supplier = make_supplier()
    plenty = make_offer(store=store, supplier=supplier, stock=5)
    scarce = make_offer(store=store, supplier=supplier, stock=0)
    payload = shopify_order(
        lines=[
            (numeric(plenty.store_variant_id), plenty.variant.sku, 1),
            (numeric(scarce.store_variant_id), scarce.variant.sku, 1),
        ]
    )
    _post(client, django_capture_on_commit_callbacks, store, payload)
    order = Order.objects.get()
    first = order.supplier_orders.get()
    assert (first.part, first.status) == (1, "SENT")
    late = order.items.get(variant=scarce.variant)
    with django_capture_on_commit_callbacks(execute=True):
        wait_for_stock(item=late)
    Variant.objects.filter(pk=scarce.variant_id).update(stock_on_hand=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_waiting_items() == 1
    parts = list(order.supplier_orders.order_by("part").values_list("part", "number", "status"))
    assert parts == [(1, first.number, "SENT"), (2, f"{first.number}-2", "SENT")]
    first.refresh_from_db()
    assert first.wholesale_total == 10  # what the supplier already had is unchanged
    assert first.items.count() == 1
