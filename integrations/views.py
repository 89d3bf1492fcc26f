"""The webhook inbox: verify the signature on the raw body, store, answer fast.

Answers (DESIGN "Interfaces"): 200 accepted or duplicate, 401 bad or missing signature, 400
malformed body (recorded as FAILED), 404 unknown shop or store (200 for Shopify's compliance
topics: we hold no data about a shop we do not know). Processing happens in a task.
"""

from __future__ import annotations

import hashlib
import time
from uuid import UUID

import stripe
from django.conf import settings
from django.db.models import Case, F, Value, When
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dropship.core.safe_json import BadJson, load_json_object
from integrations import services
from integrations.models import InboundWebhook
from integrations.registry import get_tracking_webhooks
from integrations.shopify import webhooks as shopify_webhooks
from integrations.webhooks.answers import webhook_answer
from integrations.woocommerce import webhooks as woo_webhooks
from retailers.models import Store


def _find_shopify_store(domain: str) -> Store | None:
    """The connected store for the shop, else its most recent row (privacy topics arrive after
    an uninstall, when the store is already disconnected). One query."""
    return (
        Store.objects.filter(platform=Store.Platform.SHOPIFY, domain=domain)
        .annotate(
            is_disconnected=Case(
                When(status=Store.Status.DISCONNECTED, then=Value(1)), default=Value(0)
            )
        )
        .only("pk", "status", "last_webhook_at", "retailer_id", "domain")
        .order_by("is_disconnected", F("disconnected_at").desc(nulls_last=True), "-pk")
        .first()
    )


_STORE_CACHE: dict[str, tuple[float, Store]] = {}


def _shopify_store(domain: str) -> Store | None:
    """Stores found are remembered for a few seconds per process (a busy shop sends many
    webhooks a second); an unknown shop is looked up every time, so a new store is seen at once."""
    now = time.monotonic()
    cached = _STORE_CACHE.get(domain)
    if cached is not None and now - cached[0] < settings.WEBHOOK_STORE_CACHE_SECONDS:
        return cached[1]
    store = _find_shopify_store(domain)
    if store is not None:
        if len(_STORE_CACHE) > 10000:
            _STORE_CACHE.clear()
        _STORE_CACHE[domain] = (now, store)
    return store


@csrf_exempt
@require_POST
def shopify_webhook(request: HttpRequest) -> HttpResponse:
    body = request.body
    if not shopify_webhooks.is_valid_signature(body, request.headers.get("X-Shopify-Hmac-Sha256")):
        return webhook_answer(401, "The X-Shopify-Hmac-Sha256 signature is missing or wrong.")
    topic = request.headers.get("X-Shopify-Topic", "").strip()
    domain = request.headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    if not topic or not domain:
        return webhook_answer(400, "X-Shopify-Topic and X-Shopify-Shop-Domain are required.")
    store = _shopify_store(domain)
    if store is None and topic in shopify_webhooks.COMPLIANCE_TOPICS:
        # A shop that never connected (or whose rows are gone): we hold nothing about it, which
        # is the whole answer Shopify's compliance check expects, with a 200.
        return webhook_answer(200, f"Dropship holds no data for {domain}.")
    if store is None:
        return webhook_answer(404, f"No store is connected for {domain}.")
    dedup_key = shopify_webhooks.dedup_key(request.headers) or hashlib.sha256(body).hexdigest()
    headers = dict(request.headers)
    try:
        load_json_object(body)
    except BadJson as exc:
        services.record_failed_webhook(
            source=InboundWebhook.Source.SHOPIFY,
            topic=topic,
            dedup_key=dedup_key,
            body=body,
            headers=headers,
            error=exc.message,
            store=store,
        )
        return webhook_answer(400, exc.message)
    _, created = services.receive_webhook(
        source=InboundWebhook.Source.SHOPIFY,
        topic=topic,
        dedup_key=dedup_key,
        body=body,
        headers=headers,
        store=store,
    )
    return webhook_answer(200, "accepted" if created else "duplicate")


@csrf_exempt
@require_POST
def woocommerce_webhook(request: HttpRequest, public_id: UUID) -> HttpResponse:
    body = request.body
    if woo_webhooks.is_ping(body):
        # WooCommerce's ping on webhook creation: unsigned, carries nothing, triggers nothing.
        return webhook_answer(200, "pong")
    store = (
        Store.objects.filter(public_id=public_id, platform=Store.Platform.WOOCOMMERCE)
        .exclude(status=Store.Status.DISCONNECTED)
        .first()
    )
    if store is None:
        return webhook_answer(404, "No WooCommerce store is connected at this address.")
    if not woo_webhooks.is_valid_signature(
        body, request.headers.get("X-WC-Webhook-Signature"), store.webhook_secret
    ):
        return webhook_answer(401, "The X-WC-Webhook-Signature signature is missing or wrong.")
    topic = request.headers.get("X-WC-Webhook-Topic", "").strip()
    if not topic:
        return webhook_answer(400, "X-WC-Webhook-Topic is required.")
    dedup_key = woo_webhooks.dedup_key(store_id=str(store.public_id), topic=topic, body=body)
    headers = dict(request.headers)
    try:
        load_json_object(body)
    except BadJson as exc:
        services.record_failed_webhook(
            source=InboundWebhook.Source.WOOCOMMERCE,
            topic=topic,
            dedup_key=dedup_key,
            body=body,
            headers=headers,
            error=exc.message,
            store=store,
        )
        return webhook_answer(400, exc.message)
    _, created = services.receive_webhook(
        source=InboundWebhook.Source.WOOCOMMERCE,
        topic=topic,
        dedup_key=dedup_key,
        body=body,
        headers=headers,
        store=store,
    )
    return webhook_answer(200, "accepted" if created else "duplicate")


