import io
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from catalog.models import Product
from dropship.accounts.models import OrganisationKind
from dropship.accounts.services import create_organisation
from suppliers.models import ShippingRate, Supplier, SupplierStatusChange, SupplierVerification
from suppliers.services import (
    OnboardingError,
    SupplierTransitionError,
    approve_supplier,
    reject_supplier,
    submit_supplier_for_review,
    validate_webhook_url,
)
from tests import factories

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media_root(tmp_path):
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


def _image(fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 90, 160)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def new_supplier(client):
    """A supplier just signed up: PENDING, nothing filled in, its owner logged in."""
    user = factories.UserFactory(email="owner@harbour.example")
    supplier = create_organisation(
        owner=user, kind=OrganisationKind.SUPPLIER, name="Harbour Lights"
    )
    client.force_login(user)
    client.user = user
    return supplier


PROFILE = {
    "legal_name": "Harbour Lights Trading Ltd",
    "business_type": "MANUFACTURER",
    "description": "Hand-made lamps from recycled glass.",
    "contact_email": "Sales@Harbour.example",
    "phone": "+44 20 7946 0958",
    "website": "https://harbour.example",
    "ship_from_country": "gb",
}
FULFILMENT = {
    "handling_days": "3",
    "min_order_value": "25.00",
    "rates-TOTAL_FORMS": "3",
    "rates-INITIAL_FORMS": "0",
    "rates-MIN_NUM_FORMS": "0",
    "rates-MAX_NUM_FORMS": "30",
    "rates-0-carrier": "Royal Mail",
    "rates-0-service": "Tracked 48",
    "rates-0-shipping_class": "standard",
    "rates-0-zone": "DOMESTIC",
    "rates-0-price": "4.20",
    "rates-0-additional_item_price": "1.00",
    "rates-0-min_days": "2",
    "rates-0-max_days": "3",
    "rates-1-carrier": "DHL",
    "rates-1-service": "Express",
    "rates-1-shipping_class": "standard",
    "rates-1-zone": "INTERNATIONAL",
    "rates-1-price": "18.50",
    "rates-1-additional_item_price": "4.00",
    "rates-1-min_days": "3",
    "rates-1-max_days": "6",
    # rates-2-* left blank: the spare empty row
    "rates-2-shipping_class": "standard",
    "rates-2-zone": "DOMESTIC",
    "rates-2-additional_item_price": "0",
    "rates-2-min_days": "2",
    "rates-2-max_days": "7",
}
CHANNEL = {
    "order_channel": "WEBHOOK",
    "webhook_url": "https://erp.harbour.example/dropship/orders",
    "order_email": "",
}


def _verification(name="certificate.pdf", content=PDF):
    return {
        "registration_number": "GB-0123456",
        "country": "GB",
        "document": SimpleUploadedFile(name, content),
    }


def _walk_to_review(client) -> None:
    steps = [
        ("profile", {**PROFILE, "logo": SimpleUploadedFile("logo.png", _image())}),
        ("fulfilment", FULFILMENT),
        ("channel", CHANNEL),
        ("verification", _verification()),
    ]
    for slug, data in steps:
        response = client.post(f"/supplier/application/{slug}/", data)
        assert response.status_code == 302, response.context and response.context.get("form").errors


def test_a_new_supplier_lands_on_the_first_step_of_its_application(client, new_supplier):
    response = client.get("/dashboard/")

    assert response.url == "/supplier/application/profile/"
    page = client.get(response.url)
    assert page.status_code == 200
    assert "Supplier application · Step 1 of 5: Company profile" in page.content.decode()


