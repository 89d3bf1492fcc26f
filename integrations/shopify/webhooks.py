"""Shopify webhook deliveries: signature on the raw body, the dedup key, and what an order
topic or a mandatory privacy topic means for us."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from integrations import signatures
from integrations.base import (
    PrivacyRequest,
    PrivacyRequestKind,
    StoreOrderEvent,
    StoreOrderEventKind,
    StorePermanentError,
    WebhookSubject,
    json_object,
)
from integrations.shopify.mappers import (
    gid,
    order_from_graphql,
    order_from_webhook,
    refund_from_webhook,
)


def is_valid_signature(body: bytes, header: str | None, secret: str | None = None) -> bool:
    """X-Shopify-Hmac-Sha256 is base64(HMAC-SHA256(raw body, app secret)); compared in constant time."""
    return signatures.is_valid_signature(
        body, header, settings.SHOPIFY_API_SECRET if secret is None else secret
    )


def dedup_key(headers: Mapping[str, str]) -> str:
    """X-Shopify-Event-Id identifies the event across retries; older deliveries lack it and
    fall back to X-Shopify-Webhook-Id (stable across retries of one delivery)."""
    return (headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id") or "").strip()


# A fulfillment order on hold was released, or a scheduled one opened: fulfilments that waited
# on it can be sent (shopify.dev webhook topics fulfillment_orders/hold_released and
# fulfillment_orders/scheduled_fulfillment_order_ready; the body names the fulfillment order).
FULFILLMENT_RELEASE_TOPICS: tuple[str, ...] = (
    "fulfillment_orders/hold_released",
    "fulfillment_orders/scheduled_fulfillment_order_ready",
)


class ShopifyOrderWebhooks:
    """orders/create, orders/paid and orders/updated carry the whole order (its
    financial_status says whether it is paid); orders/cancelled cancels one, with Shopify's
    reason; refunds/create names the refunded lines. Shopify sends orders/updated for every
    change (a note, a tag, a fulfilment), so receiving the order again must change nothing."""

    polled_topic = "orders/polled"  # ours: an Order node the reconciliation poll found
    order_topics: tuple[str, ...] = (
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/cancelled",
        "refunds/create",
        polled_topic,
    )
    # orders/paid or orders/updated can be the first we hear of an order whose orders/create
    # was lost: each brings the whole order.
    creating_topics: tuple[str, ...] = (
        "orders/create",
        "orders/paid",
        "orders/updated",
        polled_topic,
    )

    def parse_order_webhook(self, *, topic: str, payload: Any) -> StoreOrderEvent:
        body = json_object(payload)
        if topic == self.polled_topic:
            # Intake decides what a found order means (new, already received, now paid,
            # cancelled).
            try:
                polled = order_from_graphql(body)
            except (KeyError, TypeError, ValueError) as exc:
                raise StorePermanentError(f"The polled Shopify order is missing {exc}.") from exc
            return StoreOrderEvent(
                kind=StoreOrderEventKind.CREATED, store_order_id=polled.store_order_id, order=polled
            )
        if topic == "refunds/create":
            order_id, refund_id, lines = refund_from_webhook(body)
            return StoreOrderEvent(
                kind=StoreOrderEventKind.REFUNDED,
                store_order_id=order_id,
                refunded_lines=lines,
                refund_id=refund_id,
            )
        order = order_from_webhook(body)
        if topic in self.creating_topics:
            return StoreOrderEvent(
                kind=StoreOrderEventKind.CREATED, store_order_id=order.store_order_id, order=order
            )
        if topic == "orders/cancelled":
            return StoreOrderEvent(
                kind=StoreOrderEventKind.CANCELLED,
                store_order_id=order.store_order_id,
                cancel_reason=str(body.get("cancel_reason") or "").strip(),
            )
        return StoreOrderEvent(
            kind=StoreOrderEventKind.IGNORED, store_order_id=order.store_order_id
        )


# The mandatory compliance topics (shopify.dev "Privacy law compliance"), declared in the
# repository's shopify.app.toml as `compliance_topics`.
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


class ShopifyPrivacyWebhooks:
    """The mandatory privacy topics every Shopify app must answer: customers/data_request,
    customers/redact (an order list and the customer) and shop/redact (48 hours after uninstall).
    Shopify names orders by their legacy number; we file them under the global id."""

    _kinds = {
        "customers/data_request": PrivacyRequestKind.DATA_REQUEST,
        "customers/redact": PrivacyRequestKind.CUSTOMER_REDACT,
        "shop/redact": PrivacyRequestKind.SHOP_REDACT,
    }
    _order_lists = {
        "customers/data_request": "orders_requested",
        "customers/redact": "orders_to_redact",
    }
    privacy_topics = tuple(_kinds)

    def parse_privacy_request(self, *, topic: str, payload: Any) -> PrivacyRequest:
        body = json_object(payload)
        kind = self._kinds.get(topic)
        if kind is None:
            raise StorePermanentError(f"{topic} is not a Shopify privacy topic.")
        customer = body.get("customer") or {}
        if not isinstance(customer, dict):
            raise StorePermanentError("The request's customer is not a JSON object.")
        list_key = self._order_lists.get(topic)
        order_ids = (body.get(list_key) if list_key else None) or []
        if not isinstance(order_ids, list):
            raise StorePermanentError(f"The request's {list_key} is not a JSON array.")
        data_request = body.get("data_request") or {}
        request_id = data_request.get("id") if isinstance(data_request, dict) else None
        return PrivacyRequest(
            kind=kind,
            store_order_ids=frozenset(
                form for value in order_ids for form in (gid("Order", value), str(value))
            ),
            customer_email=str(customer.get("email") or ""),
            customer_phone=str(customer.get("phone") or ""),
            request_id="" if request_id is None else str(request_id),
        )

    def webhook_subject(self, *, topic: str, body: bytes) -> WebhookSubject:
        try:
            payload = json.loads(bytes(body) or b"{}")
        except ValueError:
            return WebhookSubject()
        if not isinstance(payload, dict):
            return WebhookSubject()
        if topic.startswith("orders/"):
            ids = {str(payload.get("admin_graphql_api_id") or ""), str(payload.get("id") or "")}
            if payload.get("id") is not None:
                ids.add(gid("Order", payload["id"]))
            return WebhookSubject(store_order_ids=frozenset(ids - {""}))
        customer = payload.get("customer")
        if topic.startswith("customers/") and isinstance(customer, dict):
            return WebhookSubject(customer_email=str(customer.get("email", "")).lower())
        return WebhookSubject()
