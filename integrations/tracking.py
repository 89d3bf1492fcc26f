"""The carrier-tracking provider protocol and its neutral DTOs (the stores' adapter pattern).

Domain code reaches the provider only through `integrations.registry.get_tracking_client()`,
which returns a `TrackingClient`, and reads its signed webhooks through
`get_tracking_webhooks()`; vendor JSON stays in `integrations/<vendor>/`. The shape follows
EasyPost's Trackers API (https://docs.easypost.com/docs/trackers): a tracker is created for a
tracking code and carrier, the provider follows the parcel and posts `tracker.updated` events
carrying the tracker with its whole history (`tracking_details`), and a tracker can be read
again by id (our polling fallback).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from dropship.core.errors import PermanentError, TemporaryError


class ParcelStatus(StrEnum):
    """A parcel's status in our words (orders.models.TrackingStatus has the same values)."""

    UNKNOWN = "UNKNOWN"
    PRE_TRANSIT = "PRE_TRANSIT"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    AVAILABLE_FOR_PICKUP = "AVAILABLE_FOR_PICKUP"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"
    RETURNED = "RETURNED"


@dataclass(frozen=True)
class ParcelEvent:
    """One carrier scan: status, the carrier's time, what it said and where."""

    status: ParcelStatus
    occurred_at: datetime
    message: str = ""
    location: str = ""


@dataclass(frozen=True)
class TrackerData:
    """A provider's tracker for one parcel, with its history oldest first."""

    tracker_id: str
    tracking_code: str
    carrier: str  # our carrier code (orders.carriers), "" when the provider names another
    status: ParcelStatus
    updated_at: datetime | None
    events: tuple[ParcelEvent, ...] = ()
    public_url: str = ""


@dataclass(frozen=True)
class TrackerUpdate:
    """A verified webhook's content: the event id (the inbox's duplicate key) and the tracker."""

    event_id: str
    topic: str
    tracker: TrackerData | None  # None for an event about something other than a tracker


class TrackingTemporaryError(TemporaryError):
    """The provider could not answer now (timeout, 429, 5xx): try again later."""


class TrackingRequestError(PermanentError):
    """The provider refused the request (bad tracking code, unknown tracker, bad key)."""


class TrackingClient(Protocol):
    def create_tracker(self, *, tracking_code: str, carrier: str) -> TrackerData:
        """Register a parcel; the provider answers the tracker it already has for the same code
        and carrier, so a retried call never creates a second one."""
        ...

    def get_tracker(self, *, tracker_id: str) -> TrackerData: ...


class TrackingWebhooks(Protocol):
    signature_header: str

    def is_valid_signature(self, body: bytes, headers: dict[str, str]) -> bool: ...

    def parse(self, body: bytes) -> TrackerUpdate:
        """The verified body as a TrackerUpdate; ValueError when it is not an event."""
        ...
