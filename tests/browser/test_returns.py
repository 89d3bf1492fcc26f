"""A retailer opens a return from a delivered order's page (a line, a reason and a photo) and the
supplier approves it on its returns page; the retailer then sees what to do next."""

from io import BytesIO

import pytest
from PIL import Image
from playwright.sync_api import expect

from orders.models import ReturnRequest
from tests.factories import DEFAULT_PASSWORD
from tests.orders.returns_helpers import delivered_to_members

pytestmark = pytest.mark.django_db(transaction=True)


def _png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def _log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_a_retailer_opens_a_return_and_the_supplier_approves_it(
    page,
    browser,
    live_server,
    client,
    stripe_sandbox,
    carrier_sandbox,
    django_capture_on_commit_callbacks,
):
    supplier_order, retailer_member, supplier_member = delivered_to_members(
        client, stripe_sandbox, carrier_sandbox, django_capture_on_commit_callbacks
    )
    order = supplier_order.order
    item = supplier_order.items.get()

    _log_in(page, retailer_member.user)
    page.goto(f"/retailer/orders/{order.pk}/")
    page.get_by_role("link", name="Start a return").click()
    expect(page.get_by_role("heading", name="Start a return")).to_be_visible()
    expect(page.get_by_text("30 days from delivery")).to_be_visible()
    page.get_by_label(f"Units of {item.title} to return").fill("1")
    page.get_by_label("Reason", exact=True).select_option("DEFECTIVE")
    page.get_by_label("What happened (optional)").fill("The strap tore on first use.")
    page.get_by_label("Photos (up to 5").set_input_files(
        files=[{"name": "strap.png", "mimeType": "image/png", "buffer": _png()}]
    )
    page.get_by_role("button", name="Send the return request").click()

    return_request = ReturnRequest.objects.get()
    page.wait_for_url(f"**/retailer/returns/{return_request.pk}/")
    expect(page.locator("#return-status")).to_have_text("Requested")
    expect(page.get_by_alt_text("Photo 1 of the returned goods")).to_be_visible()

    supplier_context = browser.new_context(base_url=live_server.url)
    supplier_page = supplier_context.new_page()
    supplier_page.set_default_timeout(15_000)
    _log_in(supplier_page, supplier_member.user)
    supplier_page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Returns", exact=True
    ).click()
    supplier_page.get_by_role("link", name=return_request.number).click()
    expect(supplier_page.get_by_text("“The strap tore on first use.”")).to_be_visible()
    supplier_page.get_by_label("Instructions for the retailer").fill(
        "Post it to our Leeds dock with the RMA number on the box."
    )
    supplier_page.get_by_role("button", name="Approve the return").click()
    expect(supplier_page.locator("#return-status")).to_have_text("Approved: send it back")
    supplier_context.close()

    page.reload()
    expect(page.locator("#return-status")).to_have_text("Approved: send it back")
    expect(page.get_by_role("heading", name="Send it back", exact=True)).to_be_visible()
    expect(
        page.get_by_text("Post it to our Leeds dock with the RMA number on the box.")
    ).to_be_visible()
    return_request.refresh_from_db()
    assert return_request.status == "APPROVED"
