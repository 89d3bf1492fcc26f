"""Checks on WooCommerce webhook deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_PING = re.compile(rb"^webhook_id=\d+$")


def compute_signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def is_valid_signature(body: bytes, header: str | None, secret: str) -> bool:
    """X-WC-Webhook-Signature is base64(HMAC-SHA256(raw body, the webhook's secret))."""
    if not header or not secret:
        return False
    return hmac.compare_digest(compute_signature(body, secret).encode(), header.strip().encode())


def is_ping(body: bytes) -> bool:
    """WooCommerce pings a new webhook with a form-encoded `webhook_id=N` and no signature."""
    return bool(_PING.match(body.strip()))


def dedup_key(topic: str, body: bytes) -> str:
    """WooCommerce's delivery id is not unique (a hash of webhook id and the second), so the
    same event is recognised by its topic and exact body."""
    return hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()
