"""Connected accounts' events come to their own Connect endpoint with its own secret; the
platform endpoint never acts on them; a lost account.updated is caught by the hourly refresh;
suppliers abroad get the service agreement cross-border payouts need."""

import json

import pytest
import requests
import stripe

from billing.models import ConnectedAccount, StripeEvent
from billing.services import (
    PayoutSetupError,
    schedule_payouts,
    start_payout_onboarding,
    transfer_payout,
)
from billing.tasks import refresh_held_accounts_task
from integrations.models import InboundWebhook
from integrations.stripe.regions import service_agreement_for
from tests import factories
from tests.billing.helpers import paid_supplier_order, ship

pytestmark = pytest.mark.django_db


def _post(client, path, event, secret):
    body = json.dumps(event)
    return client.post(
        path,
        data=body.encode(),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe.WebhookSignature.generate_signature_header(body, secret),
    )


def _onboarded_account_event(stripe_sandbox):
    """A supplier whose onboarding Stripe finished; its account.updated not delivered yet."""
    supplier = factories.SupplierMemberFactory().supplier
    account = stripe_sandbox.connect_supplier(supplier, complete=False)
    stripe_sandbox.app.complete_onboarding(account.stripe_account_id)
    (event,) = stripe_sandbox.app.events_of("account.updated")
    return supplier, event


def test_account_updated_is_accepted_on_the_connect_endpoint_signed_with_its_own_secret(
    client, stripe_sandbox, settings, django_capture_on_commit_callbacks
):
    supplier, event = _onboarded_account_event(stripe_sandbox)
    assert event["account"] == supplier.connected_account.stripe_account_id

    signed_for_the_platform = _post(
        client, "/webhooks/stripe/connect/", event, settings.STRIPE_WEBHOOK_SECRET
    )
    assert signed_for_the_platform.status_code == 401
    assert InboundWebhook.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        answer = stripe_sandbox.deliver(client, event)

    assert (answer.status_code, answer.json()) == (200, {"detail": "accepted"})
    connected = ConnectedAccount.objects.get(supplier=supplier)
    assert (connected.is_enabled, connected.requirements_due) == (True, [])
    assert InboundWebhook.objects.get().status == "PROCESSED"


def test_a_connected_accounts_event_on_the_platform_endpoint_is_recorded_and_not_acted_on(
    client, stripe_sandbox, settings, django_capture_on_commit_callbacks
):
    """Stripe never sends a connected account's event to the account endpoint; the old sandbox
    did (switch `connect_endpoint` off). Such a delivery is kept FAILED with the reason."""
    supplier, event = _onboarded_account_event(stripe_sandbox)
    stripe_sandbox.app.connect_endpoint = False

    with django_capture_on_commit_callbacks(execute=True):
        answer = stripe_sandbox.deliver(client, event)

    assert answer.status_code == 200
    assert answer.json()["detail"].startswith("ignored: An event of connected account acct_")
    webhook = InboundWebhook.objects.get()
    assert (webhook.status, webhook.topic) == ("FAILED", "account.updated")
    assert "/webhooks/stripe/connect/" in webhook.last_error
    assert StripeEvent.objects.count() == 0
    assert ConnectedAccount.objects.get(supplier=supplier).is_enabled is False


def test_a_platform_event_on_the_connect_endpoint_is_recorded_and_not_acted_on(
    client, stripe_sandbox, settings
):
    paid_supplier_order(stripe_sandbox)
    (event,) = stripe_sandbox.app.events_of("payment_intent.succeeded")

    answer = _post(
        client, "/webhooks/stripe/connect/", event, settings.STRIPE_CONNECT_WEBHOOK_SECRET
    )

    assert answer.status_code == 200
    assert InboundWebhook.objects.get().status == "FAILED"
    assert StripeEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "setting"),
    [
        ("/webhooks/stripe/", "STRIPE_WEBHOOK_SECRET"),
        ("/webhooks/stripe/connect/", "STRIPE_CONNECT_WEBHOOK_SECRET"),
    ],
)
def test_an_endpoint_without_a_secret_refuses_every_delivery(
    client, stripe_sandbox, settings, path, setting
):
    """An empty secret must not let through a signature anyone can compute with it."""
    _, event = _onboarded_account_event(stripe_sandbox)
    setattr(settings, setting, "")

    answer = _post(client, path, event, "")

    assert (answer.status_code, answer.json()) == (
        401,
        {"detail": "Stripe webhooks are not configured: the signing secret is unset."},
    )
    assert InboundWebhook.objects.count() == 0


