"""The billing pages: a retailer adds or changes its card through Stripe's page and sees its
invoices and charges; a supplier connects Stripe and reads its payout statement."""

import re
from decimal import Decimal as D

import pytest
import requests

from billing.models import Invoice
from billing.services import schedule_payouts, transfer_payout
from orders.services.payment import pay_supplier_order
from tests import factories
from tests.billing.helpers import paid_supplier_order, ship, supplier_order_for

pytestmark = pytest.mark.django_db


def test_a_retailer_adds_a_card_through_stripes_page_and_comes_back_to_it(
    retailer_client, stripe_sandbox, settings
):
    settings.SITE_URL = "http://testserver"
    retailer = retailer_client.retailer

    empty = retailer_client.get("/retailer/billing/")
    to_stripe = retailer_client.post("/retailer/billing/card/")
    assert empty.status_code == 200
    assert "No card on file yet." in empty.text
    assert to_stripe.status_code == 302
    assert to_stripe["Location"].startswith(f"{stripe_sandbox.base_url}/c/pay/cs_test_")
    saved = requests.post(
        to_stripe["Location"],
        data={"cardnumber": "4242 4242 4242 4242"},
        allow_redirects=False,
        timeout=10,
    )
    back = saved.headers["Location"]
    assert back.startswith("http://testserver/retailer/billing/card/done/?session_id=cs_test_")

    done = retailer_client.get(back.removeprefix("http://testserver"), follow=True)

    retailer.refresh_from_db()
    assert (retailer.card_brand, retailer.card_last4) == ("visa", "4242")
    assert "Card Visa •••• 4242 saved." in done.text
    assert '<span class="card-brand" id="card-on-file">Visa •••• 4242</span>' in done.text
    assert "Change card" in done.text


def test_a_session_of_another_account_is_refused(retailer_client, stripe_sandbox):
    other = factories.RetailerFactory()
    stripe_sandbox.save_card(other)
    session = stripe_sandbox.app.objects_of("checkout.session")[0]

    response = retailer_client.get(
        f"/retailer/billing/card/done/?session_id={session['id']}", follow=True
    )

    assert "That card setup belongs to another account." in response.text
    retailer_client.retailer.refresh_from_db()
    assert retailer_client.retailer.stripe_payment_method_id == ""


def test_only_an_owner_changes_the_card(client, stripe_sandbox):
    staff = factories.RetailerMemberFactory(role="STAFF")
    client.force_login(staff.user)

    response = client.post("/retailer/billing/card/")

    assert response.status_code == 403
    assert stripe_sandbox.app.objects_of("checkout.session") == []


def test_the_billing_page_lists_waiting_payments_invoices_and_charges(
    retailer_client, stripe_sandbox, django_assert_max_num_queries
):
    retailer = retailer_client.retailer
    stripe_sandbox.save_card(retailer, "4000000000000341")
    declined = supplier_order_for(retailer)
    pay_supplier_order(supplier_order=declined)
    stripe_sandbox.save_card(retailer, "4242424242424242")
    paid_supplier_order(stripe_sandbox, retailer=retailer)

    page = retailer_client.get("/retailer/billing/")

    assert "Payments waiting" in page.text
    assert declined.number in page.text
    assert "Retry with the card on file" in page.text
    [invoice] = Invoice.objects.filter(retailer=retailer)
    # the number, linked in the invoices table and again from its charge, and its PDF label
    assert page.text.count(f">{invoice.number}</a>") == 2
    assert f'aria-label="Download {invoice.number} as PDF"' in page.text
    assert "Your card was declined." in page.text
    with_two = len(_queries(retailer_client))
    for _ in range(5):
        paid_supplier_order(stripe_sandbox, retailer=retailer)
    with django_assert_max_num_queries(with_two):  # no query per invoice or charge
        retailer_client.get("/retailer/billing/")


def _queries(client) -> list:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get("/retailer/billing/")
    return captured.captured_queries


