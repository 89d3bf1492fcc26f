"""Stripe events, once each: every inbox handler of a Stripe topic (billing's, and the order
pipeline's for PaymentIntents) claims the event id before it acts, so a duplicate or replayed
delivery is a no-op."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from billing.models import StripeEvent


def claim_stripe_event(*, event: dict[str, Any]) -> bool:
    """True the first time this event id is seen; the row is rolled back if the handler fails."""
    _, created = StripeEvent.objects.get_or_create(
        event_id=event["id"],
        defaults={
            "type": event.get("type", "")[:64],
            "created": datetime.fromtimestamp(int(event.get("created") or 0), tz=UTC),
            "payload": event,
        },
    )
    return created


def event_object(event: dict[str, Any]) -> dict[str, Any]:
    """The object an event is about (`data.object`: a PaymentIntent, a Charge, a Payout...)."""
    return (event.get("data") or {}).get("object") or {}
