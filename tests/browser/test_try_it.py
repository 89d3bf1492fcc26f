"""The README's "Try it" walkthrough on the demo data, in a browser, against the sandboxes:
the retailer imports a product → a shopper orders it in the sandbox storefront → the supplier
sees, accepts and ships it → the tracking number appears on the order in the sandbox store."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from devstack import demo_data
from orders.models import Order, SupplierOrder

pytestmark = pytest.mark.django_db(transaction=True)
PRODUCT = "Bamboo cutting board set"
SHOP = "maple-and-co.myshopify.com"
UPS = "1Z999AA10123456784"


def _log_in(page, email: str, landing: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(demo_data.DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{landing}")


@pytest.fixture
def demo(settings, live_server, shopify_sandbox, woo_sandbox):
    """`make run` in miniature: the demo seeded, its stores connected to the sandboxes, their
    webhooks pointing at this live server."""
    settings.SITE_URL = live_server.url
    call_command("seed_demo", quiet_logins=True, force=True, verbosity=0)
    call_command(
        "prepare_demo",
        shopify_url=shopify_sandbox.base_url,
        woocommerce_url=woo_sandbox.base_url,
        verbosity=0,
    )
    return shopify_sandbox


def test_the_try_it_walkthrough(browser, live_server, demo):
    shopify_sandbox = demo
    retailer = browser.new_context(base_url=live_server.url)
    page = retailer.new_page()
    page.set_default_timeout(20_000)

    # 1. The retailer imports a product into the Shopify store.
    _log_in(page, demo_data.RETAILER["email"], "/retailer/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_role("searchbox").first.fill("bamboo cutting board")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(f"^Add to import list.*{PRODUCT}")).click()
    expect(page.get_by_role("status")).to_contain_text("added to your import list")
    page.goto("/retailer/import-list/")
    expect(page.get_by_role("heading", name=PRODUCT)).to_be_visible()
    page.get_by_role("checkbox", name=re.compile(r"Maple & Co \(Shopify\)")).check()
    page.get_by_role("button", name="Push selected products").click()
    expect(page.locator("#job-progress")).to_contain_text("1 pushed", timeout=30_000)
    retailer.close()

    # 2. A shopper orders it in the sandbox storefront.
    shopper = browser.new_context()
    store_page = shopper.new_page()
    store_page.set_default_timeout(20_000)
    store_page.goto(f"{shopify_sandbox.base_url}/{SHOP}/storefront/")
    store_page.get_by_role("link", name=re.compile(f"Buy {PRODUCT}")).first.click()
    store_page.get_by_label("Quantity").fill("2")
    store_page.get_by_label("First name").fill("Zoë")
    store_page.get_by_label("Last name").fill("Ångström")
    store_page.get_by_label("Email").fill("zoe@example.com")
    store_page.get_by_label("Address", exact=True).fill("12 Rue de l’Église")
    store_page.get_by_label("City").fill("Montréal")
    store_page.get_by_label("ZIP / postcode").fill("H2X 1Y4")
    store_page.get_by_label("Country").select_option("CA")
    store_page.get_by_role("button", name="Place order").click()
    expect(store_page.get_by_role("heading", name=re.compile(r"Order #\d+"))).to_be_visible()
    expect(store_page.locator("body")).to_contain_text("answered 200")
    order_url = store_page.url

    order = Order.objects.get(store__domain=SHOP)
    supplier_order = SupplierOrder.objects.get(order=order)
    assert supplier_order.supplier.slug == "casa-verde-home"

    # 3. The supplier sees it, accepts and ships it.
    supplier = browser.new_context(base_url=live_server.url)
    page = supplier.new_page()
    page.set_default_timeout(20_000)
    email = next(s["email"] for s in demo_data.SUPPLIERS if s["slug"] == "casa-verde-home")
    _log_in(page, email, "/supplier/")
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Orders", exact=True
    ).click()
    page.get_by_role("link", name=supplier_order.number).click()
    expect(page.get_by_text("Montréal")).to_be_visible()
    expect(page.get_by_text("Maple & Co").first).to_be_visible()
    page.get_by_role("button", name="Accept order").click()
    expect(page.get_by_text(f"Order {supplier_order.number} accepted.")).to_be_visible()
    page.get_by_label("Carrier").select_option("UPS")
    page.get_by_label("Tracking number").fill(UPS)
    page.get_by_role("button", name="Ship the whole order").click()
    expect(page.get_by_role("table", name="Parcels shipped")).to_contain_text("Pushed to store")
    supplier.close()

    # 4. The tracking number appears on the order in the sandbox store.
    store_page.goto(order_url)
    expect(store_page.locator("#order-status")).to_have_text("Fulfilled")
    expect(store_page.locator("#tracking")).to_contain_text(UPS)
    shopper.close()
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
