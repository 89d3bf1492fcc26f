"""The one webhook signature every channel uses: base64(HMAC-SHA256(raw body, secret)).

Shopify signs its webhooks this way with our app secret, WooCommerce with the webhook's secret,
and we sign the orders we send to a supplier's endpoint (and check its answers) with the
supplier's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign_body(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(body, secret)), the value of the signature header."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def is_valid_signature(body: bytes, header: str | None, secret: str) -> bool:
    """Whether `header` signs this exact body with `secret`, compared in constant time; a missing
    header or an empty secret never matches."""
    if not header or not secret:
        return False
    return hmac.compare_digest(sign_body(body, secret).encode(), header.strip().encode())
