"""The tracking provider's events, run by the inbox task (integrations/views.tracking_webhook
stored them): each `tracker.updated` (or `tracker.created`) carries the parcel's whole history,
applied by orders.services.delivery. A tracker we hold no shipment for is logged and ignored
(the row is PROCESSED: nothing to retry)."""

from __future__ import annotations

import logging

from integrations.models import InboundWebhook
from integrations.registry import get_tracking_webhooks
from integrations.webhooks.handlers import register
from orders.services.delivery import apply_tracker_update

logger = logging.getLogger(__name__)


@register(InboundWebhook.Source.CARRIER, "tracker.updated")
@register(InboundWebhook.Source.CARRIER, "tracker.created")
def handle_tracker_event(webhook: InboundWebhook, payload: dict) -> None:
    update = get_tracking_webhooks().parse(bytes(webhook.body))
    if update.tracker is None:
        return
    shipment = apply_tracker_update(tracker=update.tracker)
    if shipment is None:
        logger.info(
            "Tracking event %s ignored: no shipment has tracker %s.",
            update.event_id,
            update.tracker.tracker_id,
        )
