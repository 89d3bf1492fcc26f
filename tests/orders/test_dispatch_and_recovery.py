"""Dispatch over the supplier's channels, and recovery from a worker killed mid-pipeline."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from integrations.models import InboundWebhook, OutboundPush
from integrations.services import send_outbound_push, sweep_inbound_webhooks
from integrations.signatures import sign_body as sign_payload
from orders import tasks
from orders.models import Order, SupplierOrder
from orders.services.routing import sweep_undispatched_supplier_orders
from tests import factories
from tests.integrations.helpers import post_shopify
from tests.orders.pipeline import (
    body,
    make_offer,
    make_supplier,
    numeric,
    shopify_order,
    terms_store,
)

# A README flow: `make test` runs it on SQLite as well.
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


class _Receiver(BaseHTTPRequestHandler):
    answers: list[int]
    received: list[tuple[dict, bytes]]

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        raw = self.rfile.read(length)
        self.server.received.append((dict(self.headers), raw))
        status = self.server.answers.pop(0) if self.server.answers else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received, server.answers = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _order(client, capture, store, offer, quantity=1):
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, quantity)])
    with capture(execute=True):
        post_shopify(client, body(payload), topic="orders/create", shop=store.domain)
    return Order.objects.get(store=store, store_order_id=f"gid://shopify/Order/{payload['id']}")


def test_webhook_supplier_gets_a_signed_post_retried_after_a_500(
    client, django_capture_on_commit_callbacks, receiver
):
    supplier = make_supplier(
        order_channel="WEBHOOK",
        webhook_url=f"http://127.0.0.1:{receiver.server_port}/orders",
        webhook_secret="supplier-secret",
    )
    store = terms_store()
    offer = make_offer(store=store, supplier=supplier)
    receiver.answers = [500]
    order = _order(client, django_capture_on_commit_callbacks, store, offer, quantity=2)
    supplier_order = order.supplier_orders.get()
    assert supplier_order.status == SupplierOrder.Status.SENT
    push = OutboundPush.objects.get(supplier_order=supplier_order)
    assert push.kind == OutboundPush.Kind.SUPPLIER_ORDER_WEBHOOK
    assert push.status == OutboundPush.Status.PENDING  # the 500: to be retried
    assert push.attempts == 1
    assert push.last_response_status == 500
    # the outbox's first backoff (dropship.core.retry.OUTBOX): 15-30 s, less the time elapsed
    assert timedelta(seconds=14) < push.next_attempt_at - timezone.now() <= timedelta(seconds=30)

    OutboundPush.objects.filter(pk=push.pk).update(next_attempt_at=timezone.now())
    send_outbound_push(push_id=push.pk)
    push.refresh_from_db()
    assert push.status == OutboundPush.Status.SUCCEEDED
    assert push.attempts == 2
    assert len(receiver.received) == 2
    headers, raw = receiver.received[-1]
    assert headers["X-Dropship-Signature"] == sign_payload(raw, "supplier-secret")
    assert headers["X-Dropship-Event"] == "order.created"
    sent = json.loads(raw)
    assert sent["supplier_order"]["number"] == supplier_order.number
    assert sent["supplier_order"]["items"][0]["quantity"] == 2
    assert sent["supplier_order"]["items"][0]["sku"] == offer.variant.sku
    assert sent["supplier_order"]["ship_to"]["city"] == "Louisville"


def test_email_supplier_gets_the_order_with_a_branded_packing_slip(
    client, django_capture_on_commit_callbacks
):
    supplier = make_supplier(order_channel="EMAIL", order_email="orders@supplier.example")
    store = terms_store()
    store.retailer.brand_name = "Shopper Brand"
    store.retailer.save()
    offer = make_offer(store=store, supplier=supplier)
    order = _order(client, django_capture_on_commit_callbacks, store, offer)
    supplier_order = order.supplier_orders.get()
    assert supplier_order.status == SupplierOrder.Status.SENT
    [message] = [m for m in mail.outbox if m.to == ["orders@supplier.example"]]
    assert supplier_order.number in message.subject
    name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")
    assert name == f"packing-slip-{supplier_order.number}.pdf"


def test_paid_but_never_dispatched_supplier_order_is_picked_up_by_the_sweeper(
    django_capture_on_commit_callbacks,
):
    """A card retailer's order commits with its supplier order PENDING; the worker that should
    pay and dispatch it dies (the message is lost). The sweeper pays and dispatches it once."""
    from integrations.shopify.mappers import order_from_webhook
    from orders.services.intake import receive_store_order

    store = factories.StoreFactory()
    offer = make_offer(store=store)
    data = order_from_webhook(
        shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    )
    lost_message = mock.patch.object(tasks.pay_and_dispatch_order_task, "delay")
    with lost_message, django_capture_on_commit_callbacks(execute=True):
        result = receive_store_order(store=store, data=data)
    supplier_order = result.order.supplier_orders.get()
    assert supplier_order.status == SupplierOrder.Status.PENDING
    # The retailer gets payment terms meanwhile; five minutes pass.
    store.retailer.has_payment_terms = True
    store.retailer.save()
    later = timezone.now() + timedelta(minutes=6)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_undispatched_supplier_orders(now=later) == 1
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.SENT
    with django_capture_on_commit_callbacks(execute=True):
        sweep_undispatched_supplier_orders(now=later)
        tasks.pay_and_dispatch_order_task.delay(result.order.pk)  # a duplicate message
    assert supplier_order.events.filter(kind="sent").count() == 1
    assert supplier_order.charges.count() == 1


def test_worker_killed_mid_order_leaves_nothing_and_the_inbox_sweeper_replays_it(
    client, django_capture_on_commit_callbacks
):
    """The handler's transaction holds reservation to dispatch: a worker killed inside it
    commits nothing and leaves the event PROCESSING; the sweeper runs it again, once."""
    store = terms_store()
    offer = make_offer(store=store, stock=3)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    from integrations import tasks as integration_tasks

    lost_message = mock.patch.object(integration_tasks.process_inbound_webhook_task, "delay")
    with lost_message, django_capture_on_commit_callbacks(execute=True):
        post_shopify(client, body(payload), topic="orders/create", shop=store.domain)
    webhook = InboundWebhook.objects.get()
    # What a worker killed during processing leaves behind: claimed, nothing else committed.
    InboundWebhook.objects.filter(pk=webhook.pk).update(
        status=InboundWebhook.Status.PROCESSING,
        attempts=1,
        updated_at=timezone.now() - timedelta(minutes=5),
    )
    assert Order.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_inbound_webhooks() == 1
    webhook.refresh_from_db()
    assert webhook.status == InboundWebhook.Status.PROCESSED
    order = Order.objects.get()
    assert order.supplier_orders.get().status == SupplierOrder.Status.SENT
    offer.variant.refresh_from_db()
    assert offer.variant.stock_reserved == 1


def test_cancelling_a_webhook_suppliers_order_sends_a_signed_cancellation(
    client, django_capture_on_commit_callbacks, receiver
):
    from orders.services.cancellation import cancel_supplier_order

    supplier = make_supplier(
        order_channel="WEBHOOK",
        webhook_url=f"http://127.0.0.1:{receiver.server_port}/orders",
        webhook_secret="supplier-secret",
    )
    store = terms_store()
    offer = make_offer(store=store, supplier=supplier, stock=4)
    order = _order(client, django_capture_on_commit_callbacks, store, offer, quantity=3)
    supplier_order = order.supplier_orders.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert cancel_supplier_order(supplier_order=supplier_order, reason="Shopper cancelled.")
        assert not cancel_supplier_order(supplier_order=supplier_order, reason="again")
    offer.variant.refresh_from_db()
    assert offer.variant.stock_reserved == 0
    headers, raw = receiver.received[-1]
    assert headers["X-Dropship-Event"] == "order.cancelled"
    assert headers["X-Dropship-Signature"] == sign_payload(raw, "supplier-secret")
    assert json.loads(raw)["reason"] == "Shopper cancelled."
    assert OutboundPush.objects.filter(supplier_order=supplier_order).count() == 2
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.CANCELLED


def test_card_retailer_is_charged_through_stripe_after_commit_then_dispatched(
    client, django_capture_on_commit_callbacks, stripe_sandbox
):
    retailer = stripe_sandbox.save_card(factories.RetailerMemberFactory().retailer)
    store = factories.StoreFactory(retailer=retailer)
    offer = make_offer(store=store, stock=5)
    order = _order(client, django_capture_on_commit_callbacks, store, offer, quantity=1)
    supplier_order = order.supplier_orders.get()
    assert supplier_order.status == SupplierOrder.Status.SENT
    (intent,) = stripe_sandbox.app.payment_intents()
    assert intent["status"] == "succeeded"
    assert intent["metadata"]["supplier_order"] == supplier_order.number
    charge = supplier_order.charges.get()
    assert (charge.method, charge.status) == ("CARD", "SUCCEEDED")
    assert list(order.events.values_list("kind", flat=True)) == [
        "received",
        "reserved",
        "paid",
        "sent",
    ]
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
