"""POST /webhooks/...: verify, store, answer; duplicates answered 200 and processed once."""

import json
import threading
import time

import pytest
from django.db import connection
from django.test import Client

from integrations.models import InboundWebhook
from integrations.webhooks.handlers import HANDLERS
from retailers.models import Store
from tests import factories
from tests.integrations.helpers import (
    fixture_bytes,
    post_shopify,
    shopify_headers,
    shopify_order_body,
    stripe_headers,
    woo_headers,
)

SHOP = "maple-and-co.myshopify.com"


@pytest.fixture
def calls(monkeypatch):
    """A handler for orders/create that records what it was given (the order pipeline's own
    handlers arrive with issue 7; this uses the same registration table)."""
    seen = []
    lock = threading.Lock()

    def handler(webhook, payload):
        time.sleep(0.05)
        with lock:
            seen.append((webhook.pk, payload["id"]))

    monkeypatch.setitem(HANDLERS["SHOPIFY"], "orders/create", handler)
    monkeypatch.setitem(HANDLERS["WOOCOMMERCE"], "order.created", handler)
    return seen


@pytest.fixture
def shop_store(db):
    return factories.StoreFactory(domain=SHOP)


def test_same_shopify_webhook_delivered_three_times_is_processed_once(
    client, shop_store, calls, django_capture_on_commit_callbacks
):
    body = shopify_order_body()
    answers = []
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            answers.append(
                post_shopify(client, body, topic="orders/create", shop=SHOP, event_id="evt-1")
            )
    assert [(a.status_code, a.json()["detail"]) for a in answers] == [
        (200, "accepted"),
        (200, "duplicate"),
        (200, "duplicate"),
    ]
    webhook = InboundWebhook.objects.get()
    assert (webhook.source, webhook.topic, webhook.dedup_key, webhook.store_id) == (
        "SHOPIFY",
        "orders/create",
        "evt-1",
        shop_store.pk,
    )
    assert (webhook.status, webhook.attempts, webhook.duplicate_count) == ("PROCESSED", 1, 2)
    assert bytes(webhook.body) == body
    assert webhook.headers["X-Shopify-Topic"] == "orders/create"
    assert calls == [(webhook.pk, 450789469)]
    shop_store.refresh_from_db()
    assert shop_store.last_webhook_at is not None


def test_event_id_missing_falls_back_to_webhook_id(
    client, shop_store, calls, django_capture_on_commit_callbacks
):
    body = shopify_order_body()
    headers = shopify_headers(body, topic="orders/create", shop=SHOP)
    del headers["HTTP_X_SHOPIFY_EVENT_ID"]
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            "/webhooks/shopify/", data=body, content_type="application/json", **headers
        )
        again = client.post(
            "/webhooks/shopify/", data=body, content_type="application/json", **headers
        )
    assert (first.status_code, again.json()["detail"]) == (200, "duplicate")
    assert InboundWebhook.objects.get().dedup_key == headers["HTTP_X_SHOPIFY_WEBHOOK_ID"]
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_store_and_process_one_event(calls):
    store = factories.StoreFactory(domain=SHOP)
    body = shopify_order_body()
    headers = shopify_headers(body, topic="orders/create", shop=SHOP, event_id="evt-concurrent")
    barrier = threading.Barrier(6)
    statuses = []

    def deliver():
        try:
            barrier.wait()
            response = Client().post(
                "/webhooks/shopify/", data=body, content_type="application/json", **headers
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
    webhook = InboundWebhook.objects.get()
    assert (webhook.store_id, webhook.status, webhook.attempts, webhook.duplicate_count) == (
        store.pk,
        "PROCESSED",
        1,
        5,
    )
    assert calls == [(webhook.pk, 450789469)]


@pytest.mark.parametrize(
    "topic", ["orders/create", "customers/redact", "shop/redact", "customers/data_request"]
)
def test_wrong_signature_is_401_and_nothing_is_stored(client, shop_store, topic):
    body = shopify_order_body()
    response = post_shopify(client, body, topic=topic, shop=SHOP, secret="not-the-app-secret")
    assert response.status_code == 401
    assert InboundWebhook.objects.count() == 0


def test_missing_signature_is_401(client, shop_store):
    body = shopify_order_body()
    headers = shopify_headers(body, topic="orders/create", shop=SHOP)
    del headers["HTTP_X_SHOPIFY_HMAC_SHA256"]
    response = client.post(
        "/webhooks/shopify/", data=body, content_type="application/json", **headers
    )
    assert response.status_code == 401
    assert InboundWebhook.objects.count() == 0


def test_malformed_json_with_valid_signature_is_400_and_recorded_failed(client, shop_store, calls):
    body = b'{"id": 450789469, "line_items": ['
    response = post_shopify(client, body, topic="orders/create", shop=SHOP, event_id="evt-bad")
    assert (response.status_code, response.json()["detail"]) == (400, "The body is not valid JSON.")
    webhook = InboundWebhook.objects.get()
    assert (webhook.status, webhook.last_error, webhook.dedup_key) == (
        "FAILED",
        "The body is not valid JSON.",
        "evt-bad",
    )
    assert calls == []


def test_unknown_shop_is_404_and_nothing_is_stored(client, shop_store):
    body = shopify_order_body()
    response = post_shopify(client, body, topic="orders/create", shop="someone-else.myshopify.com")
    assert response.status_code == 404
    assert InboundWebhook.objects.count() == 0


def test_privacy_topic_reaches_a_disconnected_store(client, db, django_capture_on_commit_callbacks):
    store = factories.StoreFactory(domain=SHOP, status=Store.Status.DISCONNECTED, credentials=None)
    body = json.dumps({"shop_id": 954889, "shop_domain": SHOP}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_shopify(client, body, topic="shop/redact", shop=SHOP)
    assert response.status_code == 200
    assert InboundWebhook.objects.get().store_id == store.pk


# --- WooCommerce -------------------------------------------------------------------------------
@pytest.fixture
def woo_store(db):
    return factories.StoreFactory(
        platform=Store.Platform.WOOCOMMERCE,
        domain="https://shop.example.com",
        webhook_secret="wc-secret",
    )


def woo_url(store):
    return f"/webhooks/woocommerce/{store.public_id}/"


def test_woocommerce_order_webhook_is_stored_and_duplicates_ignored(
    client, woo_store, calls, django_capture_on_commit_callbacks
):
    body = fixture_bytes("woocommerce-order.json")
    headers = woo_headers(body, topic="order.created", secret="wc-secret")
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            woo_url(woo_store), data=body, content_type="application/json", **headers
        )
        second = client.post(
            woo_url(woo_store), data=body, content_type="application/json", **headers
        )
    assert [first.json()["detail"], second.json()["detail"]] == ["accepted", "duplicate"]
    webhook = InboundWebhook.objects.get()
    assert (webhook.source, webhook.topic, webhook.status, webhook.duplicate_count) == (
        "WOOCOMMERCE",
        "order.created",
        "PROCESSED",
        1,
    )
    assert calls == [(webhook.pk, 727)]


def test_the_same_woocommerce_delivery_to_two_stores_is_two_events(
    client, woo_store, calls, django_capture_on_commit_callbacks
):
    """Two sites can send the very same body (same order id and content) and even the same
    delivery id: each store's event is its own, never a duplicate of the other's."""
    other = factories.StoreFactory(
        platform=Store.Platform.WOOCOMMERCE,
        domain="https://other.example.com",
        webhook_secret="wc-secret",
    )
    body = fixture_bytes("woocommerce-order.json")
    headers = woo_headers(body, topic="order.created", secret="wc-secret")
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            client.post(woo_url(store), data=body, content_type="application/json", **headers)
            for store in (woo_store, other, woo_store)
        ]

    assert [a.json()["detail"] for a in answers] == ["accepted", "accepted", "duplicate"]
    webhooks = InboundWebhook.objects.order_by("pk")
    assert [(w.store_id, w.status, w.duplicate_count) for w in webhooks] == [
        (woo_store.pk, "PROCESSED", 1),
        (other.pk, "PROCESSED", 0),
    ]
    assert calls == [(webhooks[0].pk, 727), (webhooks[1].pk, 727)]


