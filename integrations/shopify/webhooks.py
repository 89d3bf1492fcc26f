"""Checks on Shopify webhook deliveries: signature on the raw body, and the dedup key."""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings


def compute_hmac(body: bytes, secret: str | None = None) -> str:
    secret = settings.SHOPIFY_API_SECRET if secret is None else secret
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def is_valid_signature(body: bytes, header: str | None, secret: str | None = None) -> bool:
    """X-Shopify-Hmac-Sha256 is base64(HMAC-SHA256(raw body, app secret)); compared in constant time."""
    if not header:
        return False
    return hmac.compare_digest(compute_hmac(body, secret).encode(), header.strip().encode())


def dedup_key(headers: dict[str, str]) -> str:
    """X-Shopify-Event-Id identifies the event across retries; older deliveries lack it and
    fall back to X-Shopify-Webhook-Id (stable across retries of one delivery)."""
    return (headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id") or "").strip()
