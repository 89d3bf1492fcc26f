"""Shopify sends orders/paid and orders/updated together, and retries refunds: processed at the
same moment by several workers on PostgreSQL, they route a held order once and cancel a refunded
line once (issue 14, point 5)."""

import contextlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from billing.models import Charge, Refund
from catalog.models import Variant
from integrations.models import InboundWebhook
from integrations.services import process_inbound_webhook
from integrations.shopify.mappers import order_from_webhook
from orders.models import Order, OrderItem, SupplierOrder
from orders.services.intake import receive_store_order
from tests.orders.pipeline import make_offer, make_supplier, numeric, shopify_order, terms_store

pytestmark = pytest.mark.django_db(transaction=True)


def _stored(store, topic: str, payload: dict, event_id: str) -> InboundWebhook:
    return InboundWebhook.objects.create(
        source=InboundWebhook.Source.SHOPIFY,
        store=store,
        topic=topic,
        dedup_key=event_id,
        body=json.dumps(payload).encode(),
    )


def _process_together(webhooks: list[InboundWebhook]) -> None:
    barrier = threading.Barrier(len(webhooks))

    def process(webhook_id: int) -> None:
        try:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=30)
            process_inbound_webhook(webhook_id=webhook_id)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(webhooks)) as pool:
        list(pool.map(process, [webhook.pk for webhook in webhooks]))
    statuses = set(InboundWebhook.objects.values_list("status", flat=True))
    assert statuses == {InboundWebhook.Status.PROCESSED}, InboundWebhook.objects.values_list(
        "last_error", flat=True
    )


def test_paid_and_updated_processed_at_once_route_the_held_order_once():
    store = terms_store()
    offer = make_offer(store=store, stock=5)
    payload = shopify_order(
        lines=[(numeric(offer.store_variant_id), offer.variant.sku, 2)],
        financial_status="pending",
    )
    payload["payment_gateway_names"] = ["Cash on Delivery (COD)"]
    receive_store_order(store=store, data=order_from_webhook(payload))
    assert Order.objects.get().status == Order.Status.AWAITING_PAYMENT
    paid = {**payload, "financial_status": "paid"}
    _process_together(
        [
            _stored(store, "orders/paid", paid, "evt-paid"),
            _stored(store, "orders/updated", paid, "evt-updated-1"),
            _stored(store, "orders/updated", paid, "evt-updated-2"),
        ]
    )
    order = Order.objects.get()
    supplier_order = SupplierOrder.objects.get()
    assert (order.status, supplier_order.status) == (
        Order.Status.CONFIRMED,
        SupplierOrder.Status.SENT,
    )
    assert Charge.objects.filter(supplier_order=supplier_order).count() == 1
    assert Variant.objects.get(pk=offer.variant_id).stock_reserved == 2
    assert order.events.filter(kind="released").count() == 1


def test_one_refund_delivered_twice_at_once_cancels_the_line_once():
    store = terms_store()
    supplier = make_supplier()
    kept = make_offer(store=store, supplier=supplier, stock=5)
    refunded = make_offer(store=store, supplier=supplier, stock=5)
    payload = shopify_order(
        lines=[
            (numeric(kept.store_variant_id), kept.variant.sku, 1),
            (numeric(refunded.store_variant_id), refunded.variant.sku, 2),
        ]
    )
    receive_store_order(store=store, data=order_from_webhook(payload))
    refund = {
        "id": 509562969,
        "order_id": payload["id"],
        "refund_line_items": [
            {
                "id": 104689539,
                "line_item_id": payload["line_items"][1]["id"],
                "quantity": 2,
                "restock_type": "cancel",
            }
        ],
    }
    _process_together(
        [
            _stored(store, "refunds/create", refund, "evt-refund"),
            _stored(store, "refunds/create", refund, "evt-refund-retry"),
        ]
    )
    items = {item.sku: item.status for item in OrderItem.objects.all()}
    assert items == {
        kept.variant.sku: OrderItem.Status.RESERVED,
        refunded.variant.sku: OrderItem.Status.CANCELLED,
    }
    assert Variant.objects.get(pk=refunded.variant_id).stock_reserved == 0
    assert Variant.objects.get(pk=kept.variant_id).stock_reserved == 1
    assert Refund.objects.count() == 1
    assert supplier.notifications.filter(kind="orders.line_cancelled").count() == 1
    assert SupplierOrder.objects.get().status == SupplierOrder.Status.SENT
