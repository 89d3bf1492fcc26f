"""Issue 17 point 3: an approved supplier edits its profile. Description, logo, contact, return
address and handling days apply at once; legal name, tax id and payout country go back to review
with the old values in force until a reviewer approves in the admin (reject discards them)."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dropship.accounts.models import Notification, Role
from dropship.accounts.roles import PLATFORM_ADMIN
from dropship.core.models import AuditLogEntry
from suppliers.models import Supplier, SupplierProfileChange
from tests import factories
from tests.mfa import login_with_second_factor
from tests.retailers.test_packing_slip_settings import _png

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

PROFILE = reverse("suppliers:profile_settings")
CHANGELIST = reverse("admin:suppliers_supplierprofilechange_changelist")


@pytest.fixture
def owner_client(client):
    member = factories.SupplierMemberFactory(
        supplier__legal_name="Harbour Goods Ltd",
        supplier__tax_id="GB123",
        supplier__payout_country="GB",
    )
    client.force_login(member.user)
    client.supplier = member.supplier
    return client


@pytest.fixture
def admin_desk(client):
    user = factories.UserFactory(email="ada@platform.test", is_staff=True)
    user.groups.add(Group.objects.get(name=PLATFORM_ADMIN))
    desk = client.__class__()
    login_with_second_factor(desk, user)
    desk.user = user
    return desk


def _form(**changes):
    return {
        "description": "Enamelware from the harbour.",
        "contact_email": "Sales@Harbour.example",
        "phone": "+44 20 0000 0000",
        "website": "https://harbour.example",
        "return_address": "Unit 4, Dock Road, Bristol BS1 1AA, GB",
        "handling_days": "3",
        "legal_name": "Harbour Goods Ltd",
        "tax_id": "GB123",
        "payout_country": "GB",
        **changes,
    }


def test_free_fields_apply_at_once_and_are_audited(owner_client):
    response = owner_client.post(
        PROFILE, {**_form(), "logo": SimpleUploadedFile("logo.png", _png())}
    )

    assert response.status_code == 302
    supplier = Supplier.objects.get(pk=owner_client.supplier.pk)
    assert (supplier.description, supplier.contact_email, supplier.handling_days) == (
        "Enamelware from the harbour.",
        "sales@harbour.example",
        3,
    )
    assert supplier.return_address == "Unit 4, Dock Road, Bristol BS1 1AA, GB"
    assert supplier.logo.name.endswith(".png")
    assert not SupplierProfileChange.objects.exists()
    entry = AuditLogEntry.objects.get(action="supplier.profile_changed")
    assert entry.changes["handling_days"] == [2, 3]
    assert entry.supplier_id == supplier.pk


def test_a_reviewed_change_keeps_the_old_values_in_force_until_approved(owner_client, admin_desk):
    supplier = owner_client.supplier

    response = owner_client.post(
        PROFILE, _form(legal_name="Harbour Trading Ltd", tax_id="gb999", payout_country="ie")
    )

    assert response.status_code == 302
    supplier.refresh_from_db()
    assert (supplier.legal_name, supplier.tax_id, supplier.payout_country) == (
        "Harbour Goods Ltd",
        "GB123",
        "GB",
    )
    change = SupplierProfileChange.objects.get(supplier=supplier)
    assert change.status == SupplierProfileChange.Status.PENDING
    assert change.changes == {
        "legal_name": ["Harbour Goods Ltd", "Harbour Trading Ltd"],
        "tax_id": ["GB123", "GB999"],
        "payout_country": ["GB", "IE"],
    }
    page = owner_client.get(PROFILE).content.decode()
    assert "Pending review" in page
    assert "Legal company name: “Harbour Goods Ltd” → “Harbour Trading Ltd”" in page
    # The form still shows what is in force.
    assert 'value="Harbour Goods Ltd"' in page

    approved = admin_desk.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [change.pk], "index": 0}
    )

    assert approved.status_code == 302
    supplier.refresh_from_db()
    assert (supplier.legal_name, supplier.tax_id, supplier.payout_country) == (
        "Harbour Trading Ltd",
        "GB999",
        "IE",
    )
    change.refresh_from_db()
    assert (change.status, change.decided_by_id) == ("APPROVED", admin_desk.user.pk)
    entry = AuditLogEntry.objects.get(action="supplier.profile_change_approved")
    assert entry.changes["legal_name"] == ["Harbour Goods Ltd", "Harbour Trading Ltd"]
    assert Notification.objects.filter(supplier=supplier, kind="profile.change_approved").exists()
    assert "Pending review" not in owner_client.get(PROFILE).content.decode()


def test_a_rejected_change_is_discarded_with_the_reason_shown(owner_client, admin_desk):
    supplier = owner_client.supplier
    owner_client.post(PROFILE, _form(tax_id="XX-1"))
    change = SupplierProfileChange.objects.get()
    selected = {"action": "reject_selected", "_selected_action": [change.pk]}

    asked = admin_desk.post(CHANGELIST, selected)
    assert asked.status_code == 200
    assert "Reject 1 profile change?" in asked.content.decode()
    rejected = admin_desk.post(
        CHANGELIST, {**selected, "apply": "yes", "reason": "The tax id does not match the papers."}
    )

    assert rejected.status_code == 302
    supplier.refresh_from_db()
    assert supplier.tax_id == "GB123"
    change.refresh_from_db()
    assert (change.status, change.decision_reason) == (
        "REJECTED",
        "The tax id does not match the papers.",
    )
    assert AuditLogEntry.objects.filter(action="supplier.profile_change_rejected").count() == 1
    page = owner_client.get(PROFILE).content.decode()
    assert "was not approved: The tax id does not match the papers." in page
    again = admin_desk.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [change.pk], "index": 0}
    )
    assert again.status_code == 302
    supplier.refresh_from_db()
    assert supplier.tax_id == "GB123"  # a decided request cannot be approved afterwards


def test_a_new_request_replaces_the_pending_one(owner_client):
    owner_client.post(PROFILE, _form(tax_id="GB200"))
    owner_client.post(PROFILE, _form(tax_id="GB300"))

    [change] = SupplierProfileChange.objects.all()
    assert change.changes == {"tax_id": ["GB123", "GB300"]}
    assert owner_client.supplier.__class__.objects.get().tax_id == "GB123"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"payout_country": "Ireland"},
            "payout_country",
            "“IRELAND” is not a two-letter country code (e.g. US, DE).",
        ),
        ({"handling_days": "90"}, "handling_days", "Handling time is from 0 to 60 days."),
        (
            {"contact_email": "not-an-email"},
            "contact_email",
            "“not-an-email” is not an e-mail address.",
        ),
        ({"legal_name": "   "}, "legal_name", "Enter your legal company name."),
    ],
)
def test_bad_input_names_the_field_and_nothing_changes(owner_client, changes, field, message):
    response = owner_client.post(PROFILE, _form(description="Changed", **changes))

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    supplier = Supplier.objects.get(pk=owner_client.supplier.pk)
    assert supplier.description == ""
    assert not SupplierProfileChange.objects.exists()


def test_a_logo_that_is_not_an_image_is_refused_and_nothing_changes(owner_client):
    response = owner_client.post(
        PROFILE,
        {
            **_form(description="Changed", tax_id="NEW1"),
            "logo": SimpleUploadedFile("logo.png", b"#!/bin/sh\necho not an image\n"),
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors["logo"] == [
        "This file is not a readable JPEG, PNG or WebP image."
    ]
    supplier = Supplier.objects.get(pk=owner_client.supplier.pk)
    assert (supplier.description, supplier.logo.name) == ("", "")
    assert not SupplierProfileChange.objects.exists()


def test_only_the_owner_of_an_approved_supplier_edits_the_profile(client):
    staff = factories.SupplierMemberFactory(role=Role.STAFF)
    client.force_login(staff.user)
    assert client.post(PROFILE, _form()).status_code == 403

    pending = factories.SupplierMemberFactory(supplier__status=Supplier.Status.PENDING)
    client.force_login(pending.user)
    response = client.get(PROFILE)
    assert response.status_code == 302
    assert response["Location"] == reverse("suppliers:onboarding")
