"""A retailer adds a card through Stripe's hosted page (the sandbox, in the same browser), then
an order is paid through the billing seam and its paid invoice is on the billing page."""

import re

import pytest

from orders.models import SupplierOrder
from orders.services.payment import pay_supplier_order
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_retailer_adds_a_card_and_sees_the_paid_invoice_after_an_order(
    page, live_server, stripe_sandbox, settings
):
    settings.SITE_URL = live_server.url
    member = factories.RetailerMemberFactory(
        user__email="olive@maple.test", retailer__business_name="Maple & Co"
    )
    retailer = member.retailer

    page.goto("/accounts/login/?next=/retailer/billing/")
    page.get_by_label("Email").fill("olive@maple.test")
    page.get_by_label("Password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/retailer/billing/")
    assert page.locator("#card-on-file").inner_text() == "No card on file yet."

    page.get_by_role("button", name="Add a card").click()
    page.wait_for_url(f"{stripe_sandbox.base_url}/c/pay/**")
    assert page.get_by_role("heading", level=1).inner_text() == "Save a card for Maple & Co"
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Save card").click()

    page.wait_for_url(f"{live_server.url}/retailer/billing/")
    assert page.locator("#card-on-file").inner_text() == "Visa •••• 4242"
    assert "Card Visa •••• 4242 saved." in page.locator(".messages").inner_text()

    # An order comes in and the order pipeline pays its supplier order through the seam.
    order = factories.OrderFactory(store=factories.StoreFactory(retailer=retailer), number="#1042")
    supplier_order = factories.PayableSupplierOrderFactory(order=order)
    assert pay_supplier_order(supplier_order=supplier_order).is_paid
    invoice = supplier_order.charges.get().invoice

    page.reload()
    invoices = page.get_by_role("region", name="Invoices")
    row = invoices.get_by_role("row").filter(has_text=invoice.number)
    assert re.search(r"Paid\s+\$27\.00", row.inner_text())
    charge = page.get_by_role("region", name="Charges").get_by_role("row").filter(has_text="#1042")
    assert re.search(r"Visa •••• 4242\s+Succeeded\s+\$27\.00", charge.inner_text())
    invoices.get_by_role("link", name=invoice.number, exact=True).click()
    page.wait_for_url(f"**/retailer/billing/invoices/{invoice.number}/")
    assert page.get_by_role("heading", level=1).inner_text() == f"Invoice {invoice.number}"
    assert "Dropship platform fee" in page.content()
    assert SupplierOrder.objects.get(pk=supplier_order.pk).status == SupplierOrder.Status.PAID
