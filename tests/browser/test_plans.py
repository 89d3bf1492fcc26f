"""A retailer picks a plan on the pricing page and starts its trial through Stripe Checkout in
subscription mode (the sandbox's hosted page, in the same browser); Billing shows the plan."""

from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import FeeSchedule, Subscription
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def plans_on_sale(stripe_sandbox):
    """transaction=True flushes the data migration's plan rows: put them back, then sync."""
    for plan, price, orders, suppliers, stores in (
        ("BASIC", "29.00", 100, 5, 1),
        ("PRO", "79.00", 500, None, 3),
        ("ENTERPRISE", "199.00", None, None, None),
    ):
        FeeSchedule.objects.update_or_create(
            plan=plan,
            defaults={
                "monthly_price": D(price),
                "order_fee": D("2.00"),
                "commission_percent": D("5.00"),
                "monthly_order_limit": orders,
                "supplier_limit": suppliers,
                "store_limit": stores,
                "trial_days": 14,
                "currency": "USD",
            },
        )
    call_command("sync_stripe_plans", stdout=StringIO())


def test_a_retailer_picks_a_plan_and_starts_its_trial_through_checkout(
    page, live_server, stripe_sandbox, settings, plans_on_sale
):
    settings.SITE_URL = live_server.url
    member = factories.RetailerMemberFactory(
        user__email="olive@maple.test", retailer__business_name="Maple & Co"
    )

    page.goto("/accounts/login/?next=/pricing/")
    page.get_by_label("Email").fill("olive@maple.test")
    page.get_by_label("Password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/pricing/")
    growth = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Growth"))
    assert "$79.00 a month" in growth.inner_text()
    assert "500 orders a month" in growth.inner_text()

    page.get_by_role("button", name="Choose Starter").click()
    page.wait_for_url(f"{stripe_sandbox.base_url}/c/pay/**")
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Subscribe to Dropship Starter (29.00 USD a month), 14 days free"
    )
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Start trial").click()

    page.wait_for_url(f"{live_server.url}/retailer/billing/")
    assert (
        "Welcome to Starter: your free trial runs until" in page.locator(".messages").inner_text()
    )
    assert page.locator("#current-plan").inner_text() == "Starter"
    assert page.locator("#orders-used").inner_text() == "0 of 100"
    assert page.locator("#next-invoice").inner_text().startswith("$29.00 on ")
    subscription = Subscription.objects.get(retailer=member.retailer)
    assert (subscription.status, subscription.plan) == ("trialing", "BASIC")
