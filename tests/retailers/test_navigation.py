"""The retailer's grouped navigation keeps every page it had, each once."""

import re

import pytest
from django.urls import reverse

from dropship.accounts.models import Role
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

PAGES = {
    "Dashboard": "retailers:dashboard",
    "Catalog": "catalog:browse",
    "My products": "retailers:products",
    "Orders": "orders:retailer_list",
    "Analytics": "orders:retailer_analytics",
    "Import list": "retailers:import_list",
    "Pricing rules": "retailers:pricing_rules",
    "Suppliers": "suppliers:directory",
    "Approvals": "retailers:approvals",
    "Stores": "retailers:stores",
    "Stock sync": "retailers:sync_status",
    "Fraud checks": "orders:retailer_fraud_rules",
    "Billing": "billing:retailer",
    "Notifications": "retailers:notice_preferences",
    "Settings": "retailers:settings",
    "Messages": "messaging:retailer_inbox",
    "Returns": "orders:retailer_returns",
    "Cases": "cases:retailer_list",
}
OWNER_ONLY = {
    "Packing slip": "retailers:packing_slip_settings",
    "Team": "accounts:team",
    "API keys": "accounts:api_keys",
    "Audit log": "accounts:audit_log",
}


def _nav(client) -> str:
    html = client.get(reverse("retailers:dashboard")).content.decode()
    return re.search(r'<nav id="primary-nav".*?</nav>', html, re.S).group(0)


def test_an_owner_reaches_every_page_from_the_grouped_menus(client):
    owner = factories.RetailerMemberFactory(role=Role.OWNER).user
    client.force_login(owner)
    nav = _nav(client)

    for label, name in {**PAGES, **OWNER_ONLY}.items():
        assert nav.count(f'href="{reverse(name)}"') == 1, label
    assert nav.count('class="nav-menu-button') == 4
    assert 'aria-controls="nav-sell"' in nav
    assert '<ul class="nav-submenu" id="nav-sell" hidden>' in nav


def test_staff_members_do_not_see_the_owners_pages(client):
    member = factories.RetailerMemberFactory(role=Role.STAFF).user
    client.force_login(member)
    nav = _nav(client)

    for label, name in PAGES.items():
        assert f'href="{reverse(name)}"' in nav, label
    for name in OWNER_ONLY.values():
        assert f'href="{reverse(name)}"' not in nav


def test_the_menu_holding_the_current_page_is_marked(client):
    owner = factories.RetailerMemberFactory(role=Role.OWNER).user
    client.force_login(owner)

    html = client.get(reverse("retailers:sync_status")).content.decode()

    assert (
        'class="nav-menu-button has-current" aria-expanded="false" aria-controls="nav-stores"'
        in html
    )
    assert (
        f'<a href="{reverse("retailers:sync_status")}" aria-current="page">Stock sync</a>' in html
    )
