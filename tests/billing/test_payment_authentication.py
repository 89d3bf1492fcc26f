"""Off-session payments the retailer's bank wants authenticated (3-D Secure): the supplier order
waits in PAYMENT_FAILED with a link; the retailer confirms on-session on its bank's page."""

import re
from urllib.parse import urlsplit

import pytest
import requests

from billing.models import Charge
from billing.services.ledger import unbalanced_transactions
from dropship.accounts.models import Notification
from orders.models import SupplierOrder
from orders.services.payment import pay_supplier_order
from tests.billing.helpers import supplier_order_for

pytestmark = pytest.mark.django_db
ALWAYS_3DS = "4000002760003184"
SET_UP_FOR_OFF_SESSION = "4000002500003155"


def _waiting_for_authentication(stripe_sandbox, retailer):
    stripe_sandbox.save_card(retailer, ALWAYS_3DS)
    supplier_order = supplier_order_for(retailer)
    result = pay_supplier_order(supplier_order=supplier_order)
    assert result.is_paid is False
    return result.supplier_order


def test_a_payment_needing_authentication_waits_with_a_link_for_the_retailer(
    retailer_client, stripe_sandbox, settings
):
    supplier_order = _waiting_for_authentication(stripe_sandbox, retailer_client.retailer)

    link = f"{settings.SITE_URL}/retailer/payments/{supplier_order.pk}/confirm/"
    assert supplier_order.status == SupplierOrder.Status.PAYMENT_FAILED
    assert supplier_order.status_reason == (
        f"Your bank asks you to confirm this payment (3-D Secure): {link}"
    )
    charge = Charge.objects.get()
    assert (charge.status, charge.failure_code, charge.needs_authentication) == (
        "FAILED",
        "authentication_required",
        True,
    )
    notice = Notification.objects.get(kind="billing.payment_failed")
    assert link in notice.message
    (intent,) = stripe_sandbox.app.payment_intents()
    assert (intent["status"], intent["last_payment_error"]["code"]) == (
        "requires_payment_method",
        "authentication_required",
    )
    page = retailer_client.get(urlsplit(link).path)
    assert page.status_code == 200
    assert "Confirm with my bank" in page.content.decode()