def test_the_sandbox_delivers_connected_accounts_events_to_the_connect_endpoint(
    live_server, stripe_sandbox
):
    stripe_sandbox.app.webhook_url = f"{live_server.url}/webhooks/stripe/"
    stripe_sandbox.app.connect_webhook_url = f"{live_server.url}/webhooks/stripe/connect/"
    supplier = factories.SupplierMemberFactory().supplier

    stripe_sandbox.connect_supplier(supplier)
    stripe_sandbox.app.wait_for_deliveries()

    assert [(d.url, d.topic, d.status) for d in stripe_sandbox.app.deliveries] == [
        (f"{live_server.url}/webhooks/stripe/connect/", "account.updated", 200)
    ]


def test_a_lost_account_updated_is_caught_by_the_refresh_of_held_accounts(
    stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    supplier = supplier_order.supplier
    account = stripe_sandbox.connect_supplier(supplier, complete=False)
    (payout,) = schedule_payouts()
    transfer_payout(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == "HELD"
    # Stripe finishes the onboarding; its account.updated never reaches us.
    stripe_sandbox.app.complete_onboarding(account.stripe_account_id)

    with django_capture_on_commit_callbacks(execute=True):
        assert refresh_held_accounts_task() == 1

    payout.refresh_from_db()
    assert (payout.status, payout.status_reason) == ("PAID", "")
    assert len(stripe_sandbox.app.objects_of("transfer")) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert refresh_held_accounts_task() == 0  # nothing held any more


# --- cross-border suppliers ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("platform", "account", "agreement"),
    [
        ("US", "US", "full"),
        ("US", "DE", "recipient"),
        ("DE", "FR", "full"),
        ("GB", "FR", "recipient"),
    ],
)
def test_the_service_agreement_follows_the_platforms_region(platform, account, agreement):
    assert service_agreement_for(platform_country=platform, account_country=account) == agreement


def test_a_supplier_abroad_gets_a_recipient_account_that_can_be_paid(stripe_sandbox):
    supplier = factories.SupplierMemberFactory(supplier__ship_from_country="DE").supplier

    start_payout_onboarding(
        supplier=supplier, return_url="http://x.test/r", refresh_url="http://x.test/f"
    )

    (account,) = stripe_sandbox.app.objects_of("account")
    assert (account["country"], account["tos_acceptance"]["service_agreement"]) == (
        "DE",
        "recipient",
    )
    assert ConnectedAccount.objects.get(supplier=supplier).stripe_account_id == account["id"]


def test_the_sandbox_refuses_a_cross_border_account_under_the_full_agreement(
    stripe_sandbox, settings
):
    settings.STRIPE_PLATFORM_COUNTRY = "DE"  # we think we are in Germany; Stripe knows the US
    supplier = factories.SupplierMemberFactory(supplier__ship_from_country="FR").supplier

    with pytest.raises(PayoutSetupError, match=r"Connected accounts in FR cannot be created"):
        start_payout_onboarding(
            supplier=supplier, return_url="http://x.test/r", refresh_url="http://x.test/f"
        )

    assert ConnectedAccount.objects.count() == 0
    answer = requests.post(
        f"{stripe_sandbox.base_url}/v1/accounts",
        data={"type": "express", "country": "FR", "tos_acceptance[service_agreement]": "recipient"},
        headers={"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["tos_acceptance"]["service_agreement"] == "recipient"
