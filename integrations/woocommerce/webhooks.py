"""WooCommerce webhook deliveries: signature, ping, dedup key, and what an order topic means.

X-WC-Webhook-Signature is base64(HMAC-SHA256(raw body, the webhook's secret)):
`is_valid_signature(body, header, store.webhook_secret)`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from integrations.base import (
    StoreOrderEvent,
    StoreOrderEventKind,
    StorePermanentError,
    json_object,
)
from integrations.signatures import is_valid_signature as is_valid_signature
from integrations.woocommerce.mappers import order_from_payload

_PING = re.compile(rb"^webhook_id=\d+$")


def is_ping(body: bytes) -> bool:
    """WooCommerce pings a new webhook with a form-encoded `webhook_id=N` and no signature."""
    return bool(_PING.match(body.strip()))


def dedup_key(*, store_id: str, topic: str, body: bytes) -> str:
    """WooCommerce's delivery id is not unique (a hash of webhook id and the second), so the
    same event is recognised by its store, topic and exact body. The store is part of the key:
    two sites can send the very same body (same order id, same content), and one store's
    delivery must never be taken for a duplicate of another's."""
    return hashlib.sha256(f"{store_id}\n{topic}\n".encode() + body).hexdigest()


class WooCommerceOrderWebhooks:
    """order.created and order.updated carry the whole order: its status says what happened
    (processing is paid and routed; on-hold and pending wait for the payment; a failed
    payment changes nothing: the order keeps waiting for another try);
    cancelled, refunded and trash cancel what has not shipped, and so does order.deleted, whose
    body is only the order's id."""

    polled_topic = "order.polled"  # ours: an order the reconciliation poll found (same body)
    order_topics: tuple[str, ...] = (
        "order.created",
        "order.updated",
        "order.deleted",
        polled_topic,
    )
    creating_topics: tuple[str, ...] = ("order.created", "order.updated", polled_topic)
    received_statuses = frozenset({"processing", "on-hold", "pending"})
    cancel_reasons = {
        "cancelled": "cancelled",
        "refunded": "refunded",
        "trash": "moved to the trash",
    }

    def parse_order_webhook(self, *, topic: str, payload: Any) -> StoreOrderEvent:
        body = json_object(payload)
        if topic == "order.deleted":
            if not str(body.get("id") or "").strip():
                raise StorePermanentError("The order.deleted body names no order id.")
            return StoreOrderEvent(
                kind=StoreOrderEventKind.CANCELLED,
                store_order_id=str(body["id"]),
                cancel_reason="deleted",
            )
        status = str(body.get("status") or "")
        if status in self.cancel_reasons:
            return StoreOrderEvent(
                kind=StoreOrderEventKind.CANCELLED,
                store_order_id=str(body.get("id") or ""),
                cancel_reason=self.cancel_reasons[status],
            )
        if status not in self.received_statuses:
            # completed, failed, checkout-draft ...: nothing to route
            return StoreOrderEvent(kind=StoreOrderEventKind.IGNORED)
        order = order_from_payload(body)
        return StoreOrderEvent(
            kind=StoreOrderEventKind.CREATED, store_order_id=order.store_order_id, order=order
        )