def _receive_stripe_event(request: HttpRequest, *, secret: str, is_connect: bool) -> HttpResponse:
    """Verify a Stripe delivery with its endpoint's signing secret and store it in the inbox.

    Stripe sends a platform's own events to its account endpoint and the events of connected
    accounts (carrying a top-level `account`) to its Connect endpoint, each signed with that
    endpoint's secret (https://docs.stripe.com/connect/webhooks). An event that arrived at the
    wrong endpoint is recorded as FAILED with the reason, for support to see, and never acted on."""
    body = request.body
    if not secret:
        # An empty secret would accept a signature anyone can make: refuse everything instead.
        return webhook_answer(
            401, "Stripe webhooks are not configured: the signing secret is unset."
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return webhook_answer(400, "The body is not valid JSON.")
    try:
        # Verified first, then parsed by our own loader: stripe's would let a signed body nested
        # deep or a bare number through to a 500. Only the id, type and account are read here.
        stripe.WebhookSignature.verify_header(
            text,
            request.headers.get("Stripe-Signature"),
            secret,
            stripe.Webhook.DEFAULT_TOLERANCE,
        )
    except stripe.SignatureVerificationError:
        return webhook_answer(401, "The Stripe-Signature header is missing or wrong.")
    try:
        event = load_json_object(body)
    except BadJson as exc:
        services.record_failed_webhook(
            source=InboundWebhook.Source.STRIPE,
            topic="(unreadable)",
            dedup_key=hashlib.sha256(body).hexdigest(),
            body=body,
            headers=dict(request.headers),
            error=exc.message,
        )
        return webhook_answer(400, exc.message)
    event_id, event_type = event.get("id"), event.get("type")
    if not event_id or not event_type:
        return webhook_answer(400, "The event has no id or type.")
    account = event.get("account") or None
    wrong_endpoint = ""
    if is_connect and not account:
        wrong_endpoint = (
            "A platform event (no `account`) arrived at the Connect endpoint; Stripe sends those "
            "to the account endpoint /webhooks/stripe/. Check the endpoints in Stripe's dashboard."
        )
    elif not is_connect and account:
        wrong_endpoint = (
            f"An event of connected account {account} arrived at the platform endpoint; Stripe "
            "sends those to the Connect endpoint /webhooks/stripe/connect/. Check the endpoints "
            "in Stripe's dashboard."
        )
    if wrong_endpoint:
        services.record_failed_webhook(
            source=InboundWebhook.Source.STRIPE,
            topic=str(event_type),
            dedup_key=str(event_id),
            body=body,
            headers=dict(request.headers),
            error=wrong_endpoint,
        )
        return webhook_answer(200, "ignored: " + wrong_endpoint)
    _, created = services.receive_webhook(
        source=InboundWebhook.Source.STRIPE,
        topic=str(event_type),
        dedup_key=str(event_id),
        body=body,
        headers=dict(request.headers),
    )
    return webhook_answer(200, "accepted" if created else "duplicate")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """The platform's account endpoint: events of Dropship's own Stripe account."""
    return _receive_stripe_event(request, secret=settings.STRIPE_WEBHOOK_SECRET, is_connect=False)


@csrf_exempt
@require_POST
def stripe_connect_webhook(request: HttpRequest) -> HttpResponse:
    """The Connect endpoint: events of the suppliers' connected accounts."""
    return _receive_stripe_event(
        request, secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET, is_connect=True
    )


@csrf_exempt
@require_POST
def tracking_webhook(request: HttpRequest) -> HttpResponse:
    """The tracking provider's signed events (EasyPost `tracker.updated`): verified, stored in the
    inbox under the event id (a repeat answers 200 and does nothing) and answered; the orders
    app's CARRIER handler applies them. A parcel we do not know is answered 200 here and ignored
    (and logged) by the handler, so the provider does not retry it forever."""
    body = request.body
    webhooks = get_tracking_webhooks()
    headers = dict(request.headers)
    if not webhooks.is_valid_signature(body, headers):
        return webhook_answer(
            401, f"The {webhooks.signature_header} signature is missing or wrong."
        )
    try:
        update = webhooks.parse(body)
    except ValueError as exc:
        services.record_failed_webhook(
            source=InboundWebhook.Source.CARRIER,
            topic="(unreadable)",
            dedup_key=hashlib.sha256(body).hexdigest(),
            body=body,
            headers=headers,
            error=str(exc),
        )
        return webhook_answer(400, str(exc))
    _, created = services.receive_webhook(
        source=InboundWebhook.Source.CARRIER,
        topic=update.topic,
        dedup_key=update.event_id,
        body=body,
        headers=headers,
    )
    return webhook_answer(200, "accepted" if created else "duplicate")
