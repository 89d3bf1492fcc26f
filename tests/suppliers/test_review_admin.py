"""Supplier review in the admin: approve, reject, suspend, reinstate through the services."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core import mail
from django.core.files.base import ContentFile
from django.urls import reverse

from dropship.accounts.models import Notification
from dropship.accounts.roles import PLATFORM_ADMIN
from dropship.core.models import AuditLogEntry
from suppliers.models import Supplier, SupplierStatusChange, SupplierVerification
from tests import factories
from tests.mfa import login_with_second_factor

PENDING = Supplier.Status.PENDING


@pytest.fixture
def platform_admin(db):
    user = factories.UserFactory(email="ada@platform.test", is_staff=True)
    user.groups.add(Group.objects.get(name=PLATFORM_ADMIN))
    return user


@pytest.fixture
def admin_desk(client, platform_admin):
    login_with_second_factor(client, platform_admin)
    return client


@pytest.fixture
def pending_member(db):
    return factories.SupplierMemberFactory(
        supplier__status=PENDING,
        supplier__company_name="Fresh Start Imports",
        supplier__contact_email="",
        user__email="owner@freshstart.test",
    )


def review_url(supplier: Supplier, decision: str) -> str:
    return reverse("admin:suppliers_supplier_review", args=[supplier.pk, decision])


def change_url(supplier: Supplier) -> str:
    return reverse("admin:suppliers_supplier_change", args=[supplier.pk])


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def test_change_page_shows_verification_document_and_offers_approve_and_reject(
    admin_desk, pending_member, settings, tmp_path
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    supplier = pending_member.supplier
    verification = SupplierVerification.objects.create(
        supplier=supplier,
        registration_number="GB-0472-2291",
        country="GB",
        answers={"years_trading": "7", "warehouse_city": "Leeds"},
    )
    verification.document.save("certificate.pdf", ContentFile(b"%PDF-1.4"), save=True)

    response = admin_desk.get(change_url(supplier))

    assert response.status_code == 200
    html = response.content.decode()
    assert "GB-0472-2291" in html
    assert "<th>warehouse_city</th><td>Leeds</td>" in html
    document_url = reverse("admin:suppliers_supplier_verification_document", args=[supplier.pk])
    assert f'href="{document_url}"' in html
    assert f'href="{review_url(supplier, "approve")}"' in html
    assert f'href="{review_url(supplier, "reject")}"' in html
    assert review_url(supplier, "suspend") not in html
    assert review_url(supplier, "reinstate") not in html


def test_platform_admin_approves_a_pending_supplier_through_the_service(
    admin_desk, platform_admin, pending_member, django_capture_on_commit_callbacks
):
    supplier = pending_member.supplier
    assert admin_desk.get(review_url(supplier, "approve")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_desk.post(review_url(supplier, "approve"))

    assert response.status_code == 302
    assert response["Location"] == change_url(supplier)
    supplier.refresh_from_db()
    assert supplier.status == Supplier.Status.ACTIVE
    assert supplier.approved_at is not None
    change = SupplierStatusChange.objects.get(supplier=supplier)
    assert (change.from_status, change.to_status, change.actor) == (
        "PENDING",
        "ACTIVE",
        platform_admin,
    )
    assert (
        AuditLogEntry.objects.filter(action="supplier.approve", actor=platform_admin).count() == 1
    )
    assert [m.to for m in mail.outbox] == [["owner@freshstart.test"]]
    assert mail.outbox[0].subject == "Your Dropship supplier account is approved"
    assert Notification.objects.get(supplier=supplier).kind == "review.approved"
    assert messages_of(response) == [
        ("success", "Fresh Start Imports is approved; the supplier has been notified.")
    ]


@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_without_a_reason_is_refused_and_changes_nothing(
    admin_desk, pending_member, reason, django_capture_on_commit_callbacks
):
    supplier = pending_member.supplier

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_desk.post(review_url(supplier, "reject"), {"reason": reason})

    assert response.status_code == 200
    assert "Give a reason; the supplier will see it." in response.content.decode()
    supplier.refresh_from_db()
    assert supplier.status == PENDING
    assert supplier.status_reason == ""
    assert SupplierStatusChange.objects.count() == 0
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_reject_with_a_reason_stores_it_and_tells_the_supplier(
    admin_desk, platform_admin, pending_member, django_capture_on_commit_callbacks
):
    supplier = pending_member.supplier
    reason = "The registration certificate is unreadable; upload a clearer scan."

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_desk.post(review_url(supplier, "reject"), {"reason": f"  {reason} "})

    assert response.status_code == 302
    supplier.refresh_from_db()
    assert supplier.status == Supplier.Status.REJECTED
    assert supplier.status_reason == reason
    change = SupplierStatusChange.objects.get(supplier=supplier)
    assert (change.to_status, change.reason, change.actor) == ("REJECTED", reason, platform_admin)
    notification = Notification.objects.get(supplier=supplier)
    assert notification.message == f"Your application was not approved: {reason}"
    assert len(mail.outbox) == 1
    assert reason in mail.outbox[0].body

    history = admin_desk.get(change_url(supplier)).content.decode()
    assert reason in history
    assert "ada@platform.test" in history


def test_a_decision_the_service_refuses_shows_its_message_not_an_error_page(
    admin_desk, django_capture_on_commit_callbacks
):
    supplier = factories.SupplierFactory(company_name="Northwind", status=Supplier.Status.ACTIVE)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_desk.post(review_url(supplier, "approve"))

    assert response.status_code == 302
    assert messages_of(response) == [("error", "Northwind is active; it cannot be approved.")]
    supplier.refresh_from_db()
    assert supplier.status == Supplier.Status.ACTIVE
    assert SupplierStatusChange.objects.count() == 0
    assert mail.outbox == []


def test_suspend_needs_a_reason_and_reinstate_brings_the_supplier_back(
    admin_desk, django_capture_on_commit_callbacks
):
    member = factories.SupplierMemberFactory(supplier__status=Supplier.Status.ACTIVE)
    supplier = member.supplier
    page = admin_desk.get(change_url(supplier)).content.decode()
    assert review_url(supplier, "suspend") in page
    assert review_url(supplier, "approve") not in page

    with django_capture_on_commit_callbacks(execute=True):
        refused = admin_desk.post(review_url(supplier, "suspend"), {"reason": ""})
        admin_desk.post(review_url(supplier, "suspend"), {"reason": "Chargebacks on 9 orders"})
    assert refused.status_code == 200
    supplier.refresh_from_db()
    assert (supplier.status, supplier.status_reason) == ("SUSPENDED", "Chargebacks on 9 orders")
    assert (
        review_url(supplier, "reinstate") in admin_desk.get(change_url(supplier)).content.decode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        admin_desk.post(review_url(supplier, "reinstate"))
    supplier.refresh_from_db()
    assert (supplier.status, supplier.status_reason) == ("ACTIVE", "")
    assert list(
        SupplierStatusChange.objects.order_by("id").values_list("from_status", "to_status")
    ) == [("ACTIVE", "SUSPENDED"), ("SUSPENDED", "ACTIVE")]
    assert len(mail.outbox) == 2


def test_unknown_decision_is_404(admin_desk, pending_member):
    assert admin_desk.post(review_url(pending_member.supplier, "delete")).status_code == 404


def test_bulk_approve_reports_each_refusal_and_approves_the_rest(
    admin_desk, django_capture_on_commit_callbacks
):
    first = factories.SupplierFactory(company_name="Alpha", status=PENDING)
    second = factories.SupplierFactory(company_name="Beta", status=Supplier.Status.REJECTED)
    active = factories.SupplierFactory(company_name="Gamma", status=Supplier.Status.ACTIVE)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_desk.post(
            reverse("admin:suppliers_supplier_changelist"),
            {
                "action": "approve_selected",
                "_selected_action": [first.pk, second.pk, active.pk],
                "index": 0,
            },
        )

    assert response.status_code == 302
    assert messages_of(response) == [
        ("success", "Approved and notified: Alpha, Beta."),
        ("error", "Gamma is active; it cannot be approved."),
    ]
    statuses = dict(Supplier.objects.values_list("company_name", "status"))
    assert statuses == {"Alpha": "ACTIVE", "Beta": "ACTIVE", "Gamma": "ACTIVE"}
    assert SupplierStatusChange.objects.count() == 2


def test_bulk_reject_asks_for_a_reason_first_and_applies_it_to_each(
    admin_desk, django_capture_on_commit_callbacks
):
    first = factories.SupplierFactory(company_name="Alpha", status=PENDING)
    second = factories.SupplierFactory(company_name="Beta", status=PENDING)
    url = reverse("admin:suppliers_supplier_changelist")
    selected = {"action": "reject_selected", "_selected_action": [first.pk, second.pk]}

    ask = admin_desk.post(url, {**selected, "index": 0})
    assert ask.status_code == 200
    assert 'name="apply"' in ask.content.decode()

    missing = admin_desk.post(url, {**selected, "apply": "yes", "reason": " "})
    assert missing.status_code == 200
    assert "Give a reason; the supplier will see it." in missing.content.decode()
    assert set(Supplier.objects.values_list("status", flat=True)) == {"PENDING"}

    with django_capture_on_commit_callbacks(execute=True):
        done = admin_desk.post(url, {**selected, "apply": "yes", "reason": "Incomplete documents"})
    assert done.status_code == 302
    assert set(Supplier.objects.values_list("status", "status_reason")) == {
        ("REJECTED", "Incomplete documents")
    }
    assert SupplierStatusChange.objects.filter(reason="Incomplete documents").count() == 2


@pytest.fixture
def uploaded_document(pending_member, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"
    verification = SupplierVerification.objects.create(
        supplier=pending_member.supplier, country="GB"
    )
    verification.document.save("x.pdf", ContentFile(b"%PDF-1.4 registration"), save=False)
    verification.document_name = "Certificate of incorporation.pdf"
    verification.document_content_type = "application/pdf"
    verification.save()
    return verification


def test_verification_documents_are_stored_outside_the_public_media_folder(
    uploaded_document, settings
):
    stored = uploaded_document.document.path
    assert stored.startswith(str(settings.PRIVATE_MEDIA_ROOT))
    assert not stored.startswith(str(settings.MEDIA_ROOT))
    with pytest.raises(ValueError, match="no public URL"):
        _ = uploaded_document.document.url


def test_a_reviewer_downloads_the_document_under_its_original_name(admin_desk, uploaded_document):
    url = reverse(
        "admin:suppliers_supplier_verification_document", args=[uploaded_document.supplier_id]
    )

    response = admin_desk.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="Certificate of incorporation.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == b"%PDF-1.4 registration"


def test_the_document_is_refused_to_staff_without_the_permission_and_to_the_public(
    client, uploaded_document
):
    url = reverse(
        "admin:suppliers_supplier_verification_document", args=[uploaded_document.supplier_id]
    )
    assert client.get(url).status_code == 302  # anonymous: to the admin login
    login_with_second_factor(client, factories.UserFactory(is_staff=True))
    assert client.get(url).status_code == 403
    client.force_login(
        uploaded_document.supplier.memberships.get().user
    )  # the supplier is not staff
    assert client.get(url).status_code == 302
