"""Leases on claimed inbox and outbox rows: a dead worker's row is handed on once its lease
lapses, a live worker keeps it, and the claim's attempt number decides whose outcome counts."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from dropship.core.leases import held_lease
from integrations import services
from integrations.models import InboundWebhook, OutboundPush
from orders.models import Order, SupplierOrder
from tests.orders.pipeline import body, make_offer, numeric, shopify_order, terms_store

pytestmark = pytest.mark.django_db


def _order_webhook(stock: int = 3):
    store = terms_store()
    offer = make_offer(store=store, stock=stock)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    webhook = InboundWebhook.objects.create(
        source=InboundWebhook.Source.SHOPIFY,
        store=store,
        topic="orders/create",
        dedup_key=f"event-{payload['id']}",
        body=body(payload),
    )
    return webhook, offer


def _lapse(model, pk) -> None:
    model.objects.filter(pk=pk).update(lease_until=timezone.now() - timedelta(seconds=1))


def test_a_claimed_event_is_not_swept_while_its_lease_runs_and_is_once_it_lapsed(
    django_capture_on_commit_callbacks,
):
    webhook, offer = _order_webhook()
    assert services._claim(webhook.pk) == 1  # a worker took it, then died
    webhook.refresh_from_db()
    assert webhook.status == InboundWebhook.Status.PROCESSING
    assert webhook.lease_until > timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_inbound_webhooks() == 0
    assert services._claim(webhook.pk) is None  # nor can another worker take it yet

    _lapse(InboundWebhook, webhook.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_inbound_webhooks() == 1
    webhook.refresh_from_db()
    assert (webhook.status, webhook.attempts, webhook.lease_until) == (
        InboundWebhook.Status.PROCESSED,
        2,
        None,
    )
    assert Order.objects.count() == 1
    offer.variant.refresh_from_db()
    assert offer.variant.stock_reserved == 1


def test_an_event_whose_message_was_lost_is_swept_after_thirty_seconds_not_two_minutes(
    django_capture_on_commit_callbacks,
):
    webhook, _offer = _order_webhook()
    now = timezone.now()
    InboundWebhook.objects.filter(pk=webhook.pk).update(updated_at=now - timedelta(seconds=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_inbound_webhooks(now=now) == 0
    InboundWebhook.objects.filter(pk=webhook.pk).update(updated_at=now - timedelta(seconds=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_inbound_webhooks(now=now) == 1
    webhook.refresh_from_db()
    assert webhook.status == InboundWebhook.Status.PROCESSED


def test_a_worker_that_lost_its_lease_has_its_outcome_and_handler_work_rolled_back():
    """Worker A claims, stalls past its lease; worker B takes the event over. A then runs the
    handler to the end: its order is rolled back with its refused outcome, B's counts."""
    webhook, offer = _order_webhook()
    first = services._claim(webhook.pk)
    _lapse(InboundWebhook, webhook.pk)
    second = services._claim(webhook.pk)
    assert (first, second) == (1, 2)

    stalled = services._process_claimed(webhook.pk, first)
    assert stalled.status == InboundWebhook.Status.PROCESSING  # A's outcome was refused
    assert Order.objects.count() == 0  # and the order A created went with it
    offer.variant.refresh_from_db()
    assert offer.variant.stock_reserved == 0

    services._process_claimed(webhook.pk, second)
    webhook.refresh_from_db()
    assert (webhook.status, webhook.attempts) == (InboundWebhook.Status.PROCESSED, 2)
    order = Order.objects.get()
    assert order.supplier_orders.get().status == SupplierOrder.Status.SENT
    offer.variant.refresh_from_db()
    assert offer.variant.stock_reserved == 1


def _push(**fields) -> OutboundPush:
    return OutboundPush.objects.create(
        kind="TEST_LEASE_KIND",
        idempotency_key=f"lease-test-{time.monotonic_ns()}",
        next_attempt_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def recording_sender():
    sent: list[int] = []

    def sender(push: OutboundPush) -> None:
        sent.append(push.attempts)

    services.SENDERS["TEST_LEASE_KIND"] = sender
    yield sent
    services.SENDERS.pop("TEST_LEASE_KIND", None)


def test_a_sending_push_is_resent_only_once_its_workers_lease_lapsed(
    django_capture_on_commit_callbacks, recording_sender
):
    push = _push()
    assert services._claim_push(push.pk) == 1  # a worker took it, then died mid-call
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_outbound_pushes() == 0
    assert recording_sender == []

    _lapse(OutboundPush, push.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_outbound_pushes() == 1
    push.refresh_from_db()
    assert (push.status, push.attempts, push.lease_until) == (
        OutboundPush.Status.SUCCEEDED,
        2,
        None,
    )
    assert recording_sender == [2]


def test_a_push_taken_over_keeps_the_new_workers_outcome(recording_sender):
    push = _push()
    first = services._claim_push(push.pk)
    _lapse(OutboundPush, push.pk)
    taken_over = services.send_outbound_push(push_id=push.pk)  # worker B sends it
    assert taken_over.status == OutboundPush.Status.SUCCEEDED

    # Worker A wakes up and would write "failed": the row no longer carries its claim.
    stale = OutboundPush.objects.filter(
        pk=push.pk, status=OutboundPush.Status.SENDING, attempts=first
    )
    assert stale.update(status=OutboundPush.Status.FAILED, last_error="late") == 0
    push.refresh_from_db()
    assert (push.status, push.attempts, push.last_error) == (
        OutboundPush.Status.SUCCEEDED,
        2,
        "",
    )


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_renews_its_lease_so_nobody_takes_its_row(settings):
    settings.WORK_LEASE_SECONDS = 0.6
    push = _push()
    assert services._claim_push(push.pk) == 1
    push.refresh_from_db()
    claimed_until = push.lease_until
    claimed = OutboundPush.objects.filter(
        pk=push.pk, status=OutboundPush.Status.SENDING, attempts=1
    )
    with held_lease(claimed):
        deadline = time.monotonic() + 20  # a bound on waiting, not a timing assertion
        renewals = set()
        while len(renewals) < 3 and time.monotonic() < deadline:
            renewals.add(OutboundPush.objects.values_list("lease_until", flat=True).get())
            time.sleep(0.05)
        assert services._claim_push(push.pk) is None  # still ours: not claimable
    assert len(renewals) == 3
    assert min(renewals) >= claimed_until
