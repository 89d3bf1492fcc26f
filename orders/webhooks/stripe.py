"""Inbox handlers for Stripe's word on PaymentIntents (registered in OrdersConfig.ready()).

A payment's outcome moves a supplier order, which the order pipeline owns, so these two topics
are handled here rather than in billing/webhooks.py: the event id is claimed like every Stripe
event, billing books the charge, and orders.services.payment moves the supplier order (PAID, or
PAYMENT_FAILED with the retailer told). They settle attempts our own call did not (a crash
between Stripe's answer and our commit, a lost answer)."""

from __future__ import annotations

from billing.services import claim_stripe_event, event_object
from integrations.models import InboundWebhook
from integrations.webhooks.handlers import register
from orders.services.payment import apply_payment_intent_failed, apply_payment_intent_succeeded

STRIPE = InboundWebhook.Source.STRIPE


@register(STRIPE, "payment_intent.succeeded")
def handle_payment_intent_succeeded(webhook: InboundWebhook, payload: dict) -> None:
    if claim_stripe_event(event=payload):
        apply_payment_intent_succeeded(intent=event_object(payload))


@register(STRIPE, "payment_intent.payment_failed")
def handle_payment_intent_failed(webhook: InboundWebhook, payload: dict) -> None:
    if claim_stripe_event(event=payload):
        apply_payment_intent_failed(intent=event_object(payload))
