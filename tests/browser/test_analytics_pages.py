"""Both analytics pages and the staff operations home draw their charts beside their tables in a
real browser, under the Content-Security-Policy."""

from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone
from playwright.sync_api import expect

from dropship.accounts.models import User
from orders.models import Order, SupplierOrder
from tests import factories
from tests.factories import DEFAULT_PASSWORD
from tests.mfa import totp_code

pytestmark = pytest.mark.django_db(transaction=True)

OPS_SECRET = "JBSWY3DPEHPK3PXP"


def _sale():
    """Yesterday a retailer sold a supplier's product: 2 × 24.99 against 20.00 + 5.00 + 2.00."""
    supplier_member = factories.SupplierMemberFactory(user__email="sam@supply.test")
    retailer_member = factories.RetailerMemberFactory(user__email="rita@maple.test")
    order = factories.OrderFactory(
        store=factories.StoreFactory(retailer=retailer_member.retailer),
        placed_at=timezone.now() - timedelta(days=1),
        retail_total=Decimal("49.98"),
        currency="USD",
    )
    supplier_order = factories.SupplierOrderFactory(
        order=order, supplier=supplier_member.supplier, status=SupplierOrder.Status.SHIPPED
    )
    factories.OrderItemFactory(
        order=order,
        supplier_order=supplier_order,
        variant=factories.VariantFactory(product__supplier=supplier_member.supplier),
        quantity=2,
        retail_unit_price=Decimal("24.99"),
        wholesale_unit_price=Decimal("10.00"),
        status="SHIPPED",
    )
    factories.OrderFactory(status=Order.Status.EXCEPTION)


def _log_in(page, email, landing):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{landing}")


def _chart_beside_table(page, table_id):
    expect(page.locator("svg.chart polyline").first).to_be_attached()
    expect(page.locator(f"#{table_id} tbody tr").first).to_be_visible()


def test_retailer_and_supplier_analytics_and_the_operations_home(page):
    _sale()
    ops = User.objects.create_superuser("ops@dropship.test", "ops-password-1234")
    TOTP.activate(ops, OPS_SECRET)

    _log_in(page, "rita@maple.test", "/retailer/")
    page.goto("/retailer/analytics/")
    _chart_beside_table(page, "periods")
    expect(page.locator("#groups")).to_contain_text("$49.98")

    page.context.clear_cookies()
    _log_in(page, "sam@supply.test", "/supplier/")
    page.goto("/supplier/analytics/")
    _chart_beside_table(page, "periods")
    expect(page.locator("#turnover")).to_contain_text("Stock turnover")

    page.context.clear_cookies()
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Email").fill("ops@dropship.test")
    page.get_by_label("Password").fill("ops-password-1234")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/2fa/authenticate/**")
    page.locator('input[name="code"]').fill(totp_code(OPS_SECRET))
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/admin/")
    tile = page.locator("#attention li", has_text="Orders needing attention")
    expect(tile.locator(".ops-count")).to_have_text("1")
    expect(page.locator("#gmv-chart polyline")).to_be_attached()
    expect(page.locator("#orders-chart rect").first).to_be_attached()
    expect(page.locator("#platform-days")).to_contain_text("$49.98")
    tile.get_by_role("link").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
