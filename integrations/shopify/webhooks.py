"""Checks on Shopify webhook deliveries: signature on the raw body, and the dedup key."""

from __future__ import annotations

from django.conf import settings

from integrations import signatures


def is_valid_signature(body: bytes, header: str | None, secret: str | None = None) -> bool:
    """X-Shopify-Hmac-Sha256 is base64(HMAC-SHA256(raw body, app secret)); compared in constant time."""
    return signatures.is_valid_signature(
        body, header, settings.SHOPIFY_API_SECRET if secret is None else secret
    )


def dedup_key(headers: dict[str, str]) -> str:
    """X-Shopify-Event-Id identifies the event across retries; older deliveries lack it and
    fall back to X-Shopify-Webhook-Id (stable across retries of one delivery)."""
    return (headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id") or "").strip()
