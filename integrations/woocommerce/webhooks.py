"""Checks on WooCommerce webhook deliveries.

X-WC-Webhook-Signature is base64(HMAC-SHA256(raw body, the webhook's secret)):
`is_valid_signature(body, header, store.webhook_secret)`.
"""

from __future__ import annotations

import hashlib
import re

from integrations.signatures import is_valid_signature as is_valid_signature

_PING = re.compile(rb"^webhook_id=\d+$")


def is_ping(body: bytes) -> bool:
    """WooCommerce pings a new webhook with a form-encoded `webhook_id=N` and no signature."""
    return bool(_PING.match(body.strip()))


def dedup_key(topic: str, body: bytes) -> str:
    """WooCommerce's delivery id is not unique (a hash of webhook id and the second), so the
    same event is recognised by its topic and exact body."""
    return hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()