def test_onboarding_through_the_pages_then_approval_makes_the_products_visible(
    client, new_supplier, django_capture_on_commit_callbacks
):
    product = factories.ProductFactory(supplier=new_supplier, title="Recycled glass lamp")
    factories.VariantFactory(product=product)
    assert client.get(f"/suppliers/{new_supplier.slug}/").status_code == 404  # pending: invisible

    profile = client.post(
        "/supplier/application/profile/",
        {**PROFILE, "logo": SimpleUploadedFile("logo.png", _image())},
    )
    assert profile.url == "/supplier/application/fulfilment/"
    fulfilment = client.post("/supplier/application/fulfilment/", FULFILMENT)
    assert fulfilment.url == "/supplier/application/channel/"
    channel = client.post("/supplier/application/channel/", CHANNEL)
    assert channel.url == "/supplier/application/channel/"  # stays to show the new secret
    new_supplier.refresh_from_db()
    secret = new_supplier.webhook_secret
    assert len(secret) == 43  # 32 random bytes, URL-safe base64
    assert secret in client.get("/supplier/application/channel/").content.decode()
    verification = client.post("/supplier/application/verification/", _verification())
    assert verification.url == "/supplier/application/review/"
    review = client.get("/supplier/application/review/")
    assert review.context["problems"] == []

    submitted = client.post("/supplier/application/review/")

    assert submitted.url == "/supplier/"
    new_supplier.refresh_from_db()
    assert new_supplier.status == Supplier.Status.PENDING
    assert new_supplier.onboarding_step == Supplier.OnboardingStep.SUBMITTED
    assert new_supplier.submitted_at is not None
    assert (
        new_supplier.legal_name,
        new_supplier.business_type,
        new_supplier.ship_from_country,
    ) == (
        "Harbour Lights Trading Ltd",
        "MANUFACTURER",
        "GB",
    )
    assert new_supplier.contact_email == "sales@harbour.example"
    assert new_supplier.logo.name.endswith(".png")
    assert (new_supplier.handling_days, str(new_supplier.min_order_value)) == (3, "25.00")
    assert list(
        ShippingRate.objects.order_by("zone").values_list("carrier", "service", "zone", "price")
    ) == [
        ("Royal Mail", "Tracked 48", "DOMESTIC", Decimal("4.20")),
        ("DHL", "Express", "INTERNATIONAL", Decimal("18.50")),
    ]
    verification_row = SupplierVerification.objects.get(supplier=new_supplier)
    assert (verification_row.registration_number, verification_row.country) == ("GB-0123456", "GB")
    assert verification_row.document_name == "certificate.pdf"
    assert verification_row.document_content_type == "application/pdf"
    assert "certificate" not in verification_row.document.name  # stored under a random name
    assert list(
        SupplierStatusChange.objects.values_list("from_status", "to_status", "reason", "actor")
    ) == [("PENDING", "PENDING", "Submitted for review", client.user.pk)]
    assert "waiting for review" in client.get("/supplier/").content.decode()
    assert client.get(f"/suppliers/{new_supplier.slug}/").status_code == 404

    admin = factories.UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        approve_supplier(supplier=new_supplier, actor=admin)

    public = client.get(f"/suppliers/{new_supplier.slug}/")
    assert public.status_code == 200
    assert [p.title for p in public.context["products"]] == ["Recycled glass lamp"]
    assert Product.objects.filter(supplier__status="ACTIVE", status="ACTIVE").count() == 1
    assert mail.outbox[-1].subject == "Your Dropship supplier account is approved"


def test_progress_is_saved_between_visits(client, new_supplier):
    client.post("/supplier/application/profile/", PROFILE)
    client.post("/supplier/application/fulfilment/", FULFILMENT)
    client.logout()

    client.force_login(client.user)
    landing = client.get("/dashboard/")

    assert landing.url == "/supplier/application/channel/"
    assert client.get("/supplier/application/").url == "/supplier/application/channel/"
    profile_again = client.get("/supplier/application/profile/")
    assert profile_again.context["form"]["legal_name"].value() == "Harbour Lights Trading Ltd"


def test_steps_cannot_be_skipped(client, new_supplier):
    response = client.get("/supplier/application/verification/")

    assert response.url == "/supplier/application/profile/"


