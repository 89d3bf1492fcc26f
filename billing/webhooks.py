"""Stripe events through the webhook inbox. Each handler runs in the inbox row's transaction,
claims the event id in StripeEvent first (a duplicate or replayed delivery is a no-op), then
calls one billing service. Events may arrive in any order: services ignore older news and raise
TemporaryError when an event depends on one not booked yet (the inbox retries it)."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.models import StripeEvent
from billing.services import cards, connect, payments, payouts, refunds
from integrations.models import InboundWebhook
from integrations.webhooks.handlers import register

STRIPE = InboundWebhook.Source.STRIPE
HANDLED_EVENT_TYPES = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
    "account.updated",
    "transfer.reversed",
    "payout.paid",
    "payout.failed",
    "checkout.session.completed",
]


def _claim(payload: dict) -> bool:
    """True the first time this event id is seen; the row is rolled back if the handler fails."""
    _, created = StripeEvent.objects.get_or_create(
        event_id=payload["id"],
        defaults={
            "type": payload.get("type", "")[:64],
            "created": datetime.fromtimestamp(int(payload.get("created") or 0), tz=UTC),
            "payload": payload,
        },
    )
    return created


def _object(payload: dict) -> dict:
    return (payload.get("data") or {}).get("object") or {}


@register(STRIPE, "payment_intent.succeeded")
def handle_payment_intent_succeeded(webhook: InboundWebhook, payload: dict) -> None:
    if _claim(payload):
        payments.apply_payment_intent_succeeded(intent=_object(payload))


@register(STRIPE, "payment_intent.payment_failed")
def handle_payment_intent_failed(webhook: InboundWebhook, payload: dict) -> None:
    if _claim(payload):
        payments.apply_payment_intent_failed(intent=_object(payload))


@register(STRIPE, "charge.refunded")
def handle_charge_refunded(webhook: InboundWebhook, payload: dict) -> None:
    if _claim(payload):
        refunds.apply_charge_refunded(stripe_charge=_object(payload))


@register(STRIPE, "charge.dispute.created")
@register(STRIPE, "charge.dispute.closed")
def handle_dispute(webhook: InboundWebhook, payload: dict) -> None:
    if _claim(payload):
        refunds.apply_dispute(dispute=_object(payload))


@register(STRIPE, "account.updated")
def handle_account_updated(webhook: InboundWebhook, payload: dict) -> None:
    if _claim(payload):
        connect.apply_account_update(
            account=_object(payload), observed_at=connect.event_time(payload)
        )


@register(STRIPE, "transfer.reversed")
def handle_transfer_reversed(webhook: InboundWebhook, payload: dict) -> None:
    if _claim(payload):
        payouts.apply_transfer_reversed(transfer=_object(payload))


@register(STRIPE, "payout.paid")
@register(STRIPE, "payout.failed")
def handle_bank_payout(webhook: InboundWebhook, payload: dict) -> None:
    if _claim(payload):
        connect.record_bank_payout(
            payout=_object(payload),
            account_id=payload.get("account") or "",
            observed_at=connect.event_time(payload),
        )


@register(STRIPE, "checkout.session.completed")
def handle_checkout_session_completed(webhook: InboundWebhook, payload: dict) -> None:
    if _claim(payload):
        cards.apply_checkout_session_completed(session=_object(payload))
