"""The retailer's grouped navigation: everyday pages in the bar, the rest in three menus that a
keyboard opens and closes (aria-expanded follows), and every page still reachable."""

import pytest
from playwright.sync_api import expect

from dropship.accounts.models import Role
from tests import factories
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/retailer/")


def test_menus_open_by_keyboard_and_lead_to_their_pages(page):
    owner = factories.RetailerMemberFactory(role=Role.OWNER, user__email="nav@maple.test").user
    _log_in(page, owner)
    nav = page.get_by_role("navigation", name="Main")
    sell = nav.get_by_role("button", name="Sell")
    expect(sell).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Import list")).to_be_hidden()
    for name in ("Dashboard", "Catalog", "My products", "Orders", "Analytics"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()

    sell.focus()
    page.keyboard.press("Enter")
    expect(sell).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Import list")).to_be_visible()
    page.keyboard.press("Escape")
    expect(sell).to_have_attribute("aria-expanded", "false")
    expect(sell).to_be_focused()

    # Opening one menu closes the other; a link inside leads to its page, marked as current.
    sell.click()
    account = nav.get_by_role("button", name="Account")
    account.click()
    expect(sell).to_have_attribute("aria-expanded", "false")
    nav.get_by_role("link", name="API keys").click()
    page.wait_for_url("**/team/api-keys/")
    expect(nav.get_by_role("button", name="Account")).to_have_class("nav-menu-button has-current")

    nav.get_by_role("button", name="Stores").click()
    nav.get_by_role("link", name="Stock sync").click()
    page.wait_for_url("**/retailer/sync/")
    expect(nav.get_by_role("button", name="Stores")).to_have_class("nav-menu-button has-current")