def test_the_dashboard_shows_the_unfinished_application_steps(client, new_supplier):
    client.post("/supplier/application/profile/", PROFILE)

    response = client.get("/supplier/")

    content = response.content.decode()
    assert "Complete your application" in content
    states = [(s.label, s.is_done) for s in response.context["application_steps"]]
    assert states == [
        ("Company profile", True),
        ("Fulfilment", False),
        ("Order channel", False),
        ("Verification", False),
        ("Review and submit", False),
    ]


def test_an_incomplete_application_cannot_be_submitted(new_supplier):
    with pytest.raises(SupplierTransitionError) as refused:
        submit_supplier_for_review(supplier=new_supplier, actor=None)

    assert refused.value.message == (
        "Your application is not complete: Complete your company profile. Add at least one "
        "shipping rate. Complete the verification step and upload your registration document."
    )
    new_supplier.refresh_from_db()
    assert new_supplier.submitted_at is None
    assert SupplierStatusChange.objects.count() == 0


def test_rejection_shows_the_reason_and_the_supplier_corrects_and_resubmits(
    client, new_supplier, django_capture_on_commit_callbacks
):
    _walk_to_review(client)
    client.post("/supplier/application/review/")
    admin = factories.UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        reject_supplier(
            supplier=new_supplier,
            actor=admin,
            reason="The registration document is unreadable; upload a clearer scan.",
        )

    dashboard = client.get("/supplier/").content.decode()
    assert "Your application was not approved." in dashboard
    assert "The registration document is unreadable; upload a clearer scan." in dashboard
    assert mail.outbox[-1].subject == "Your Dropship supplier application needs changes"

    corrected = client.post(
        "/supplier/application/verification/",
        _verification("clear-scan.jpg", _image("JPEG")),
    )
    assert corrected.url == "/supplier/application/review/"
    resubmitted = client.post("/supplier/application/review/")

    assert resubmitted.url == "/supplier/"
    new_supplier.refresh_from_db()
    assert (new_supplier.status, new_supplier.status_reason) == ("PENDING", "")
    assert SupplierVerification.objects.get().document_name == "clear-scan.jpg"
    assert list(
        SupplierStatusChange.objects.order_by("id").values_list(
            "from_status", "to_status", "reason"
        )
    ) == [
        ("PENDING", "PENDING", "Submitted for review"),
        ("PENDING", "REJECTED", "The registration document is unreadable; upload a clearer scan."),
        ("REJECTED", "PENDING", "Resubmitted after corrections"),
    ]


def test_an_application_under_review_cannot_be_changed(client, new_supplier):
    _walk_to_review(client)
    client.post("/supplier/application/review/")

    response = client.post("/supplier/application/profile/", {**PROFILE, "legal_name": "Changed"})

    assert response.status_code == 200
    assert "Your application is under review" in response.content.decode()
    new_supplier.refresh_from_db()
    assert new_supplier.legal_name == "Harbour Lights Trading Ltd"


def test_an_approved_supplier_manages_shipping_and_channel_but_not_its_verified_profile(
    client, new_supplier
):
    _walk_to_review(client)
    client.post("/supplier/application/review/")
    approve_supplier(supplier=new_supplier, actor=None)

    channel = client.post(
        "/supplier/application/channel/",
        {"order_channel": "EMAIL", "webhook_url": "", "order_email": "Orders@Harbour.example"},
    )
    profile = client.post("/supplier/application/profile/", {**PROFILE, "legal_name": "Changed"})

    assert channel.url == "/supplier/application/channel/"
    new_supplier.refresh_from_db()
    assert (new_supplier.order_channel, new_supplier.order_email) == (
        "EMAIL",
        "orders@harbour.example",
    )
    assert "only be changed by our team" in profile.content.decode()
    assert new_supplier.legal_name == "Harbour Lights Trading Ltd"