def test_woocommerce_ping_is_answered_200_and_not_stored(client, woo_store):
    response = client.post(
        woo_url(woo_store), data=b"webhook_id=15", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert InboundWebhook.objects.count() == 0


def test_woocommerce_bad_signature_is_401(client, woo_store):
    body = fixture_bytes("woocommerce-order.json")
    headers = woo_headers(body, topic="order.created", secret="other")
    response = client.post(
        woo_url(woo_store), data=body, content_type="application/json", **headers
    )
    assert response.status_code == 401
    assert InboundWebhook.objects.count() == 0


def test_woocommerce_unknown_store_is_404(client, woo_store):
    body = fixture_bytes("woocommerce-order.json")
    headers = woo_headers(body, topic="order.created", secret="wc-secret")
    response = client.post(
        "/webhooks/woocommerce/00000000-0000-0000-0000-000000000000/",
        data=body,
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 404
    assert InboundWebhook.objects.count() == 0


def test_woocommerce_malformed_json_is_400_and_failed(client, woo_store):
    body = b"<html>not json</html>"
    headers = woo_headers(body, topic="order.created", secret="wc-secret")
    response = client.post(
        woo_url(woo_store), data=body, content_type="application/json", **headers
    )
    assert response.status_code == 400
    assert InboundWebhook.objects.get().status == "FAILED"


# --- Stripe ------------------------------------------------------------------------------------
def test_stripe_event_is_verified_with_construct_event_and_stored_once(client, db):
    # Envelope assembled around Stripe's own object (see shared/fixtures/SOURCES.md).
    event = json.loads(fixture_bytes("stripe-event-setup_intent.created.json"))
    body = json.dumps(event).encode()
    first = client.post(
        "/webhooks/stripe/", data=body, content_type="application/json", **stripe_headers(body)
    )
    again = client.post(
        "/webhooks/stripe/", data=body, content_type="application/json", **stripe_headers(body)
    )
    assert [first.status_code, again.json()["detail"]] == [200, "duplicate"]
    webhook = InboundWebhook.objects.get()
    assert (webhook.source, webhook.topic, webhook.dedup_key) == (
        "STRIPE",
        event["type"],
        event["id"],
    )


def test_stripe_bad_signature_is_401(client, db):
    body = fixture_bytes("stripe-event.json")
    response = client.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        **stripe_headers(body, secret="whsec_other"),
    )
    assert response.status_code == 401
    assert InboundWebhook.objects.count() == 0


def test_get_is_not_allowed(client, db):
    assert client.get("/webhooks/shopify/").status_code == 405
