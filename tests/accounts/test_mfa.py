"""Two-factor authentication: required for staff before the admin, optional for members, and
required for a whole team when its owner says so. Codes are computed here (RFC 6238) from the
secret the enrolment page hands out, as an authenticator app would."""

from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group
from django.urls import reverse

from dropship.accounts.models import Role
from dropship.accounts.roles import PLATFORM_ADMIN, SUPPORT_AGENT
from dropship.accounts.services import create_api_key
from dropship.core.models import AuditLogEntry
from tests import factories
from tests.factories import DEFAULT_PASSWORD
from tests.mfa import login_with_second_factor, totp_code

ADMIN = "/admin/"
WORKSPACE = "/retailer/"
API_SYNC_STATUS = "/api/v1/sync/status"


def person(email: str, *, group: str | None = None, is_staff: bool = False):
    user = factories.UserFactory(email=email, is_staff=is_staff)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def enrol_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def log_in_with_password(client, email: str):
    return client.post(reverse("account_login"), {"login": email, "password": DEFAULT_PASSWORD})


def start_totp_enrolment(client) -> str:
    """allauth asks for the password again before a factor is added; then the page hands out
    the secret an authenticator app would scan."""
    assert client.get(reverse("mfa_activate_totp")).status_code == 302  # to reauthenticate
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    return page.context["form"].secret


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


# transaction=True: allauth announces a new authenticator when its transaction commits, and that
# is what counts the enrolment as this session's second factor.
@pytest.mark.django_db(transaction=True)
def test_staff_cannot_reach_the_admin_until_they_enrol_a_totp_authenticator(client):
    person("sam@support.test", group=SUPPORT_AGENT, is_staff=True)
    assert log_in_with_password(client, "sam@support.test").status_code == 302
    assert is_logged_in(client)

    refused = client.get(ADMIN)
    assert refused.status_code == 302
    assert refused.url == f"{reverse('mfa_index')}?next=%2Fadmin%2F"
    assert client.get(reverse("admin:billing_feeschedule_changelist")).status_code == 302

    secret = start_totp_enrolment(client)
    wrong = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert wrong.status_code == 200
    assert "Incorrect code." in wrong.content.decode()
    assert not Authenticator.objects.filter(type=Authenticator.Type.TOTP).exists()
    assert client.get(ADMIN).status_code == 302

    activated = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert activated.status_code == 302
    assert Authenticator.objects.filter(type=Authenticator.Type.TOTP).count() == 1
    # Recovery codes come with the first authenticator.
    assert Authenticator.objects.filter(type=Authenticator.Type.RECOVERY_CODES).count() == 1
    assert client.get(ADMIN).status_code == 200


@pytest.mark.django_db
def test_enrolled_staff_must_pass_the_second_factor_in_this_session(client):
    admin = person("ada@platform.test", group=PLATFORM_ADMIN, is_staff=True)
    secret = enrol_totp(admin)

    # The password alone does not sign in: allauth asks for the code, the admin stays shut.
    assert log_in_with_password(client, admin.email).url == reverse("mfa_authenticate")
    assert not is_logged_in(client)
    assert client.get(ADMIN).status_code == 302

    # A session opened around allauth's login has no second factor: asked for a code.
    client.force_login(admin)
    refused = client.get(ADMIN)
    assert refused.url == f"{reverse('mfa_reauthenticate')}?next=%2Fadmin%2F"
    passed = client.post(
        f"{reverse('mfa_reauthenticate')}?next=/admin/", {"code": totp_code(secret)}
    )
    assert passed.status_code == 302
    assert client.get(ADMIN).status_code == 200


@pytest.mark.django_db
def test_the_admins_own_login_form_sends_staff_to_the_login_that_asks_for_the_second_factor(
    client,
):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next=%2Fadmin%2F"


@pytest.mark.django_db
def test_recovery_codes_sign_in_and_each_works_once(client):
    admin = person("ada@platform.test", group=PLATFORM_ADMIN, is_staff=True)
    enrol_totp(admin)
    codes = RecoveryCodes.activate(admin).generate_codes()

    log_in_with_password(client, admin.email)
    used = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert used.status_code == 302
    assert is_logged_in(client)
    assert client.get(ADMIN).status_code == 200

    client.post(reverse("account_logout"))
    assert not is_logged_in(client)
    log_in_with_password(client, admin.email)
    again = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert again.status_code == 200
    assert "Incorrect code." in again.content.decode()
    assert not is_logged_in(client)
    assert client.post(reverse("mfa_authenticate"), {"code": codes[1]}).status_code == 302
    assert is_logged_in(client)
    assert client.get(ADMIN).status_code == 200