def test_a_supplier_connects_stripe_and_reads_its_payout_statement(
    supplier_client, stripe_sandbox, settings
):
    settings.SITE_URL = "http://testserver"
    supplier = supplier_client.supplier

    before = supplier_client.get("/supplier/billing/")
    to_stripe = supplier_client.post("/supplier/billing/connect/")
    assert "Not set up" in before.text
    assert to_stripe["Location"].startswith(f"{stripe_sandbox.base_url}/setup/e/acct_")
    details = supplier_client.get("/supplier/billing/").text
    assert '<span class="badge badge-PENDING" id="payout-status">Details needed</span>' in details
    assert "External account" in details
    submitted = requests.post(
        to_stripe["Location"],
        data={"business_name": supplier.company_name},
        allow_redirects=False,
        timeout=10,
    )
    assert submitted.headers["Location"] == "http://testserver/supplier/billing/connect/return/"

    back = supplier_client.get("/supplier/billing/connect/return/", follow=True)

    assert "Payouts are enabled." in back.text
    assert '<span class="badge badge-SUCCEEDED" id="payout-status">Enabled</span>' in back.text
    supplier_order = ship(paid_supplier_order(stripe_sandbox, supplier=supplier), days_ago=8)
    (payout,) = schedule_payouts()
    transfer_payout(payout_id=payout.pk)
    statement = supplier_client.get("/supplier/billing/").text
    assert supplier_order.number in statement
    assert "Transferred" in statement
    assert "$24.00" in statement
    payout.refresh_from_db()
    assert payout.amount == D("24.00")


def test_an_expired_onboarding_link_sends_the_supplier_back_through_a_new_one(
    supplier_client, stripe_sandbox, settings
):
    settings.SITE_URL = "http://testserver"
    first = supplier_client.post("/supplier/billing/connect/")["Location"]
    requests.post(first, data={"business_name": "x"}, allow_redirects=False, timeout=10)

    used = requests.get(first, allow_redirects=False, timeout=10)
    fresh = supplier_client.get(used.headers["Location"].removeprefix("http://testserver"))

    assert used.headers["Location"] == "http://testserver/supplier/billing/connect/refresh/"
    assert re.match(rf"{stripe_sandbox.base_url}/setup/e/acct_\w+/", fresh["Location"])
    assert fresh["Location"] != first
    assert len(stripe_sandbox.app.objects_of("account")) == 1


def test_the_payout_statement_does_not_query_per_row(
    supplier_client, stripe_sandbox, django_assert_max_num_queries
):
    supplier = supplier_client.supplier
    stripe_sandbox.connect_supplier(supplier)

    def add_payouts(n: int) -> None:
        for _ in range(n):
            ship(paid_supplier_order(stripe_sandbox, supplier=supplier), days_ago=8)
        schedule_payouts()

    add_payouts(1)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as with_one:
        supplier_client.get("/supplier/billing/")
    add_payouts(4)
    with django_assert_max_num_queries(len(with_one.captured_queries)):
        page = supplier_client.get("/supplier/billing/")
    assert page.text.count("Scheduled (holdback)") == 5


def test_billing_pages_are_for_their_own_kind_of_organisation(supplier_client, retailer_member):
    assert supplier_client.get("/retailer/billing/").status_code == 403


def test_the_retry_button_charges_the_card_on_file_again(
    retailer_client, stripe_sandbox, django_capture_on_commit_callbacks
):
    retailer = retailer_client.retailer
    stripe_sandbox.save_card(retailer, "4000000000009995")
    supplier_order = supplier_order_for(retailer)
    pay_supplier_order(supplier_order=supplier_order)

    with django_capture_on_commit_callbacks(execute=True):
        response = retailer_client.post("/retailer/billing/retry/", follow=True)

    assert "Retrying 1 payment(s) with your card on file." in response.text
    attempts = list(supplier_order.charges.order_by("attempt").values_list("attempt", "status"))
    assert attempts == [(1, "FAILED"), (2, "FAILED")]
    assert len(stripe_sandbox.app.payment_intents()) == 2
    assert supplier_order.charges.last().failure_message == "Your card has insufficient funds."


def test_stripe_being_down_when_adding_a_card_is_a_message_not_an_error(
    retailer_client, stripe_sandbox
):
    stripe_sandbox.app.add_fault("/v1/customers", status=503)

    response = retailer_client.post("/retailer/billing/card/", follow=True)

    assert response.status_code == 200
    assert "Stripe could not open the card page: Stripe answered 503" in response.text
    retailer_client.retailer.refresh_from_db()
    assert retailer_client.retailer.stripe_customer_id == ""


def test_the_billing_jobs_are_scheduled_and_registered(settings):
    from dropship.celery import app

    billing_jobs = {
        entry["task"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"].startswith("billing.")
    }
    assert billing_jobs == {
        "billing.tasks.settle_payouts_task",
        "billing.tasks.refresh_held_accounts_task",
        "billing.tasks.issue_monthly_invoices_task",
        "billing.tasks.reconcile_stripe_task",
        "billing.tasks.enforce_plan_grace_periods_task",
    }
    assert billing_jobs <= set(app.tasks)
    assert {app.amqp.router.route({}, name)["queue"].name for name in billing_jobs} == {"billing"}