def test_the_retailer_confirms_on_its_banks_page_and_the_order_is_paid_once(
    retailer_client, stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = _waiting_for_authentication(stripe_sandbox, retailer_client.retailer)
    confirm = f"/retailer/payments/{supplier_order.pk}/confirm/"

    answer = retailer_client.post(confirm)
    assert answer.status_code == 302
    bank_page = answer["Location"]
    assert re.fullmatch(rf"{stripe_sandbox.base_url}/3ds/pi_\w+", bank_page)
    back = requests.post(bank_page, data={"action": "complete"}, allow_redirects=False, timeout=10)
    assert back.status_code == 303
    returned = urlsplit(back.headers["Location"])
    assert returned.path == f"/retailer/payments/{supplier_order.pk}/confirmed/"
    with django_capture_on_commit_callbacks(execute=True):
        done = retailer_client.get(f"{returned.path}?{returned.query}")

    assert done.status_code == 302
    supplier_order.refresh_from_db()
    assert supplier_order.status in (SupplierOrder.Status.PAID, SupplierOrder.Status.SENT)
    assert supplier_order.status_reason == ""
    charge = Charge.objects.get()
    assert (charge.status, str(charge.stripe_fee)) == ("SUCCEEDED", "1.08")
    assert charge.stripe_charge_id.startswith("ch_")
    assert len(stripe_sandbox.app.payment_intents()) == 1  # the same PaymentIntent, confirmed
    assert unbalanced_transactions() == {}
    # Coming back again (a reload) changes nothing.
    retailer_client.get(f"{returned.path}?{returned.query}")
    assert Charge.objects.get().status == "SUCCEEDED"


def test_a_failed_authentication_keeps_the_order_waiting(retailer_client, stripe_sandbox):
    supplier_order = _waiting_for_authentication(stripe_sandbox, retailer_client.retailer)
    bank_page = retailer_client.post(f"/retailer/payments/{supplier_order.pk}/confirm/")["Location"]
    back = requests.post(bank_page, data={"action": "fail"}, allow_redirects=False, timeout=10)
    returned = urlsplit(back.headers["Location"])

    retailer_client.get(f"{returned.path}?{returned.query}")

    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.PAYMENT_FAILED
    assert supplier_order.status_reason.startswith("Your bank asks you to confirm this payment")
    assert Charge.objects.get().status == "FAILED"


def test_the_webhook_books_a_confirmation_the_retailer_did_not_come_back_from(
    client, retailer_client, stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = _waiting_for_authentication(stripe_sandbox, retailer_client.retailer)
    bank_page = retailer_client.post(f"/retailer/payments/{supplier_order.pk}/confirm/")["Location"]
    requests.post(bank_page, data={"action": "complete"}, allow_redirects=False, timeout=10)
    (event,) = stripe_sandbox.app.events_of("payment_intent.succeeded")

    with django_capture_on_commit_callbacks(execute=True):
        assert stripe_sandbox.deliver(client, event).status_code == 200

    supplier_order.refresh_from_db()
    assert supplier_order.status != SupplierOrder.Status.PAYMENT_FAILED
    assert Charge.objects.get().status == "SUCCEEDED"


def test_a_card_authenticated_when_saved_is_charged_off_session(stripe_sandbox, retailer_member):
    stripe_sandbox.save_card(retailer_member.retailer, SET_UP_FOR_OFF_SESSION)
    supplier_order = supplier_order_for(retailer_member.retailer)

    result = pay_supplier_order(supplier_order=supplier_order)

    assert result.is_paid is True
    assert Charge.objects.get().status == "SUCCEEDED"


def test_someone_elses_payment_page_is_not_found(client, stripe_sandbox, retailer_client):
    from tests import factories

    other = factories.RetailerFactory()
    supplier_order = _waiting_for_authentication(stripe_sandbox, other)

    assert (
        retailer_client.get(f"/retailer/payments/{supplier_order.pk}/confirm/").status_code == 404
    )
    assert (
        retailer_client.post(f"/retailer/payments/{supplier_order.pk}/confirm/").status_code == 404
    )


def test_a_new_card_cancels_the_payment_left_waiting_for_the_bank(
    retailer_client, stripe_sandbox, django_capture_on_commit_callbacks
):
    """The retailer opened its bank's page, never finished, then saved another card: the new
    card pays, and the old PaymentIntent is cancelled at Stripe so the bank's page can never
    charge it too; the confirm page says so."""
    from orders.services.payment import retry_failed_payments

    retailer = retailer_client.retailer
    supplier_order = _waiting_for_authentication(stripe_sandbox, retailer)
    confirm = f"/retailer/payments/{supplier_order.pk}/confirm/"
    bank_page = retailer_client.post(confirm)["Location"]
    (old_intent,) = stripe_sandbox.app.payment_intents()
    assert old_intent["status"] == "requires_action"

    stripe_sandbox.save_card(retailer, "4242424242424242")
    paid = retry_failed_payments(retailer=retailer)

    assert [so.pk for so in paid] == [supplier_order.pk]
    old_intent = stripe_sandbox.app.get(old_intent["id"])
    assert old_intent["status"] == "canceled"
    assert stripe_sandbox.app.events_of("payment_intent.canceled")
    old, new = Charge.objects.order_by("attempt")
    assert old.intent_canceled_at is not None
    assert not old.needs_authentication
    assert old.failure_message == "Cancelled: a new payment attempt replaced it."
    assert new.status == "SUCCEEDED"
    # The bank's page cannot complete the cancelled payment any more.
    late = requests.post(bank_page, data={"action": "complete"}, allow_redirects=False, timeout=10)
    assert late.status_code == 410
    assert stripe_sandbox.app.get(old_intent["id"])["status"] == "canceled"
    # The confirm page refuses it, saying why.
    page = retailer_client.get(confirm, follow=True)
    assert "was cancelled at Stripe and can no longer be confirmed: a new payment attempt " in (
        page.content.decode()
    )
    assert unbalanced_transactions() == {}


def test_cancelling_a_payment_intent_twice_is_harmless(stripe_sandbox, retailer_member):
    from billing.services.payments import PAID_OTHERWISE, cancel_stale_payment_intents
    from integrations.stripe.client import cancel_payment_intent

    supplier_order = _waiting_for_authentication(stripe_sandbox, retailer_member.retailer)
    charge = Charge.objects.get()

    assert cancel_stale_payment_intents(supplier_order=supplier_order, reason=PAID_OTHERWISE) == 1
    assert cancel_stale_payment_intents(supplier_order=supplier_order, reason=PAID_OTHERWISE) == 0
    # Stripe refuses a second cancel under another key; the client reads it back as cancelled.
    assert (
        cancel_payment_intent(
            payment_intent_id=charge.stripe_payment_intent_id, idempotency_key="another"
        )
        == "canceled"
    )
    assert len(stripe_sandbox.app.events_of("payment_intent.canceled")) == 1


def test_payment_on_terms_cancels_the_card_payment_waiting_for_the_bank(
    stripe_sandbox, retailer_member
):
    retailer = retailer_member.retailer
    supplier_order = _waiting_for_authentication(stripe_sandbox, retailer)
    retailer.has_payment_terms = True
    retailer.save(update_fields=["has_payment_terms"])

    assert pay_supplier_order(supplier_order=supplier_order).is_paid is True

    (intent,) = stripe_sandbox.app.payment_intents()
    assert intent["status"] == "canceled"
    card = Charge.objects.get(method="CARD")
    assert card.failure_message == "Cancelled: the supplier order was paid by another payment."