@pytest.fixture
def team(db):
    """A retailer whose owner uses TOTP, with a member who does not; and another retailer."""
    owner = factories.RetailerMemberFactory(user=person("olive@maple.test"), role=Role.OWNER)
    member = factories.RetailerMemberFactory(
        user=person("mo@maple.test"), retailer=owner.retailer, role=Role.STAFF
    )
    outsider = factories.RetailerMemberFactory(user=person("otto@other.test"), role=Role.OWNER)
    return owner, member, outsider


def test_members_reach_the_workspace_without_mfa_while_it_is_optional(client, team):
    _, member, _ = team
    client.force_login(member.user)
    assert client.get(WORKSPACE).status_code == 200


def test_owner_required_mfa_sends_a_member_without_it_to_enrol_and_spares_other_teams(client, team):
    owner, member, outsider = team
    owner_secret = enrol_totp(owner.user)
    log_in_with_password(client, owner.user.email)
    client.post(reverse("mfa_authenticate"), {"code": totp_code(owner_secret)})

    saved = client.post(reverse("accounts:team_mfa"), {"is_mfa_required": "on"})
    assert saved.status_code == 302
    owner.retailer.refresh_from_db()
    assert owner.retailer.is_mfa_required is True
    entry = AuditLogEntry.objects.get(action="team.mfa_required")
    assert entry.actor == owner.user
    assert client.get(WORKSPACE).status_code == 200  # the owner passed their second factor

    client.force_login(member.user)
    refused = client.get(WORKSPACE)
    assert refused.status_code == 302
    assert refused.url == f"{reverse('mfa_index')}?next=%2Fretailer%2F"
    assert client.get(reverse("mfa_index")).status_code == 200  # the way out is open

    client.force_login(outsider.user)
    assert client.get(WORKSPACE).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_member_who_enrols_reaches_the_required_workspace_straight_away(client, team):
    owner, member, _ = team
    owner.retailer.is_mfa_required = True
    owner.retailer.save(update_fields=["is_mfa_required"])
    log_in_with_password(client, member.user.email)
    assert client.get(WORKSPACE).status_code == 302

    secret = start_totp_enrolment(client)
    client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert client.get(WORKSPACE).status_code == 200


def test_owner_cannot_require_mfa_before_setting_it_up_themselves(client, team):
    owner, _, _ = team
    client.force_login(owner.user)
    response = client.post(reverse("accounts:team_mfa"), {"is_mfa_required": "on"}, follow=True)
    assert (
        "Set up two-factor authentication for your own account first" in response.content.decode()
    )
    owner.retailer.refresh_from_db()
    assert owner.retailer.is_mfa_required is False
    assert not AuditLogEntry.objects.exists()


def test_only_an_owner_changes_the_team_requirement(client, team):
    _, member, _ = team
    enrol_totp(member.user)
    client.force_login(member.user)
    response = client.post(reverse("accounts:team_mfa"), {"is_mfa_required": "on"})
    assert response.status_code == 403
    member.retailer.refresh_from_db()
    assert member.retailer.is_mfa_required is False


def test_team_page_shows_who_has_two_factor(client, team):
    owner, _, _ = team
    enrol_totp(owner.user)
    client.force_login(owner.user)
    members = {m.user.email: m.has_mfa for m in client.get("/team/").context["members"]}
    assert members == {"olive@maple.test": True, "mo@maple.test": False}


def test_api_keys_are_not_gated_but_a_session_without_the_second_factor_is(client, team):
    owner, member, _ = team
    owner.retailer.is_mfa_required = True
    owner.retailer.save(update_fields=["is_mfa_required"])
    _, secret = create_api_key(organisation=owner.retailer, name="ERP", created_by=owner.user)

    assert client.get(API_SYNC_STATUS, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200

    client.force_login(member.user)
    refused = client.get(API_SYNC_STATUS)
    assert refused.status_code == 403
    assert "requires two-factor authentication" in refused.json()["detail"]


def test_public_search_shows_wholesale_prices_only_once_the_teams_second_factor_is_passed(
    client, team
):
    owner, member, _ = team
    product = factories.ProductFactory(title="Copper kettle")
    factories.VariantFactory(product=product, wholesale_price=Decimal("12.34"))
    owner.retailer.is_mfa_required = True
    owner.retailer.save(update_fields=["is_mfa_required"])

    client.force_login(member.user)
    hidden = client.get("/api/v1/catalog/search").json()["items"][0]
    assert hidden["wholesale_price_from"] is None  # a visitor's view

    login_with_second_factor(client, member.user)
    shown = client.get("/api/v1/catalog/search").json()["items"][0]
    assert shown["wholesale_price_from"] == "12.34"


def test_an_htmx_call_owing_the_second_factor_is_told_to_load_the_enrolment_page(client, team):
    owner, member, _ = team
    owner.retailer.is_mfa_required = True
    owner.retailer.save(update_fields=["is_mfa_required"])
    client.force_login(member.user)
    response = client.get(WORKSPACE, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{reverse('mfa_index')}?next=%2Fretailer%2F"
