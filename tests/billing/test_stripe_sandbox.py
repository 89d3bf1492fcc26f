"""The Stripe sandbox behaves like Stripe for the calls we make: form-encoded bracket keys, bearer
keys, Stripe-Account, idempotency keys, the hosted pages, faults and signed webhooks."""

import json

import pytest
import requests
import stripe

from integrations.stripe import client as stripe_client
from sandbox.stripe import decode_form, processing_fee


def _post(sandbox, path, data, *, key="sk_test_dropship_sandbox", idempotency_key=None, **headers):
    sent = {"Authorization": f"Bearer {key}", **headers}
    if idempotency_key:
        sent["Idempotency-Key"] = idempotency_key
    return requests.post(f"{sandbox.base_url}{path}", data=data, headers=sent, timeout=10)


def test_bracket_keys_decode_to_nested_objects_and_lists():
    pairs = [
        ("metadata[order]", "SO-1"),
        ("expand[]", "latest_charge"),
        ("expand[]", "customer"),
        ("capabilities[transfers][requested]", "true"),
        ("payment_method_types[0]", "card"),
        ("amount", "2700"),
    ]
    assert decode_form(pairs) == {
        "metadata": {"order": "SO-1"},
        "expand": ["latest_charge", "customer"],
        "capabilities": {"transfers": {"requested": "true"}},
        "payment_method_types": ["card"],
        "amount": "2700",
    }


def test_processing_fee_is_stripes_standard_price():
    assert [processing_fee(a) for a in (2700, 1000, 50, 99999)] == [108, 59, 31, 2930]


def test_a_wrong_or_missing_key_is_401(stripe_sandbox):
    wrong = _post(stripe_sandbox, "/v1/customers", {"email": "a@example.com"}, key="sk_test_nope")
    missing = requests.post(f"{stripe_sandbox.base_url}/v1/customers", timeout=10)
    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert wrong.json()["error"]["message"].startswith("Invalid API Key provided")
    assert stripe_sandbox.app.objects_of("customer") == []


def test_an_idempotency_key_replays_the_first_answer_and_refuses_other_parameters(stripe_sandbox):
    first = _post(stripe_sandbox, "/v1/customers", {"email": "a@example.com"}, idempotency_key="k1")
    again = _post(stripe_sandbox, "/v1/customers", {"email": "a@example.com"}, idempotency_key="k1")
    other = _post(stripe_sandbox, "/v1/customers", {"email": "b@example.com"}, idempotency_key="k1")

    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"
    assert len(stripe_sandbox.app.objects_of("customer")) == 1


def test_stripe_python_maps_the_sandbox_answers_to_its_errors(stripe_sandbox):
    stripe_client.create_customer(email="a@x.test", name="A", metadata={}, idempotency_key="k2")
    with pytest.raises(stripe_client.IdempotencyConflict, match="same parameters"):
        stripe_client.create_customer(email="b@x.test", name="A", metadata={}, idempotency_key="k2")
    stripe_sandbox.app.add_fault("/v1/customers", status=503)
    with pytest.raises(stripe_client.StripeTemporaryError, match="503"):
        stripe_client.create_customer(email="c@x.test", name="C", metadata={}, idempotency_key="k3")
    stripe_sandbox.app.add_fault("/v1/customers", status=429)
    with pytest.raises(stripe_client.StripeTemporaryError, match="429"):
        stripe_client.create_customer(email="c@x.test", name="C", metadata={}, idempotency_key="k3")
    assert len(stripe_sandbox.app.objects_of("customer")) == 1


def test_stripe_account_header_must_name_a_connected_account(stripe_sandbox):
    answer = requests.get(
        f"{stripe_sandbox.base_url}/v1/balance",
        headers={
            "Authorization": "Bearer sk_test_dropship_sandbox",
            "Stripe-Account": "acct_unknown",
        },
        timeout=10,
    )
    assert answer.status_code == 403
    assert "does not have access to account 'acct_unknown'" in answer.json()["error"]["message"]


