"""EasyPost's webhook Events (https://docs.easypost.com/docs/webhooks, Webhooks Guide
https://docs.easypost.com/guides/webhooks-guide): an Event `{"object": "Event", "id": "evt_…",
"description": "tracker.updated", "result": {Tracker}}` POSTed to our endpoint, signed with the
webhook's `webhook_secret` in `X-Hmac-Signature`: "hmac-sha256-hex=" + the hex HMAC-SHA256 of the
raw body keyed with the NFKD-normalised secret, as the client libraries' validate_webhook()
checks it. Compared in constant time; an empty secret never matches.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from dropship.core.safe_json import BadJson, load_json_object
from integrations.easypost.mappers import to_tracker
from integrations.tracking import TrackerUpdate

SIGNATURE_HEADER = "X-Hmac-Signature"
PREFIX = "hmac-sha256-hex="
TRACKER_TOPICS = ("tracker.created", "tracker.updated")


def sign(body: bytes, secret: str) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


class EasyPostWebhooks:
    signature_header = SIGNATURE_HEADER

    def __init__(self, *, secret: str) -> None:
        self.secret = secret

    def is_valid_signature(self, body: bytes, headers: dict[str, str]) -> bool:
        header = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower())
        if not header or not self.secret:
            return False
        return hmac.compare_digest(sign(body, self.secret).encode(), header.strip().encode())

    def parse(self, body: bytes) -> TrackerUpdate:
        try:
            event = load_json_object(body)
        except BadJson as exc:
            raise ValueError(exc.message) from exc
        event_id = str(event.get("id") or "").strip()
        topic = str(event.get("description") or "").strip()
        if not event_id or not topic:
            raise ValueError("The event has no id or description.")
        result = event.get("result")
        tracker = None
        if topic in TRACKER_TOPICS:
            if not isinstance(result, dict) or not result.get("id"):
                raise ValueError("A tracker event must carry the tracker in “result”.")
            tracker = to_tracker(result)
        return TrackerUpdate(event_id=event_id[:100], topic=topic[:64], tracker=tracker)
