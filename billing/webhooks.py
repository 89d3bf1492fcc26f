"""Stripe events through the webhook inbox. Each handler runs in the inbox row's transaction,
claims the event id in StripeEvent first (a duplicate or replayed delivery is a no-op), then
calls one billing service. Events may arrive in any order: services ignore older news and raise
TemporaryError when an event depends on one not booked yet (the inbox retries it).

Events of suppliers' connected accounts (account.updated, payout.paid / payout.failed) come from
the Connect endpoint and carry the account's id in `account`; the inbox view never lets one through
the platform endpoint (https://docs.stripe.com/connect/webhooks). Objects are read through
integrations/stripe/mappers.py.

The PaymentIntent topics are the order pipeline's (orders/webhooks/stripe.py): a payment's outcome
moves a supplier order, so orders handles them and billing books the charge it is asked to."""

from __future__ import annotations

from billing.services import cards, connect, payouts, plans, refunds
from billing.services.stripe_events import claim_stripe_event, event_object
from integrations.models import InboundWebhook
from integrations.stripe.mappers import (
    to_bank_payout,
    to_connected_account,
    to_refund,
    to_subscription_invoice,
)
from integrations.webhooks.handlers import register

STRIPE = InboundWebhook.Source.STRIPE
# Every event the Stripe endpoint is set up to send (devstack, tests), whichever app handles it.
HANDLED_EVENT_TYPES = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "charge.dispute.created",
    "charge.dispute.closed",
    "account.updated",
    "transfer.reversed",
    "payout.paid",
    "payout.failed",
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.marked_uncollectible",
]


@register(STRIPE, "charge.refunded")
def handle_charge_refunded(webhook: InboundWebhook, payload: dict) -> None:
    if claim_stripe_event(event=payload):
        refunds.apply_charge_refunded(charge_id=str(event_object(payload).get("id") or ""))


@register(STRIPE, "refund.created")
@register(STRIPE, "refund.updated")
def handle_refund(webhook: InboundWebhook, payload: dict) -> None:
    if claim_stripe_event(event=payload):
        refunds.apply_refund(refund=to_refund(event_object(payload)))


@register(STRIPE, "charge.dispute.created")
@register(STRIPE, "charge.dispute.closed")
def handle_dispute(webhook: InboundWebhook, payload: dict) -> None:
    if claim_stripe_event(event=payload):
        refunds.apply_dispute(dispute=event_object(payload))


@register(STRIPE, "account.updated")
def handle_account_updated(webhook: InboundWebhook, payload: dict) -> None:
    # Without `account` it is the platform's own account: nothing of a supplier's.
    if claim_stripe_event(event=payload) and payload.get("account"):
        connect.apply_account_update(
            account=to_connected_account(event_object(payload)),
            observed_at=connect.event_time(payload),
        )


@register(STRIPE, "transfer.reversed")
def handle_transfer_reversed(webhook: InboundWebhook, payload: dict) -> None:
    if claim_stripe_event(event=payload):
        payouts.apply_transfer_reversed(transfer=event_object(payload))


@register(STRIPE, "payout.paid")
@register(STRIPE, "payout.failed")
def handle_bank_payout(webhook: InboundWebhook, payload: dict) -> None:
    # Without `account` it is the platform's own payout to its bank: not a supplier's.
    if claim_stripe_event(event=payload) and payload.get("account"):
        connect.record_bank_payout(
            payout=to_bank_payout(event_object(payload)),
            account_id=payload["account"],
            observed_at=connect.event_time(payload),
        )


@register(STRIPE, "checkout.session.completed")
def handle_checkout_session_completed(webhook: InboundWebhook, payload: dict) -> None:
    if claim_stripe_event(event=payload):
        session = event_object(payload)
        if session.get("mode") == "subscription":
            plans.apply_checkout_session_completed(session=session)
        else:
            cards.apply_checkout_session_completed(session=session)


# Plans on Stripe Billing (https://docs.stripe.com/billing/subscriptions/webhooks). A subscription
# event is a prompt to read the subscription from Stripe and apply its current state, so a
# repeated or late event cannot move it backwards; an invoice event keeps the invoice (never
# moving it back from paid), books a paid one once, and reads its subscription again (a failed
# renewal makes it past_due: https://docs.stripe.com/billing/revenue-recovery/smart-retries).
@register(STRIPE, "customer.subscription.created")
@register(STRIPE, "customer.subscription.updated")
@register(STRIPE, "customer.subscription.deleted")
def handle_subscription(webhook: InboundWebhook, payload: dict) -> None:
    if claim_stripe_event(event=payload):
        plans.sync_subscription(subscription_id=str(event_object(payload).get("id") or ""))


@register(STRIPE, "invoice.finalized")
@register(STRIPE, "invoice.paid")
@register(STRIPE, "invoice.payment_failed")
@register(STRIPE, "invoice.marked_uncollectible")
def handle_subscription_invoice(webhook: InboundWebhook, payload: dict) -> None:
    if not claim_stripe_event(event=payload):
        return
    invoice = to_subscription_invoice(event_object(payload))
    if not invoice.subscription:
        return  # not a subscription's invoice: nothing of ours
    plans.record_subscription_invoice(data=invoice)
    if payload.get("type") != "invoice.finalized":
        plans.sync_subscription(subscription_id=invoice.subscription)
