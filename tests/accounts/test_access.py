"""Each workspace is for its own kind of organisation; everyone else gets a page that says so."""

import pytest
from django.urls import reverse

from dropship.accounts.models import Role
from tests import factories


def test_supplier_opening_the_retailer_workspace_gets_a_403_naming_it(supplier_client):
    response = supplier_client.get(reverse("retailers:dashboard"))

    assert response.status_code == 403
    html = response.content.decode()
    assert "This page is for retailers" in html
    assert (
        f"a member of <strong>{supplier_client.supplier.company_name}</strong>, a supplier" in html
    )


def test_retailer_opening_the_supplier_workspace_gets_a_403_naming_it(retailer_client):
    response = retailer_client.get(reverse("suppliers:dashboard"))

    assert response.status_code == 403
    html = response.content.decode()
    assert "This page is for suppliers" in html
    assert (
        f"a member of <strong>{retailer_client.retailer.business_name}</strong>, a retailer" in html
    )


def test_user_without_an_organisation_is_told_so(client, db):
    client.force_login(factories.UserFactory())

    response = client.get(reverse("suppliers:dashboard"))

    assert response.status_code == 403
    assert "Your account does not belong to a supplier organisation." in response.content.decode()


@pytest.mark.parametrize(
    "url_name",
    ["suppliers:dashboard", "retailers:dashboard", "accounts:team", "accounts:api_keys"],
)
def test_anonymous_visitors_are_sent_to_log_in(client, db, url_name):
    url = reverse(url_name)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={url}"


def test_each_kind_reaches_its_own_dashboard(supplier_client, client):
    assert supplier_client.get(reverse("suppliers:dashboard")).status_code == 200
    client.logout()
    client.force_login(factories.RetailerMemberFactory().user)
    assert client.get(reverse("retailers:dashboard")).status_code == 200


@pytest.mark.parametrize("url_name", ["accounts:team", "accounts:api_keys"])
def test_staff_members_cannot_manage_the_team_or_keys(client, db, url_name):
    staff = factories.SupplierMemberFactory(role=Role.STAFF)
    client.force_login(staff.user)

    response = client.get(reverse(url_name))

    assert response.status_code == 403
    assert "Only an owner can do this" in response.content.decode()
