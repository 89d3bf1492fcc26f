"""The main pages load and work in Chromium under the Content-Security-Policy with no violation:
public pages, the retailer's and the supplier's workspaces (htmx edits, confirm dialogs, the
menu button, the bar chart), the admin and the API docs."""

from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from playwright.sync_api import expect

from catalog.models import Variant
from dropship.accounts.models import User
from orders.models import Order
from retailers.models import PricingRule
from tests import factories
from tests.mfa import totp_code

OPS_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

pytestmark = pytest.mark.django_db(transaction=True)

# Playwright's init scripts are not subject to the page's policy: this one records every
# violation the browser reports, before any of the page's own code runs.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`);
});
"""


class PolicyWatch:
    """Violations seen through the DOM event and the console, page after page."""

    def __init__(self, page) -> None:
        self.page = page
        self.console: list[str] = []
        self.visited: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(text)

    def violations(self) -> list[str]:
        return [*self.page.evaluate("window.__cspViolations || []"), *self.console]

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None, url
        assert response.ok, f"{url}: {response.status}"
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
        self.page.wait_for_load_state("networkidle")
        self.visited.append(url)
        assert self.violations() == [], f"{url}: {self.violations()}"


def _log_in(page, email: str, password: str, landing: str) -> None:
    page.goto(f"/accounts/login/?next={landing}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{landing}")


def test_the_policy_is_enforced_and_the_watch_sees_a_violation(page):
    """Without a policy nothing is ever reported: a style attribute put in by script must be."""
    watch = PolicyWatch(page)
    watch.visit("/")
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<p id=\"probe\" style=\"color: red\">x</p>')"
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert any("style-src" in v for v in watch.violations())
    assert page.locator("#probe").evaluate("el => getComputedStyle(el).color") != "rgb(255, 0, 0)"


def test_public_and_retailer_pages_work_under_the_policy(page):
    member = factories.RetailerMemberFactory(user__email="rae@shop.test")
    store = factories.StoreFactory(retailer=member.retailer)
    for status, count in ((Order.Status.EXCEPTION, 1), (Order.Status.CONFIRMED, 3)):
        for _ in range(count):
            factories.OrderFactory(store=store, status=status)
    rule = PricingRule.objects.create(retailer=member.retailer, name="Everything", value=Decimal(2))
    product = factories.ProductFactory(title="Walnut tray")
    factories.VariantFactory(product=product)
    watch = PolicyWatch(page)

    for url in ("/", "/suppliers/", "/accounts/signup/"):
        watch.visit(url)
    _log_in(page, "rae@shop.test", factories.DEFAULT_PASSWORD, "/retailer/")
    watch.visit("/retailer/")
    # The bar chart draws without style attributes: the longest bar fills its track, the
    # exceptions' bar a third of it.
    chart = page.get_by_role("img", name="Orders by status")
    widths = [box["width"] for box in (r.bounding_box() for r in chart.locator("rect").all())]
    track = chart.locator("svg").first.bounding_box()["width"]
    assert sorted(round(w / track, 2) for w in widths) == [0.33, 1.0]

    for url in (
        "/catalog/",
        f"/catalog/{product.pk}/",
        "/retailer/stores/",
        "/retailer/import-list/",
        "/retailer/products/",
        "/retailer/orders/",
        "/retailer/orders/manual/",
        "/retailer/sync/",
        "/retailer/billing/",
        "/team/",
        "/api/v1/docs",
    ):
        watch.visit(url)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Dropship API")

    # A new pricing rule's live preview is an htmx request (hx-trigger with delay, no eval).
    watch.visit("/retailer/pricing/new/")
    expect(page.locator("#pricing-preview")).not_to_be_empty()

    # The confirm() that was an inline onsubmit handler: dismissed keeps the rule, accepted
    # deletes it.
    watch.visit("/retailer/pricing/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete").click()
    assert PricingRule.objects.filter(pk=rule.pk).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    page.wait_for_load_state("networkidle")
    assert not PricingRule.objects.filter(pk=rule.pk).exists()

    # The owner's audit log shows the deletion (its before/after tables styled from a file).
    watch.visit("/team/audit/")
    expect(page.get_by_role("table", name="Audit log entries, newest first")).to_contain_text(
        "pricing_rule.deleted"
    )

    # The menu button of narrow screens, formerly an inline onclick.
    page.set_viewport_size({"width": 500, "height": 800})
    toggle = page.get_by_role("button", name="Menu")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#primary-nav")).to_have_class("primary-nav open")
    assert watch.violations() == []


def test_supplier_pages_and_the_admin_work_under_the_policy(page):
    member = factories.SupplierMemberFactory(user__email="sam@supply.test")
    product = factories.ProductFactory(supplier=member.supplier, title="Oak board")
    variant = factories.VariantFactory(product=product, wholesale_price=Decimal("10.00"))
    ops = User.objects.create_superuser("ops@dropship.test", "ops-password-1234")
    TOTP.activate(ops, OPS_TOTP_SECRET)  # staff reach the admin only with a second factor
    watch = PolicyWatch(page)

    _log_in(page, "sam@supply.test", factories.DEFAULT_PASSWORD, "/supplier/")
    for url in (
        "/supplier/",
        f"/supplier/catalog/{product.pk}/",
        f"/supplier/catalog/variants/{variant.pk}/",
        "/supplier/imports/",
        "/supplier/inventory-feed/",
        "/supplier/orders/",
        "/supplier/billing/",
        "/supplier/catalog/",
    ):
        watch.visit(url)
    # An inline price edit is an htmx form swapped in place.
    price = page.get_by_label(f"Wholesale price of {variant.sku}")
    price.fill("12.50")
    price.press("Tab")
    expect(page.locator(f"#price-msg-{variant.pk}")).to_have_text("Saved")
    assert Variant.objects.get(pk=variant.pk).wholesale_price == Decimal("12.50")
    assert watch.violations() == []

    page.context.clear_cookies()
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Email").fill("ops@dropship.test")
    page.get_by_label("Password").fill("ops-password-1234")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/2fa/authenticate/**")
    page.locator('input[name="code"]').fill(totp_code(OPS_TOTP_SECRET))
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/admin/")
    for url in (
        "/admin/",
        "/admin/suppliers/supplier/",
        f"/admin/suppliers/supplier/{member.supplier.pk}/change/",
        "/admin/orders/order/",
        "/admin/catalog/product/?q=Oak",
    ):
        watch.visit(url)
    assert watch.violations() == []
