"""Processing: claimed once, failures kept and retried by the sweeper, replay, outbound pushes."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dropship.core.errors import PermanentError, TemporaryError
from integrations import services
from integrations.models import InboundWebhook, OutboundPush
from integrations.tasks import process_inbound_webhook_task, sweep_inbound_webhooks_task
from integrations.webhooks.handlers import HANDLERS
from tests import factories


def _stored(topic="orders/create", body=b'{"id": 1}', dedup="evt-1", **extra):
    return InboundWebhook.objects.create(
        source="SHOPIFY",
        topic=topic,
        dedup_key=dedup,
        body=body,
        store=factories.StoreFactory(),
        **extra,
    )


@pytest.fixture
def flaky(monkeypatch):
    """orders/create fails temporarily `failures` times, then succeeds."""
    state = {"failures": 1, "calls": 0}

    def handler(webhook, payload):
        state["calls"] += 1
        if state["calls"] <= state["failures"]:
            raise TemporaryError("the store answered 503")

    monkeypatch.setitem(HANDLERS["SHOPIFY"], "orders/create", handler)
    return state


def _age(webhook, minutes=5):
    InboundWebhook.objects.filter(pk=webhook.pk).update(
        updated_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_event_survives_a_temporary_failure_and_the_sweeper_retries_it(
    db, flaky, django_capture_on_commit_callbacks
):
    webhook = _stored()
    services.process_inbound_webhook(webhook_id=webhook.pk)
    webhook.refresh_from_db()
    assert (webhook.status, webhook.attempts) == ("RECEIVED", 1)
    assert webhook.last_error == "Temporary failure (attempt 1): the store answered 503"
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_inbound_webhooks_task() == 0  # too recent to sweep yet
    _age(webhook)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_inbound_webhooks_task() == 1
    webhook.refresh_from_db()
    assert (webhook.status, webhook.attempts, webhook.last_error) == ("PROCESSED", 2, "")
    assert webhook.processed_at is not None
    assert flaky["calls"] == 2


def test_event_left_processing_by_a_dead_worker_is_picked_up_again(
    db, flaky, django_capture_on_commit_callbacks
):
    flaky["failures"] = 0
    webhook = _stored(status="PROCESSING", attempts=1)
    process_inbound_webhook_task(webhook.pk)  # still held by the (dead) worker: not run
    assert flaky["calls"] == 0
    _age(webhook)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_inbound_webhooks_task()
    webhook.refresh_from_db()
    assert (webhook.status, webhook.attempts, flaky["calls"]) == ("PROCESSED", 2, 1)


def test_task_run_twice_processes_once(db, flaky):
    flaky["failures"] = 0
    webhook = _stored()
    process_inbound_webhook_task(webhook.pk)
    process_inbound_webhook_task(webhook.pk)
    webhook.refresh_from_db()
    assert (webhook.status, webhook.attempts, flaky["calls"]) == ("PROCESSED", 1, 1)


def test_permanent_failure_is_recorded_and_not_swept(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    def handler(webhook, payload):
        raise PermanentError("Order 1 has no line items")

    monkeypatch.setitem(HANDLERS["SHOPIFY"], "orders/create", handler)
    webhook = _stored()
    services.process_inbound_webhook(webhook_id=webhook.pk)
    _age(webhook)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_inbound_webhooks_task() == 0
    webhook.refresh_from_db()
    assert (webhook.status, webhook.attempts, webhook.last_error) == (
        "FAILED",
        1,
        "Order 1 has no line items",
    )


def test_topic_without_handler_fails_visibly_and_can_be_replayed(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    webhook = _stored(topic="products/update")
    services.process_inbound_webhook(webhook_id=webhook.pk)
    webhook.refresh_from_db()
    assert webhook.status == "FAILED"
    assert webhook.last_error.startswith(
        "No handler is registered for Shopify topic 'products/update'"
    )
    seen = []
    monkeypatch.setitem(HANDLERS["SHOPIFY"], "products/update", lambda w, p: seen.append(p))
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_webhook_for_replay(webhook=webhook)
    webhook.refresh_from_db()
    assert (webhook.status, webhook.attempts, webhook.last_error, seen) == (
        "PROCESSED",
        2,
        "",
        [{"id": 1}],
    )


def test_handler_changes_roll_back_when_it_fails(db, monkeypatch):
    store = factories.StoreFactory(name="Before")

    def handler(webhook, payload):
        type(store).objects.filter(pk=store.pk).update(name="Half-written")
        raise PermanentError("boom")

    monkeypatch.setitem(HANDLERS["SHOPIFY"], "orders/create", handler)
    webhook = _stored()
    services.process_inbound_webhook(webhook_id=webhook.pk)
    store.refresh_from_db()
    assert store.name == "Before"


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_process_the_same_event_at_once(monkeypatch):
    calls = []
    others_done = threading.Semaphore(0)

    def slow(webhook, payload):
        calls.append(threading.get_ident())
        # Hold the event until the three other workers have tried it (bounded, never a guess).
        for _ in range(3):
            assert others_done.acquire(timeout=30)

    monkeypatch.setitem(HANDLERS["SHOPIFY"], "orders/create", slow)
    webhook = _stored()
    barrier = threading.Barrier(4)

    def work():
        try:
            barrier.wait()
            services.process_inbound_webhook(webhook_id=webhook.pk)
        finally:
            connection.close()
            if threading.get_ident() not in calls:
                others_done.release()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    webhook.refresh_from_db()
    assert (len(calls), webhook.status, webhook.attempts) == (1, "PROCESSED", 1)


# --- outbound pushes ---------------------------------------------------------------------------
@pytest.fixture
def sender(monkeypatch):
    outcomes = []
    sent = []

    def send(push):
        sent.append(push.payload)
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome

    monkeypatch.setitem(services.SENDERS, OutboundPush.Kind.STORE_ORDER_NOTE, send)
    return outcomes, sent


def test_outbound_push_is_sent_once_per_idempotency_key(
    db, sender, django_capture_on_commit_callbacks
):
    _, sent = sender
    with django_capture_on_commit_callbacks(execute=True):
        push = services.create_outbound_push(
            kind="STORE_ORDER_NOTE", idempotency_key="note-1", payload={"text": "hi"}
        )
        again = services.create_outbound_push(
            kind="STORE_ORDER_NOTE", idempotency_key="note-1", payload={"text": "hi"}
        )
    push.refresh_from_db()
    assert (again.pk, push.status, push.attempts, sent) == (
        push.pk,
        "SUCCEEDED",
        1,
        [{"text": "hi"}],
    )


def test_outbound_push_backs_off_then_fails_after_max_attempts(
    db, sender, django_capture_on_commit_callbacks
):
    outcomes, sent = sender
    outcomes += [TemporaryError("503"), TemporaryError("503"), TemporaryError("timeout")]
    with django_capture_on_commit_callbacks(execute=True):
        push = services.create_outbound_push(
            kind="STORE_ORDER_NOTE", idempotency_key="note-2", payload={"text": "x"}, max_attempts=3
        )
    push.refresh_from_db()
    assert (push.status, push.attempts, push.last_error) == ("PENDING", 1, "503")
    delay = push.next_attempt_at - timezone.now()
    assert timedelta(seconds=14) < delay <= timedelta(seconds=30)  # 15-30 s, less elapsed time
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_outbound_pushes() == 0  # not due yet
    for expected_attempt in (2, 3):
        OutboundPush.objects.filter(pk=push.pk).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert services.sweep_outbound_pushes() == 1
        push.refresh_from_db()
        assert push.attempts == expected_attempt
    assert (push.status, push.last_error, len(sent)) == ("FAILED", "timeout", 3)


def test_outbound_push_permanent_error_stops_at_once(
    db, sender, django_capture_on_commit_callbacks
):
    outcomes, _ = sender
    outcomes.append(PermanentError("order not found in store"))
    with django_capture_on_commit_callbacks(execute=True):
        push = services.create_outbound_push(kind="STORE_ORDER_NOTE", idempotency_key="note-3")
    push.refresh_from_db()
    assert (push.status, push.attempts, push.last_error) == (
        "FAILED",
        1,
        "order not found in store",
    )


def test_backoff_grows_exponentially_and_is_capped():
    for attempts, ceiling in [(1, 30), (2, 60), (5, 480), (30, 6 * 3600)]:
        delay = services.backoff_delay(attempts).total_seconds()
        assert ceiling / 2 <= delay <= ceiling


def test_replaying_a_webhook_that_is_still_waiting_is_refused_with_a_catchable_error(db):
    from integrations.models import InboundWebhook
    from integrations.services import WebhookReplayError, mark_webhook_for_replay

    waiting = InboundWebhook.objects.create(
        source=InboundWebhook.Source.SHOPIFY,
        topic="orders/create",
        dedup_key="evt-waiting",
        body=b"{}",
    )
    with pytest.raises(WebhookReplayError, match="already waiting to be processed"):
        mark_webhook_for_replay(webhook=waiting)
    waiting.refresh_from_db()
    assert waiting.status == InboundWebhook.Status.RECEIVED