def test_the_hosted_checkout_page_saves_a_card_and_redirects_to_success_url(stripe_sandbox):
    customer = stripe_client.create_customer(
        email="r@x.test", name="R", metadata={}, idempotency_key="c"
    )
    session = stripe_client.create_setup_session(
        customer_id=customer["id"],
        success_url="http://shop.test/ok?s={CHECKOUT_SESSION_ID}",
        cancel_url="http://shop.test/cancel",
        metadata={},
    )
    page = requests.get(session["url"], timeout=10)
    assert page.status_code == 200
    assert '<label for="cardnumber">Card number</label>' in page.text

    declined = requests.post(
        session["url"],
        data={"cardnumber": "4000 0000 0000 0002"},
        allow_redirects=False,
        timeout=10,
    )
    saved = requests.post(
        session["url"],
        data={"cardnumber": "5555 5555 5555 4444"},
        allow_redirects=False,
        timeout=10,
    )

    assert declined.status_code == 402
    assert "Your card was declined." in declined.text
    assert saved.status_code == 303
    assert saved.headers["Location"] == f"http://shop.test/ok?s={session['id']}"
    done = stripe_client.retrieve_checkout_session(session["id"])
    method = done["setup_intent"]["payment_method"]
    assert (done["status"], method["card"]["brand"], method["card"]["last4"]) == (
        "complete",
        "mastercard",
        "4444",
    )
    assert method["customer"] == customer["id"]


def test_webhooks_are_signed_with_stripe_pythons_helper_and_verify(stripe_sandbox, settings):
    customer = stripe_client.create_customer(
        email="r@x.test", name="R", metadata={}, idempotency_key="c"
    )
    session = stripe_client.create_setup_session(
        customer_id=customer["id"], success_url="http://x.test/", cancel_url="", metadata={}
    )
    requests.post(
        session["url"], data={"cardnumber": "4242424242424242"}, allow_redirects=False, timeout=10
    )
    event = stripe_sandbox.app.events_of("checkout.session.completed")[0]
    body, headers = stripe_sandbox.app.signed_delivery(event)

    verified = stripe.Webhook.construct_event(
        body.decode(), headers["Stripe-Signature"], settings.STRIPE_WEBHOOK_SECRET
    )

    assert verified.id == event["id"]
    assert json.loads(body)["data"]["object"]["id"] == session["id"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode(), headers["Stripe-Signature"], "whsec_other")


def test_the_sandbox_delivers_enabled_events_to_its_endpoint(live_server, stripe_sandbox, db):
    stripe_sandbox.app.webhook_url = f"{live_server.url}/webhooks/stripe/"
    customer = stripe_client.create_customer(
        email="r@x.test", name="R", metadata={}, idempotency_key="c"
    )
    session = stripe_client.create_setup_session(
        customer_id=customer["id"], success_url="http://x.test/", cancel_url="", metadata={}
    )
    requests.post(
        session["url"], data={"cardnumber": "4242424242424242"}, allow_redirects=False, timeout=10
    )
    stripe_sandbox.app.wait_for_deliveries()

    delivered = [(d.topic, d.status) for d in stripe_sandbox.app.deliveries]
    # payment_method.attached and setup_intent.succeeded are not enabled on the endpoint.
    assert delivered == [("checkout.session.completed", 200)]


@pytest.mark.django_db
def test_a_connected_accounts_own_balance_is_read_with_the_stripe_account_header(stripe_sandbox):
    from billing.services import schedule_payouts, transfer_payout
    from tests.billing.helpers import paid_supplier_order, ship

    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    account = stripe_sandbox.connect_supplier(supplier_order.supplier)
    (payout,) = schedule_payouts()
    transfer_payout(payout_id=payout.pk)

    answer = requests.get(
        f"{stripe_sandbox.base_url}/v1/balance",
        headers={
            "Authorization": "Bearer sk_test_dropship_sandbox",
            "Stripe-Account": account.stripe_account_id,
        },
        timeout=10,
    )

    assert answer.status_code == 200
    assert answer.json()["pending"] == [
        {"amount": 2400, "currency": "usd", "source_types": {"card": 2400}}
    ]
