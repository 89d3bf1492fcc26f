"""Signing up creates the user, its organisation and an OWNER membership together, or nothing."""

import pytest
from django.urls import reverse

from dropship.accounts.models import Membership, Role, User
from retailers.models import Retailer
from suppliers.models import Supplier
from tests import factories

PASSWORD = "plum-orchard-lantern-42"


def signup(client, **overrides):
    data = {
        "organisation_kind": "SUPPLIER",
        "organisation_name": "Harbour Ceramics",
        "full_name": "Hana Potter",
        "email": "hana@harbour.test",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }
    return client.post(reverse("account_signup"), data)


def row_counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "suppliers": Supplier.objects.count(),
        "retailers": Retailer.objects.count(),
        "memberships": Membership.objects.count(),
    }


def test_supplier_signup_creates_a_pending_supplier_owned_by_the_new_user(client, db):
    response = signup(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    user = User.objects.get(email="hana@harbour.test")
    assert user.full_name == "Hana Potter"
    membership = Membership.objects.select_related("supplier").get(user=user)
    assert membership.role == Role.OWNER
    assert membership.retailer_id is None
    assert membership.supplier.company_name == "Harbour Ceramics"
    assert membership.supplier.slug == "harbour-ceramics"
    assert membership.supplier.status == Supplier.Status.PENDING
    assert membership.supplier.contact_email == "hana@harbour.test"
    # Signed in straight away and sent to the first step of the supplier application.
    assert client.get(reverse("dashboard"))["Location"] == reverse(
        "suppliers:onboarding_step", args=["profile"]
    )


def test_retailer_signup_creates_the_retailer_owned_by_the_new_user(client, db):
    response = signup(
        client,
        organisation_kind="RETAILER",
        organisation_name="Maple Goods",
        email="rita@maple.test",
    )

    assert response.status_code == 302
    membership = Membership.objects.select_related("retailer").get(user__email="rita@maple.test")
    assert membership.role == Role.OWNER
    assert membership.supplier_id is None
    assert membership.retailer.business_name == "Maple Goods"
    assert client.get(reverse("dashboard"))["Location"] == reverse("retailers:dashboard")


def test_login_is_by_email_and_password(client, db):
    member = factories.RetailerMemberFactory(user__email="rita@maple.test")

    refused = client.post(
        reverse("account_login"), {"login": "rita@maple.test", "password": "wrong-password"}
    )
    assert refused.status_code == 200
    assert "_auth_user_id" not in client.session

    response = client.post(
        reverse("account_login"),
        {"login": "Rita@Maple.test", "password": factories.DEFAULT_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.session["_auth_user_id"] == str(member.user.pk)


def test_signup_does_not_reveal_whether_an_email_is_registered(client, db, settings, mailoutbox):
    """Production (mandatory verification): a taken email gets exactly the answer a new one gets,
    and only its owner learns, by email, that someone tried."""
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    factories.SupplierMemberFactory(user__email="taken@example.com")
    before = row_counts()

    taken = signup(client, email="Taken@Example.com", organisation_name="Copycat Ltd")
    after_taken = row_counts()
    client.logout()
    fresh = signup(client, email="new@example.com", organisation_name="Fresh Ltd")

    assert taken.status_code == fresh.status_code == 302
    assert taken["Location"] == fresh["Location"] == reverse("account_email_verification_sent")
    assert after_taken == before
    assert not Supplier.objects.filter(company_name="Copycat Ltd").exists()
    assert [(mail.to, "already" in mail.subject.lower()) for mail in mailoutbox] == [
        (["taken@example.com"], True),
        (["new@example.com"], False),
    ]


@pytest.mark.parametrize(
    ("password", "messages"),
    [
        (
            "12345678",
            [
                "This password is too short. It must contain at least 12 characters.",
                "This password is too common.",
                "This password is entirely numeric.",
            ],
        ),
        (
            "password",
            [
                "This password is too short. It must contain at least 12 characters.",
                "This password is too common.",
            ],
        ),
    ],
)
def test_weak_passwords_are_rejected_with_the_validator_message(client, db, password, messages):
    before = row_counts()

    response = signup(client, password1=password, password2=password)

    assert response.status_code == 200
    assert response.context["form"].errors["password1"] == messages
    assert messages[-1] in response.content.decode()
    assert row_counts() == before


def test_a_password_needs_twelve_characters(client, db):
    refused = signup(client, password1="plum-orchar", password2="plum-orchar")  # 11
    accepted = signup(client, password1="plum-orchard", password2="plum-orchard")  # 12

    assert refused.status_code == 200
    assert refused.context["form"].errors["password1"] == [
        "This password is too short. It must contain at least 12 characters."
    ]
    assert accepted.status_code == 302
    assert User.objects.filter(email="hana@harbour.test").count() == 1


KIND_MISSING = "Choose whether you are a supplier or a retailer."
NAME_MISSING = "Enter your company name."


@pytest.mark.parametrize(
    ("overrides", "field", "messages"),
    [
        ({"organisation_kind": ""}, "organisation_kind", [KIND_MISSING]),
        (
            {"organisation_kind": "BANK"},
            "organisation_kind",
            ["Select a valid choice. BANK is not one of the available choices.", KIND_MISSING],
        ),
        ({"organisation_name": "   "}, "organisation_name", [NAME_MISSING]),
        ({"organisation_name": ""}, "organisation_name", [NAME_MISSING]),
    ],
)
def test_missing_organisation_kind_or_name_is_a_field_error_and_writes_nothing(
    client, db, overrides, field, messages
):
    before = row_counts()

    response = signup(client, **overrides)

    assert response.status_code == 200
    assert response.context["form"].errors[field] == messages
    assert messages[-1] in response.content.decode()
    assert row_counts() == before


def test_password_reset_does_not_reveal_whether_an_email_is_registered(client, db, mailoutbox):
    factories.RetailerMemberFactory(user__email="known@example.com")

    known = client.post(reverse("account_reset_password"), {"email": "known@example.com"})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("account_reset_password_done")
    # Each address gets a mail: a reset link, or "no account uses this address".
    assert [mail.to for mail in mailoutbox] == [["known@example.com"], ["nobody@example.com"]]
    assert "/accounts/password/reset/key/" in mailoutbox[0].body
    assert "/accounts/password/reset/key/" not in mailoutbox[1].body
