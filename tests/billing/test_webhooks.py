"""Stripe events through the inbox: verified, processed exactly once, in any order."""

import json
import time
from decimal import Decimal as D

import pytest
import requests

from billing.models import BankPayout, Charge, Refund, StripeEvent, TransferReversal
from billing.services import (
    StripeTemporaryError,
    schedule_payouts,
    transfer_payout,
)
from billing.services.ledger import unbalanced_transactions
from dropship.accounts.models import Notification
from integrations.models import InboundWebhook
from integrations.services import process_inbound_webhook
from orders.models import Dispute, SupplierOrder
from orders.services.payment import pay_supplier_order
from tests import factories
from tests.billing.helpers import paid_supplier_order, ship, supplier_order_for

pytestmark = pytest.mark.django_db


def _deliver(stripe_sandbox, client, events, callbacks_fixture):
    with callbacks_fixture(execute=True):
        for event in events:
            assert stripe_sandbox.deliver(client, event).status_code == 200


def _drain_inbox(rounds: int = 6) -> None:
    """What the sweeper does: process again what is left RECEIVED (a dependency came later)."""
    for _ in range(rounds):
        waiting = list(
            InboundWebhook.objects.filter(status="RECEIVED").values_list("pk", flat=True)
        )
        if not waiting:
            return
        for webhook_id in waiting:
            process_inbound_webhook(webhook_id=webhook_id)


def test_a_bad_signature_is_refused_and_nothing_is_stored(client, stripe_sandbox):
    supplier_order = paid_supplier_order(stripe_sandbox)
    event = stripe_sandbox.app.events_of("payment_intent.succeeded")[0]
    body = json.dumps(event).encode()

    wrong = stripe_sandbox.app.sign(body.decode(), secret="whsec_someone_else")
    stale = stripe_sandbox.app.sign(body.decode(), timestamp=int(time.time()) - 3600)
    answers = [
        client.post(
            "/webhooks/stripe/",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        ).status_code
        for signature in (wrong, stale, "")
    ]

    assert answers == [401, 401, 401]
    assert InboundWebhook.objects.count() == 0
    assert StripeEvent.objects.count() == 0
    assert supplier_order.status == "PAID"


