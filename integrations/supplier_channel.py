"""The WEBHOOK supplier channel's transport: the signed order events we POST to a supplier's
endpoint, and the checks on the updates a supplier's system sends back to us.

Both directions carry `X-Dropship-Signature: base64(HMAC-SHA256(raw body, the supplier's
webhook secret))` (`integrations.signatures`). What goes in an event, and what an update does,
is the orders app's business.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from integrations.safe_http import safe_request
from integrations.signatures import sign_body

SIGNATURE_HEADER = "X-Dropship-Signature"
EVENT_HEADER = "X-Dropship-Event"
DELIVERY_HEADER = "X-Dropship-Delivery"
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class EndpointAnswer:
    """How the supplier's endpoint answered one event."""

    status_code: int
    problem: str = ""  # why it did not take the event; "" when it did
    is_temporary: bool = False  # 429 or 5xx: worth sending again later


def encode_event(payload: dict[str, Any]) -> bytes:
    """The exact bytes we sign and send: compact, keys sorted."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def post_event(
    *, url: str, secret: str, payload: dict[str, Any], delivery_id: str
) -> EndpointAnswer:
    """POST one signed event through the safe-call helper (timeout, no redirects). A connection
    failure raises the helper's TemporaryError / PermanentError."""
    body = encode_event(payload)
    response = safe_request(
        "POST",
        url,
        data=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_body(body, secret),
            EVENT_HEADER: str(payload.get("event", "")),
            DELIVERY_HEADER: delivery_id,
        },
        timeout=TIMEOUT_SECONDS,
        allow_redirects=False,
    )
    status = response.status_code
    host = urlsplit(url).hostname
    if response.ok:
        return EndpointAnswer(status_code=status)
    if status == 429 or status >= 500:
        return EndpointAnswer(
            status_code=status,
            problem=f"{host} answered {status}; we will try again.",
            is_temporary=True,
        )
    return EndpointAnswer(
        status_code=status, problem=f"{host} refused the order with {status}: {response.text[:300]}"
    )


def dedup_key(*, supplier_id: int, event_id: str, body: bytes) -> str:
    """The supplier's own event id when it sends one (unique per event), else the body's hash."""
    return f"{supplier_id}:{event_id[:100]}" if event_id else hashlib.sha256(body).hexdigest()
