"""Support's read-only "view as" in Chromium: started from the supplier's admin page, the banner
on the workspace and in the admin under the Content-Security-Policy, an htmx edit refused, and
"End view" back to the admin."""

import re
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from playwright.sync_api import expect

from catalog.models import Variant
from dropship.accounts.models import ViewAsSession
from dropship.accounts.roles import SUPPORT_AGENT
from tests import factories
from tests.browser.test_csp import OPS_TOTP_SECRET, PolicyWatch
from tests.mfa import totp_code

pytestmark = pytest.mark.django_db(transaction=True)

REASON = "Ticket 88: supplier cannot find its price edits"


def test_support_views_a_supplier_read_only_and_ends_the_view(page):
    member = factories.SupplierMemberFactory(user__email="sam@supply.test")
    supplier = member.supplier
    product = factories.ProductFactory(supplier=supplier, title="Oak board")
    variant = factories.VariantFactory(product=product, wholesale_price=Decimal("10.00"))
    agent = factories.staff_in_group(SUPPORT_AGENT, "ada@support.test")
    TOTP.activate(agent, OPS_TOTP_SECRET)
    watch = PolicyWatch(page)

    page.goto(f"/admin/suppliers/supplier/{supplier.pk}/change/")
    page.get_by_label("Email").fill("ada@support.test")
    page.get_by_label("Password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/2fa/authenticate/**")
    page.locator('input[name="code"]').fill(totp_code(OPS_TOTP_SECRET))
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"**/admin/suppliers/supplier/{supplier.pk}/change/")

    page.get_by_role("link", name="View as (read-only)").click()
    page.get_by_label("Reason").fill(REASON)
    expect(page.get_by_label("Duration (minutes)")).to_have_value("30")
    page.get_by_role("button", name="Start read-only view").click()
    page.wait_for_url("**/supplier/")

    banner = page.get_by_role("complementary", name=f"Read-only support view of {supplier}.")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(f"Reason: {REASON}")
    expect(banner.locator("[data-view-as-left]")).to_have_text(re.compile(r"^\d+ minutes? left$"))
    assert watch.violations() == []

    watch.visit("/supplier/catalog/")
    expect(
        page.get_by_role("complementary", name=re.compile("Read-only support view"))
    ).to_be_visible()
    price = page.get_by_label(f"Wholesale price of {variant.sku}")
    with page.expect_response(re.compile(r"/price/$")) as answer:
        price.fill("12.50")
        price.press("Tab")
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_have_text(
        f"You are viewing {supplier} read-only as support: nothing can be changed in this "
        "mode. End the view to work as yourself."
    )
    assert Variant.objects.get(pk=variant.pk).wholesale_price == Decimal("10.00")

    watch.visit("/admin/")
    end = page.get_by_role("button", name="End view")
    expect(end).to_be_visible()
    end.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/admin/suppliers/supplier/{supplier.pk}/change/")
    expect(page.locator(".view-as-banner")).to_have_count(0)
    assert ViewAsSession.objects.get().ended_by == ViewAsSession.EndedBy.STAFF
    assert watch.violations() == []
