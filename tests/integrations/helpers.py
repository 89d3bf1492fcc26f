"""Helpers to deliver webhooks the way the platforms sign them (used by several test modules)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"  # tests/fixtures, see SOURCES.md there


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str):
    return json.loads(fixture_bytes(name))


def shopify_order_body() -> bytes:
    """orders/create body: the unwrapped Order resource from Shopify's own fixture."""
    return json.dumps(fixture_json("shopify-order.json")["order"]).encode()


def shopify_headers(
    body: bytes, *, topic: str, shop: str, event_id: str | None = None, secret: str | None = None
) -> dict:
    secret = settings.SHOPIFY_API_SECRET if secret is None else secret
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_HMAC_SHA256": digest,
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": shop,
        "HTTP_X_SHOPIFY_API_VERSION": "2026-10",
        "HTTP_X_SHOPIFY_WEBHOOK_ID": str(uuid.uuid4()),
        "HTTP_X_SHOPIFY_EVENT_ID": event_id or str(uuid.uuid4()),
    }


def post_shopify(client, body: bytes, **headers):
    return client.post(
        "/webhooks/shopify/",
        data=body,
        content_type="application/json",
        **shopify_headers(body, **headers),
    )


def woo_headers(body: bytes, *, topic: str, secret: str) -> dict:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "HTTP_X_WC_WEBHOOK_TOPIC": topic,
        "HTTP_X_WC_WEBHOOK_SIGNATURE": digest,
        "HTTP_X_WC_WEBHOOK_DELIVERY_ID": hashlib.md5(
            str(time.time()).encode(), usedforsecurity=False
        ).hexdigest(),
        "HTTP_X_WC_WEBHOOK_SOURCE": "https://example.com/",
    }


def stripe_headers(body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> dict:
    secret = settings.STRIPE_WEBHOOK_SECRET if secret is None else secret
    timestamp = timestamp or int(time.time())
    signature = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return {"HTTP_STRIPE_SIGNATURE": f"t={timestamp},v1={signature}"}


def approve_in_shopify(authorize_url: str) -> dict[str, str]:
    """What the merchant does in their browser: open the sandbox's install page, press Install,
    and read the query Shopify redirects back with."""
    page = requests.get(authorize_url, timeout=5)
    assert page.status_code == 200
    assert "Install app" in page.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    answer = requests.post(
        authorize_url.split("?")[0],
        data={**query, "decision": "install"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
