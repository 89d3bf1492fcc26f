"""Plans on Stripe Billing through the Stripe sandbox: the sync command, Checkout in subscription
mode, trial → active → upgrade with proration → past_due → read-only → recovered / cancelled,
the ledger balanced at every step, and webhooks repeated or out of order."""

import re
from datetime import timedelta
from decimal import Decimal as D
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from billing.models import FeeSchedule, LedgerEntry, StripeEvent, Subscription, SubscriptionInvoice
from billing.services import plans
from billing.services.ledger import unbalanced_transactions
from billing.webhooks import HANDLED_EVENT_TYPES
from dropship.accounts.models import Notification
from tests import factories
from tests.billing.helpers import balance

pytestmark = pytest.mark.django_db
Account = LedgerEntry.Account
DECLINING_CARD = "4000000000000341"


@pytest.fixture
def owner(stripe_sandbox):
    call_command("sync_stripe_plans", stdout=StringIO())
    return factories.RetailerMemberFactory()


def subscribe(stripe_sandbox, retailer, plan="BASIC", card="4242424242424242"):
    """What a retailer does: our service opens Checkout, the card goes in on the sandbox's
    hosted page, the way back applies the subscription."""
    url = plans.start_plan_checkout(
        retailer=retailer,
        plan=plan,
        success_url="http://testserver/done?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/pricing/",
    )
    answer = requests.post(url, data={"cardnumber": card}, allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    session_id = re.search(r"session_id=(cs_[A-Za-z0-9_]+)", answer.headers["Location"])[1]
    retailer.refresh_from_db()
    subscription = plans.complete_plan_checkout(retailer=retailer, session_id=session_id)
    retailer.refresh_from_db()
    return subscription


def deliver_new_events(stripe_sandbox, client, callbacks, seen: set[str], *, reverse=False):
    """Deliver every event not delivered yet through /webhooks/stripe/ (signed as Stripe does),
    optionally newest first."""
    events = [e for e in stripe_sandbox.app.events_of() if e["id"] not in seen]
    if reverse:
        events.reverse()
    with callbacks(execute=True):
        for event in events:
            seen.add(event["id"])
            assert stripe_sandbox.deliver(client, event).status_code == 200
    return events


def control(stripe_sandbox, path, **data):
    answer = requests.post(f"{stripe_sandbox.base_url}/_sandbox/{path}", json=data, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.embedded
def test_the_sync_command_creates_each_plan_once_and_is_safe_to_run_twice(stripe_sandbox):
    call_command("sync_stripe_plans", stdout=StringIO())
    first = dict(FeeSchedule.objects.values_list("plan", "stripe_price_id"))
    call_command("sync_stripe_plans", stdout=StringIO())

    assert dict(FeeSchedule.objects.values_list("plan", "stripe_price_id")) == first
    prices = stripe_sandbox.app.objects_of("price")
    assert sorted((p["lookup_key"], p["unit_amount"]) for p in prices) == [
        ("dropship_plan_basic", 2900),
        ("dropship_plan_enterprise", 19900),
        ("dropship_plan_pro", 7900),
    ]
    assert sorted(p["name"] for p in stripe_sandbox.app.objects_of("product")) == [
        "Dropship Growth",
        "Dropship Pro",
        "Dropship Starter",
    ]


def test_a_changed_price_gets_a_new_stripe_price_that_takes_the_lookup_key(stripe_sandbox):
    call_command("sync_stripe_plans", stdout=StringIO())
    old = FeeSchedule.objects.get(plan="BASIC").stripe_price_id
    FeeSchedule.objects.filter(plan="BASIC").update(monthly_price=D("35.00"))

    call_command("sync_stripe_plans", stdout=StringIO())

    new = FeeSchedule.objects.get(plan="BASIC").stripe_price_id
    assert new != old
    assert stripe_sandbox.app.get(new)["lookup_key"] == "dropship_plan_basic"
    assert stripe_sandbox.app.get(new)["unit_amount"] == 3500
    assert stripe_sandbox.app.get(old)["lookup_key"] is None


@pytest.mark.embedded
def test_subscription_lifecycle_trial_active_upgrade_past_due_recovered_then_cancelled(
    stripe_sandbox, owner, client, django_capture_on_commit_callbacks, settings
):
    retailer = owner.retailer
    seen: set[str] = set()

    # Trial: Checkout in subscription mode with the plan's 14 trial days, nothing charged.
    subscription = subscribe(stripe_sandbox, retailer, "BASIC")
    deliver_new_events(stripe_sandbox, client, django_capture_on_commit_callbacks, seen)
    subscription.refresh_from_db()
    assert (subscription.status, subscription.plan, retailer.plan) == ("trialing", "BASIC", "BASIC")
    assert subscription.trial_end is not None
    assert balance(Account.PLATFORM_REVENUE) == D("0.00")
    sub_id = subscription.stripe_subscription_id

    # The trial ends: the first $29 invoice is paid and booked once as platform revenue.
    control(stripe_sandbox, f"subscriptions/{sub_id}/renew")
    deliver_new_events(stripe_sandbox, client, django_capture_on_commit_callbacks, seen)
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert balance(Account.PLATFORM_REVENUE, retailer=retailer) == D("-29.00")
    assert balance(Account.STRIPE_CLEARING) == D("29.00")

    # Upgrade to Growth at once: Stripe invoices the proration (unused Starter, remaining Growth).
    plans.change_plan(retailer=retailer, plan="PRO")
    events = deliver_new_events(stripe_sandbox, client, django_capture_on_commit_callbacks, seen)
    retailer.refresh_from_db()
    assert retailer.plan == "PRO"
    proration = SubscriptionInvoice.objects.get(billing_reason="subscription_update")
    assert proration.status == "paid"
    assert D("49.00") <= proration.amount_paid <= D("50.00")  # 79 − 29 for a whole period
    assert [e["type"] for e in events].count("invoice.paid") == 1
    assert balance(Account.PLATFORM_REVENUE, retailer=retailer) == -(
        D("29.00") + proration.amount_paid
    )

    # The renewal is declined: past_due, the retailer is told, pages still work in the grace.
    control(stripe_sandbox, f"subscriptions/{sub_id}/renew", fail=True)
    deliver_new_events(stripe_sandbox, client, django_capture_on_commit_callbacks, seen)
    subscription.refresh_from_db()
    retailer.refresh_from_db()
    assert subscription.status == "past_due"
    assert subscription.past_due_since is not None
    assert retailer.read_only_reason == ""
    assert Notification.objects.filter(retailer=retailer, kind="billing.plan_past_due").count() == 1
    renewal = SubscriptionInvoice.objects.get(billing_reason="subscription_cycle", status="open")
    assert (renewal.amount_due, renewal.attempt_count) == (D("79.00"), 1)

    # The grace period passes: read-only, with the reason; orders are not touched.
    later = timezone.now() + timedelta(days=settings.PLAN_GRACE_DAYS, minutes=1)
    assert plans.enforce_grace_periods(now=later) == 1
    assert plans.enforce_grace_periods(now=later) == 0  # safe to run twice
    retailer.refresh_from_db()
    assert "payment is overdue" in retailer.read_only_reason

    # A Smart Retry succeeds: active again, read-only lifted, the invoice booked.
    control(stripe_sandbox, f"invoices/{renewal.stripe_invoice_id}/retry")
    deliver_new_events(stripe_sandbox, client, django_capture_on_commit_callbacks, seen)
    subscription.refresh_from_db()
    retailer.refresh_from_db()
    assert (subscription.status, subscription.past_due_since) == ("active", None)
    assert retailer.read_only_reason == ""
    assert (
        Notification.objects.filter(retailer=retailer, kind="billing.plan_recovered").count() == 1
    )

    # Cancelled at period end: the plan runs to the end, then the account is read-only.
    plans.set_plan_cancellation(retailer=retailer, cancel=True)
    deliver_new_events(stripe_sandbox, client, django_capture_on_commit_callbacks, seen)
    subscription.refresh_from_db()
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)
    control(stripe_sandbox, f"subscriptions/{sub_id}/renew")
    deliver_new_events(stripe_sandbox, client, django_capture_on_commit_callbacks, seen)
    subscription.refresh_from_db()
    retailer.refresh_from_db()
    assert subscription.status == "canceled"
    assert "plan has ended" in retailer.read_only_reason

    paid = sum(i.amount_paid for i in SubscriptionInvoice.objects.filter(status="paid"))
    assert balance(Account.PLATFORM_REVENUE, retailer=retailer) == -paid
    assert LedgerEntry.objects.filter(kind="SUBSCRIPTION").count() == 2 * 3  # 3 paid invoices
    assert unbalanced_transactions() == {}


def test_retries_exhausted_cancel_the_plan_and_leave_the_account_read_only(
    stripe_sandbox, owner, client, django_capture_on_commit_callbacks
):
    retailer = owner.retailer
    seen: set[str] = set()
    subscribe(stripe_sandbox, retailer, "BASIC", card=DECLINING_CARD)  # trial: no charge yet
    sub_id = Subscription.objects.get(retailer=retailer).stripe_subscription_id
    control(stripe_sandbox, f"subscriptions/{sub_id}/renew")
    invoice_id = stripe_sandbox.app.get(sub_id)["latest_invoice"]
    for _ in range(3):
        control(stripe_sandbox, f"invoices/{invoice_id}/retry")

    deliver_new_events(stripe_sandbox, client, django_capture_on_commit_callbacks, seen)

    retailer.refresh_from_db()
    assert Subscription.objects.get(retailer=retailer).status == "canceled"
    assert SubscriptionInvoice.objects.get(stripe_invoice_id=invoice_id).status == "uncollectible"
    assert "plan has ended" in retailer.read_only_reason
    assert balance(Account.PLATFORM_REVENUE) == D("0.00")


def test_repeated_and_out_of_order_webhooks_end_in_stripes_state_and_book_once(
    stripe_sandbox, owner, client, django_capture_on_commit_callbacks
):
    retailer = owner.retailer
    subscribe(stripe_sandbox, retailer, "BASIC")
    sub_id = Subscription.objects.get(retailer=retailer).stripe_subscription_id
    control(stripe_sandbox, f"subscriptions/{sub_id}/renew", fail=True)
    invoice_id = stripe_sandbox.app.get(sub_id)["latest_invoice"]
    control(stripe_sandbox, f"invoices/{invoice_id}/retry")
    Subscription.objects.filter(retailer=retailer).update(status="trialing")  # stale view

    seen: set[str] = set()
    events = deliver_new_events(
        stripe_sandbox, client, django_capture_on_commit_callbacks, seen, reverse=True
    )
    with django_capture_on_commit_callbacks(execute=True):  # every one delivered again
        for event in events:
            assert stripe_sandbox.deliver(client, event).status_code == 200

    subscription = Subscription.objects.get(retailer=retailer)
    assert subscription.status == "active"  # Stripe's state, whatever order the news came in
    assert SubscriptionInvoice.objects.get(stripe_invoice_id=invoice_id).status == "paid"
    handled = [e for e in events if e["type"] in HANDLED_EVENT_TYPES]
    assert StripeEvent.objects.count() == len(handled)  # each acted on once
    assert balance(Account.PLATFORM_REVENUE, retailer=retailer) == D("-29.00")
    assert LedgerEntry.objects.filter(kind="SUBSCRIPTION").count() == 2
    assert unbalanced_transactions() == {}


def test_a_downgrade_the_stores_exceed_is_refused_listing_what_to_remove(stripe_sandbox, owner):
    retailer = owner.retailer
    subscribe(stripe_sandbox, retailer, "PRO")
    factories.StoreFactory.create_batch(2, retailer=retailer)
    calls = len(stripe_sandbox.app.calls)

    with pytest.raises(plans.PlanChangeRefused) as refused:
        plans.change_plan(retailer=retailer, plan="BASIC")

    assert refused.value.message == (
        "Your account does not fit the Starter plan yet. Disconnect 1 store: you have 2 "
        "connected and Starter allows 1."
    )
    retailer.refresh_from_db()
    assert retailer.plan == "PRO"
    assert not [c for c in stripe_sandbox.app.calls[calls:] if c.method == "POST"]


def test_a_second_plan_is_refused_while_one_is_live(stripe_sandbox, owner):
    subscribe(stripe_sandbox, owner.retailer, "BASIC")
    with pytest.raises(plans.PlanError, match="already have a plan"):
        plans.start_plan_checkout(
            retailer=owner.retailer, plan="PRO", success_url="http://x/", cancel_url="http://x/"
        )


def test_a_checkout_of_another_account_is_refused(stripe_sandbox, owner):
    other = factories.RetailerMemberFactory().retailer
    url = plans.start_plan_checkout(
        retailer=other,
        plan="BASIC",
        success_url="http://t/?s={CHECKOUT_SESSION_ID}",
        cancel_url="http://t/",
    )
    answer = requests.post(
        url, data={"cardnumber": "4242424242424242"}, allow_redirects=False, timeout=10
    )
    session_id = re.search(r"s=(cs_[A-Za-z0-9_]+)", answer.headers["Location"])[1]
    plans.ensure_customer(retailer=owner.retailer)

    with pytest.raises(plans.PlanError, match="belongs to another account"):
        plans.complete_plan_checkout(retailer=owner.retailer, session_id=session_id)
    assert not Subscription.objects.filter(retailer=owner.retailer).exists()


def test_the_pricing_page_shows_each_plan_with_its_limits_to_a_visitor(client):
    FeeSchedule.objects.filter(plan="BASIC").update(store_limit=1, overage_order_fee=D("0.50"))

    page = client.get("/pricing/").content.decode()

    for text in (
        "Starter",
        "$29.00</strong> a month",
        "100 orders a month, then $0.50 per order",
        "5 suppliers",
        "1 connected store",
        "Growth",
        "$79.00</strong> a month",
        "Pro",
        "$199.00</strong> a month",
        "Unlimited orders",
    ):
        assert text in page, text


def test_choosing_an_unknown_plan_says_so_and_opens_nothing(client, stripe_sandbox, owner):
    client.force_login(owner.user)

    answer = client.post("/retailer/billing/plan/checkout/", {"plan": "GOLD"}, follow=True)

    assert answer.status_code == 200
    assert "There is no plan called &#x27;GOLD&#x27;." in answer.content.decode()
    assert not stripe_sandbox.app.objects_of("checkout.session")


def test_the_plan_change_page_previews_the_proration_and_the_post_switches(
    client, stripe_sandbox, owner
):
    subscribe(stripe_sandbox, owner.retailer, "BASIC")
    control(
        stripe_sandbox,
        f"subscriptions/{Subscription.objects.get().stripe_subscription_id}/renew",
    )  # the trial ends: proration applies from now on
    client.force_login(owner.user)

    preview = client.get("/retailer/billing/plan/change/PRO/").content.decode()
    assert "Remaining time on Dropship Growth" in preview
    assert "Unused time on Dropship Starter" in preview

    answer = client.post("/retailer/billing/plan/change/PRO/", follow=True)
    assert "You are now on the Growth plan." in answer.content.decode()
    owner.retailer.refresh_from_db()
    assert owner.retailer.plan == "PRO"


def test_billing_pages_stay_open_while_the_account_is_read_only(client, stripe_sandbox, owner):
    subscribe(stripe_sandbox, owner.retailer, "BASIC")
    type(owner.retailer).objects.filter(pk=owner.retailer.pk).update(
        read_only_reason="Your plan has ended."
    )
    client.force_login(owner.user)

    answer = client.post("/retailer/billing/plan/cancel/", {"action": "cancel"}, follow=True)

    assert "Your plan ends on" in answer.content.decode()
    assert Subscription.objects.get().cancel_at_period_end is True
