"""Shopify webhook deliveries: signature on the raw body, the dedup key, and what an order
topic means for us."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from integrations import signatures
from integrations.base import StoreOrderEvent, StoreOrderEventKind, json_object
from integrations.shopify.mappers import order_from_webhook


def is_valid_signature(body: bytes, header: str | None, secret: str | None = None) -> bool:
    """X-Shopify-Hmac-Sha256 is base64(HMAC-SHA256(raw body, app secret)); compared in constant time."""
    return signatures.is_valid_signature(
        body, header, settings.SHOPIFY_API_SECRET if secret is None else secret
    )


def dedup_key(headers: Mapping[str, str]) -> str:
    """X-Shopify-Event-Id identifies the event across retries; older deliveries lack it and
    fall back to X-Shopify-Webhook-Id (stable across retries of one delivery)."""
    return (headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id") or "").strip()


class ShopifyOrderWebhooks:
    """orders/create brings a new order; orders/cancelled cancels one, with Shopify's reason."""

    order_topics: tuple[str, ...] = ("orders/create", "orders/cancelled")
    creating_topics: tuple[str, ...] = ("orders/create",)

    def parse_order_webhook(self, *, topic: str, payload: Any) -> StoreOrderEvent:
        body = json_object(payload)
        order = order_from_webhook(body)
        if topic == "orders/create":
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