def test_the_webhook_secret_can_be_rotated(client, new_supplier):
    client.post("/supplier/application/profile/", PROFILE)
    client.post("/supplier/application/fulfilment/", FULFILMENT)
    client.post("/supplier/application/channel/", CHANNEL)
    new_supplier.refresh_from_db()
    first = new_supplier.webhook_secret

    client.post("/supplier/application/channel/", {**CHANNEL, "rotate_secret": "1"})

    new_supplier.refresh_from_db()
    assert new_supplier.webhook_secret != first
    assert len(new_supplier.webhook_secret) == 43


@pytest.mark.parametrize(
    ("url", "allow_loopback", "message"),
    [
        ("http://erp.example.com/orders", False, "The endpoint must use https://."),
        (
            "https://10.0.0.5/orders",
            False,
            "The endpoint must be a public address, not a private or reserved one.",
        ),
        (
            "https://169.254.169.254/latest",
            False,
            "The endpoint must be a public address, not a private or reserved one.",
        ),
        (
            "https://127.0.0.1:8443/orders",
            False,
            "The endpoint must be reachable from the internet, not a local address.",
        ),
        (
            "http://localhost:9000/orders",
            False,
            "The endpoint must be reachable from the internet, not a local address.",
        ),
        (
            "https://user:pw@erp.example.com/orders",
            False,
            "Do not put a user name or password in the URL; requests are signed instead.",
        ),
        ("ftp://erp.example.com/orders", False, "Enter a full URL starting with https://."),
        ("erp.example.com/orders", False, "Enter a full URL starting with https://."),
    ],
)
def test_unsafe_webhook_urls_are_refused(url, allow_loopback, message):
    with (
        override_settings(ALLOW_LOOPBACK_URLS=allow_loopback),
        pytest.raises(OnboardingError) as refused,
    ):
        validate_webhook_url(url)

    assert refused.value.message == message


@pytest.mark.parametrize(
    ("url", "allow_loopback"),
    [
        ("https://erp.example.com/orders", False),
        ("https://93.184.216.34/orders", False),
        ("http://127.0.0.1:9000/orders", True),
        ("http://localhost:9000/orders", True),
    ],
)
def test_public_https_or_allowed_loopback_webhook_urls_are_accepted(url, allow_loopback):
    with override_settings(ALLOW_LOOPBACK_URLS=allow_loopback):
        assert validate_webhook_url(url) == url


def test_a_webhook_url_error_is_shown_on_the_channel_step(client, new_supplier):
    client.post("/supplier/application/profile/", PROFILE)
    client.post("/supplier/application/fulfilment/", FULFILMENT)

    response = client.post(
        "/supplier/application/channel/", {**CHANNEL, "webhook_url": "http://erp.example.com/x"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"webhook_url": ["The endpoint must use https://."]}
    new_supplier.refresh_from_db()
    assert (new_supplier.webhook_url, new_supplier.webhook_secret) == ("", "")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "certificate.pdf",
            b"#!/bin/sh\nrm -rf /\n",
            "This file is not a PDF, PNG or JPEG (its content says otherwise, whatever its name).",
        ),
        (
            "certificate.pdf",
            None,
            "The file's content is PNG but its name ends in “.pdf”; rename it to .png or upload the right file.",
        ),
        (
            "certificate.pdf",
            PDF + b"0" * (10 * 1024 * 1024),
            "The file is 10.0 MB; the limit is 10 MB.",
        ),
        ("certificate.pdf", b"", "The submitted file is empty."),
    ],
)
def test_verification_documents_are_checked_by_content(
    client, new_supplier, media_root, name, content, message
):
    client.post("/supplier/application/profile/", PROFILE)
    client.post("/supplier/application/fulfilment/", FULFILMENT)
    client.post("/supplier/application/channel/", CHANNEL)

    response = client.post(
        "/supplier/application/verification/",
        _verification(name, _image() if content is None else content),
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"document": [message]}
    assert not SupplierVerification.objects.filter(supplier=new_supplier).exists()
    assert list(media_root.rglob("suppliers/verification/*")) == []
    new_supplier.refresh_from_db()
    assert new_supplier.onboarding_step == Supplier.OnboardingStep.VERIFICATION