def test_a_payment_our_crash_left_pending_is_booked_by_the_webhook_once(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    retailer = stripe_sandbox.save_card(factories.RetailerFactory())
    supplier_order = supplier_order_for(retailer)
    stripe_sandbox.app.add_fault("/v1/payment_intents", status=500, after=True)
    with pytest.raises(StripeTemporaryError):
        pay_supplier_order(supplier_order=supplier_order)
    (event,) = stripe_sandbox.app.events_of("payment_intent.succeeded")

    _deliver(stripe_sandbox, client, [event, event], django_capture_on_commit_callbacks)

    charge = Charge.objects.get()
    supplier_order.refresh_from_db()
    assert (charge.status, charge.stripe_fee, supplier_order.status) == (
        "SUCCEEDED",
        D("1.08"),
        "PAID",
    )
    assert charge.invoice is not None
    assert InboundWebhook.objects.get().duplicate_count == 1
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    # The pipeline's retried task now finds it paid and does not charge again.
    assert pay_supplier_order(supplier_order=supplier_order).is_paid
    assert len(stripe_sandbox.app.payment_intents()) == 1
    assert unbalanced_transactions() == {}


def test_a_refund_made_in_the_dashboard_is_booked_once(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = paid_supplier_order(stripe_sandbox)
    charge_id = supplier_order.charges.get().stripe_charge_id
    stripe_sandbox.app.refund_in_dashboard(charge_id, 700, silent=False)
    (event,) = stripe_sandbox.app.events_of("charge.refunded")

    _deliver(stripe_sandbox, client, [event, event, event], django_capture_on_commit_callbacks)

    refund = Refund.objects.get()
    assert (refund.source, refund.status, refund.amount, refund.supplier_share) == (
        "STRIPE",
        "SUCCEEDED",
        D("7.00"),
        D("7.00"),
    )
    assert refund.reason == "Refunded in the Stripe dashboard"
    assert Charge.objects.get().amount_refunded == D("7.00")


def test_our_own_refund_confirmed_by_the_webhook_is_not_booked_twice(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    from billing.services import refund_supplier_order

    supplier_order = paid_supplier_order(stripe_sandbox)
    refund_supplier_order(supplier_order=supplier_order, amount=D("4.00"), reason="Dent")
    events = stripe_sandbox.app.events_of("charge.refunded")

    _deliver(stripe_sandbox, client, events, django_capture_on_commit_callbacks)

    assert Refund.objects.count() == 1
    assert Charge.objects.get().amount_refunded == D("4.00")


def test_a_payment_failed_event_for_a_pending_attempt_fails_it(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    retailer = stripe_sandbox.save_card(factories.RetailerFactory(), "4000000000000341")
    supplier_order = supplier_order_for(retailer)
    stripe_sandbox.app.add_fault("/v1/payment_intents", status=502, after=True)
    with pytest.raises(StripeTemporaryError):
        pay_supplier_order(supplier_order=supplier_order)

    _deliver(
        stripe_sandbox,
        client,
        stripe_sandbox.app.events_of("payment_intent.payment_failed"),
        django_capture_on_commit_callbacks,
    )

    supplier_order.refresh_from_db()
    assert supplier_order.status == "PAYMENT_FAILED"
    assert Charge.objects.get().failure_message == "Your card was declined."


def test_the_retailer_closing_the_browser_still_gets_its_card_saved(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    from billing.services import start_card_setup

    retailer = factories.RetailerFactory()
    url = start_card_setup(retailer=retailer, success_url="http://x.test/", cancel_url="")
    requests.post(url, data={"cardnumber": "5555555555554444"}, allow_redirects=False, timeout=10)

    _deliver(
        stripe_sandbox,
        client,
        stripe_sandbox.app.events_of("checkout.session.completed"),
        django_capture_on_commit_callbacks,
    )

    retailer.refresh_from_db()
    assert (retailer.card_brand, retailer.card_last4) == ("mastercard", "4444")


def test_a_reversal_made_in_the_dashboard_is_booked_and_owed_back(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    (payout,) = schedule_payouts()
    transfer_payout(payout_id=payout.pk)
    payout.refresh_from_db()
    requests.post(
        f"{stripe_sandbox.base_url}/v1/transfers/{payout.stripe_transfer_id}/reversals",
        data={"amount": "500"},
        headers={"Authorization": "Bearer sk_test_dropship_sandbox"},
        timeout=10,
    )
    events = stripe_sandbox.app.events_of("transfer.reversed")

    _deliver(stripe_sandbox, client, events + events, django_capture_on_commit_callbacks)

    reversal = TransferReversal.objects.get()
    assert (reversal.amount, reversal.refund_id, reversal.status) == (D("5.00"), None, "SUCCEEDED")
    payout.refresh_from_db()
    assert payout.amount_reversed == D("5.00")


def test_a_failed_bank_payout_tells_the_supplier(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier = factories.SupplierMemberFactory().supplier
    account = stripe_sandbox.connect_supplier(supplier)
    stripe_sandbox.app.bank_payout(account.stripe_account_id, amount=2400, fail=True)

    _deliver(
        stripe_sandbox,
        client,
        stripe_sandbox.app.events_of("payout.failed"),
        django_capture_on_commit_callbacks,
    )

    bank = BankPayout.objects.get()
    assert (bank.status, bank.amount, bank.failure_message) == (
        "FAILED",
        D("24.00"),
        "The bank account has been closed.",
    )
    notice = Notification.objects.get(supplier=supplier, kind="billing.bank_payout_failed")
    assert notice.message.startswith("Stripe could not pay $24.00 to your bank")


def test_events_delivered_in_reverse_order_and_twice_end_in_the_same_state(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    """Stripe does not promise order. Everything that happened is replayed newest first, each
    event twice; the end state is what in-order delivery gives."""
    retailer = stripe_sandbox.save_card(factories.RetailerFactory())
    crashed = supplier_order_for(retailer)
    stripe_sandbox.app.add_fault("/v1/payment_intents", status=500, after=True)
    with pytest.raises(StripeTemporaryError):
        pay_supplier_order(supplier_order=crashed)  # Stripe charged; we never booked it
    charge_id = stripe_sandbox.app.payment_intents()[0]["latest_charge"]
    stripe_sandbox.app.refund_in_dashboard(charge_id, 500, silent=False)
    disputed = ship(paid_supplier_order(stripe_sandbox, retailer=retailer), days_ago=8)
    supplier = disputed.supplier
    account = stripe_sandbox.connect_supplier(supplier)
    dispute = stripe_sandbox.app.open_dispute(disputed.charges.get().stripe_charge_id)
    stripe_sandbox.app.close_dispute(dispute["id"], status="won")
    stripe_sandbox.app.clock.advance(1.1)  # Stripe timestamps have one-second steps: newer next
    stripe_sandbox.app.require_details(account.stripe_account_id, ["external_account"])
    stripe_sandbox.app.bank_payout(account.stripe_account_id, amount=1000)
    events = stripe_sandbox.app.events_of(*stripe_sandbox.app.enabled_events)
    assert sorted(event["type"] for event in events) == [
        "account.updated",  # onboarded
        "account.updated",  # details required again
        "charge.dispute.closed",
        "charge.dispute.created",
        "charge.refunded",
        "checkout.session.completed",  # the card saved
        "payment_intent.succeeded",  # the crashed charge
        "payment_intent.succeeded",  # the disputed order's charge
        "payout.paid",
        "refund.created",  # the dashboard refund of the crashed charge
    ]

    _deliver(
        stripe_sandbox,
        client,
        [e for event in reversed(events) for e in (event, event)],
        django_capture_on_commit_callbacks,
    )
    _drain_inbox()

    assert InboundWebhook.objects.exclude(status="PROCESSED").count() == 0
    assert StripeEvent.objects.count() == len(events)
    crashed.refresh_from_db()
    charge = crashed.charges.get()
    assert (crashed.status, charge.status, charge.amount_refunded) == (
        SupplierOrder.Status.PAID,
        "PARTIALLY_REFUNDED",
        D("5.00"),
    )
    assert Refund.objects.get().amount == D("5.00")
    row = Dispute.objects.get()
    assert (row.status, row.stripe_dispute_id) == ("WON", dispute["id"])
    assert row.closed_at is not None
    connected = supplier.connected_account
    connected.refresh_from_db()
    assert connected.is_enabled is False  # the newest account.updated wins
    assert connected.requirements_due == ["external_account"]
    assert BankPayout.objects.get().status == "PAID"
    assert unbalanced_transactions() == {}
