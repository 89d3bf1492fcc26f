"""EasyPost Tracker JSON → our TrackerData (https://docs.easypost.com/docs/trackers).

A Tracker carries `status` (unknown, pre_transit, in_transit, out_for_delivery, delivered,
available_for_pickup, return_to_sender, failure, cancelled, error) and `tracking_details`, each
with its own `status`, `message`, `datetime` and `tracking_location`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from integrations.tracking import ParcelEvent, ParcelStatus, TrackerData

STATUSES = {
    "unknown": ParcelStatus.UNKNOWN,
    "pre_transit": ParcelStatus.PRE_TRANSIT,
    "in_transit": ParcelStatus.IN_TRANSIT,
    "out_for_delivery": ParcelStatus.OUT_FOR_DELIVERY,
    "available_for_pickup": ParcelStatus.AVAILABLE_FOR_PICKUP,
    "delivered": ParcelStatus.DELIVERED,
    "return_to_sender": ParcelStatus.RETURNED,
    "failure": ParcelStatus.EXCEPTION,
    "cancelled": ParcelStatus.EXCEPTION,
    "error": ParcelStatus.EXCEPTION,
}
# Our carrier codes (orders.carriers) as EasyPost names them, and back.
CARRIER_NAMES = {
    "UPS": "UPS",
    "USPS": "USPS",
    "FEDEX": "FedEx",
    "DHL": "DHLExpress",
    "CANADA_POST": "CanadaPost",
    "ROYAL_MAIL": "RoyalMail",
}
CARRIER_CODES = {name.lower(): code for code, name in CARRIER_NAMES.items()}


def parse_time(value: Any) -> datetime | None:
    """EasyPost's ISO 8601 times ("2026-12-07T10:00:00Z"); naive ones are UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _location(detail: dict[str, Any]) -> str:
    place = detail.get("tracking_location")
    if not isinstance(place, dict):
        return ""
    parts = [place.get(key) for key in ("city", "state", "country")]
    return ", ".join(str(part) for part in parts if part)[:200]


def to_tracker(data: dict[str, Any]) -> TrackerData:
    """A Tracker object as TrackerData; details without a readable time are skipped."""
    events = []
    for detail in data.get("tracking_details") or []:
        if not isinstance(detail, dict):
            continue
        occurred_at = parse_time(detail.get("datetime"))
        if occurred_at is None:
            continue
        events.append(
            ParcelEvent(
                status=STATUSES.get(str(detail.get("status") or ""), ParcelStatus.UNKNOWN),
                occurred_at=occurred_at,
                message=str(detail.get("message") or "")[:300],
                location=_location(detail),
            )
        )
    events.sort(key=lambda event: event.occurred_at)
    return TrackerData(
        tracker_id=str(data.get("id") or ""),
        tracking_code=str(data.get("tracking_code") or ""),
        carrier=CARRIER_CODES.get(str(data.get("carrier") or "").lower(), ""),
        status=STATUSES.get(str(data.get("status") or ""), ParcelStatus.UNKNOWN),
        updated_at=parse_time(data.get("updated_at")),
        events=tuple(events),
        public_url=str(data.get("public_url") or ""),
    )
