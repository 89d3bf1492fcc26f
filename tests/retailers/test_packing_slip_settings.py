"""The owner's packing slip settings reach the slip suppliers print, and the preview."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from dropship.accounts.models import Role
from dropship.core.models import AuditLogEntry
from orders.models import SupplierOrder
from orders.packing_slip import packing_slip_pdf
from tests import factories
from tests.orders.test_packing_slip import _pdf_text

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

URL = reverse("retailers:packing_slip_settings")
PREVIEW = reverse("orders:retailer_packing_slip_preview")


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (20, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_owners_brand_and_message_are_printed_on_the_suppliers_slip(retailer_client):
    retailer = retailer_client.retailer
    order = factories.OrderFactory(store=factories.StoreFactory(retailer=retailer))
    supplier_order = factories.make_supplier_order(order=order)

    response = retailer_client.post(
        URL, {"brand_name": "Maple Goods", "message": "Thanks for shopping small"}
    )

    assert response.status_code == 302
    fresh = SupplierOrder.objects.get(pk=supplier_order.pk)  # as the supplier's page loads it
    text = _pdf_text(packing_slip_pdf(supplier_order=fresh))
    assert "Maple Goods" in text
    assert "Thanks for shopping small" in text
    entry = AuditLogEntry.objects.get(action="retailer.packing_slip_branding_changed")
    assert entry.changes["brand_name"][1] == "Maple Goods"
    assert entry.retailer_id == retailer.pk


def test_the_preview_renders_the_slip_with_a_sample_order(retailer_client):
    retailer = retailer_client.retailer
    retailer.brand_name, retailer.packing_slip_message = "Preview Brand", "See you soon"
    retailer.save(update_fields=["brand_name", "packing_slip_message"])
    other = factories.RetailerFactory(brand_name="Their Brand")

    response = retailer_client.get(PREVIEW)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "Preview Brand" in text
    assert "See you soon" in text
    assert "SAMPLE-MUG" in text
    assert other.brand_name not in text


def test_a_png_logo_is_stored_and_printed_and_can_be_removed(retailer_client):
    retailer = retailer_client.retailer

    saved = retailer_client.post(
        URL,
        {"brand_name": "Logo Co", "message": "", "logo": SimpleUploadedFile("logo.png", _png())},
    )

    assert saved.status_code == 302
    retailer.refresh_from_db()
    assert retailer.brand_logo.name.endswith(".png")
    preview = retailer_client.get(PREVIEW)
    assert preview.status_code == 200
    assert b"/Subtype /Image" in preview.content

    removed = retailer_client.post(URL, {"brand_name": "Logo Co", "remove_logo": "on"})

    assert removed.status_code == 302
    retailer.refresh_from_db()
    assert not retailer.brand_logo


def test_a_file_that_is_not_an_image_is_refused_and_nothing_changes(retailer_client):
    retailer = retailer_client.retailer

    response = retailer_client.post(
        URL,
        {
            "brand_name": "Sneaky",
            "message": "",
            "logo": SimpleUploadedFile("logo.png", b"#!/bin/sh\necho not an image\n"),
        },
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["logo"]
    retailer.refresh_from_db()
    assert (retailer.brand_name, retailer.brand_logo.name) == ("", "")


def test_only_owners_change_the_slip(client):
    member = factories.RetailerMemberFactory(role=Role.STAFF)
    client.force_login(member.user)

    assert client.get(URL).status_code == 403
    assert client.post(URL, {"brand_name": "Not mine"}).status_code == 403
    member.retailer.refresh_from_db()
    assert member.retailer.brand_name == ""
    client.logout()
    assert client.get(URL).status_code == 302
    assert client.get(PREVIEW).status_code == 302


def test_an_overlong_message_names_the_field(retailer_client):
    response = retailer_client.post(URL, {"brand_name": "X", "message": "m" * 501})

    assert response.status_code == 400
    assert "message" in response.context["form"].errors
