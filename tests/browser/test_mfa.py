"""A platform admin adds a passkey in a real browser (Chromium's virtual authenticator, over the
DevTools protocol: the WebAuthn ceremony runs as it does with a phone or a security key), then
signs in with it alone and opens the admin."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from dropship.accounts.roles import PLATFORM_ADMIN
from tests import factories
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _virtual_authenticator(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )


def test_admin_adds_a_passkey_then_signs_in_with_it_and_opens_the_admin(page):
    admin = factories.UserFactory(email="ada@platform.test", is_staff=True)
    admin.groups.add(Group.objects.get(name=PLATFORM_ADMIN))
    EmailAddress.objects.create(user=admin, email=admin.email, verified=True, primary=True)
    _virtual_authenticator(page)

    page.goto("/accounts/login/?next=/admin/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url("**/accounts/2fa/?next=*")  # the admin sent them to set up a factor
    expect(page.get_by_text("Staff must use two-factor authentication")).to_be_visible()

    page.goto("/accounts/2fa/webauthn/add/")
    page.get_by_placeholder("Password").fill(DEFAULT_PASSWORD)  # allauth asks again first
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/accounts/2fa/webauthn/add/")
    page.get_by_label("Passwordless").check()
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    assert Authenticator.objects.filter(user=admin, type=Authenticator.Type.WEBAUTHN).count() == 1

    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Marketplace", exact=True)).to_be_visible()

    page.get_by_role("button", name="Log out").first.click()
    page.goto("/accounts/login/?next=/admin/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url("**/admin/")
    expect(page.get_by_role("heading", name="Marketplace", exact=True)).to_be_visible()
