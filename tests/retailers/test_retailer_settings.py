"""The retailer's Settings page (issue 17 point 3): margin defaults the owner edits with
validation and that reach every margin figure; the packing slip's live preview of unsaved
values; a logo that is not an image refused by name; stores' out-of-stock and cash-on-delivery
choices summarised."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dropship.accounts.models import Role
from dropship.core.models import AuditLogEntry
from retailers.services.quoting import PriceBook
from tests import factories
from tests.orders.test_packing_slip import _pdf_text
from tests.retailers.test_packing_slip_settings import _png

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

SETTINGS = reverse("retailers:settings")
PREVIEW = reverse("orders:retailer_packing_slip_preview")
NOT_AN_IMAGE = "This file is not a readable JPEG, PNG or WebP image."


def _defaults(**changes):
    return {
        "home_country": "ca",
        "processing_fee_percent": "2.9",
        "processing_fee_fixed": "0.30",
        "unpublish_when_out_of_stock": "",
        **changes,
    }


def test_the_owner_sets_margin_defaults_and_every_margin_counts_them(retailer_client):
    retailer = retailer_client.retailer
    supplier = factories.SupplierFactory(ship_from_country="US")
    factories.ShippingRateFactory(supplier=supplier, zone="DOMESTIC", price=Decimal("5.00"))
    factories.ShippingRateFactory(supplier=supplier, zone="INTERNATIONAL", price=Decimal("15.00"))
    variant = factories.VariantFactory(
        product=factories.ProductFactory(supplier=supplier), wholesale_price=Decimal("10.00")
    )

    response = retailer_client.post(SETTINGS, _defaults())

    assert response.status_code == 302
    retailer.refresh_from_db()
    assert (
        retailer.home_country,
        retailer.processing_fee_percent,
        retailer.processing_fee_fixed,
        retailer.unpublish_when_out_of_stock,
    ) == ("CA", Decimal("2.90"), Decimal("0.30"), False)
    economics = PriceBook(retailer=retailer).economics(variant=variant, price=Decimal("40.00"))
    assert economics.shipping == Decimal("15.00")  # the US supplier's international rate to CA
    assert economics.processing == Decimal("1.46")  # 2.9 % of 40.00 + 0.30
    entry = AuditLogEntry.objects.get(action="retailer.defaults_changed")
    assert entry.changes["home_country"] == ["", "CA"]
    assert entry.retailer_id == retailer.pk
    page = retailer_client.get(SETTINGS).content.decode()
    assert 'value="CA"' in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"home_country": "Canada"},
            "home_country",
            "“Canada” is not a two-letter country code (e.g. US, CA, DE).",
        ),
        (
            {"processing_fee_percent": "60"},
            "processing_fee_percent",
            "The processing percent is from 0 to under 50 (e.g. 2.9).",
        ),
        (
            {"processing_fee_fixed": "-1"},
            "processing_fee_fixed",
            "The fixed fee per order is from 0 to 100 USD (e.g. 0.30).",
        ),
        (
            {"processing_fee_fixed": "0.305"},
            "processing_fee_fixed",
            "The fixed fee has at most two decimals.",
        ),
        ({"processing_fee_percent": "lots"}, "processing_fee_percent", "Enter a number."),
    ],
)
def test_a_bad_value_names_its_field_and_nothing_is_saved(retailer_client, changes, field, message):
    retailer = retailer_client.retailer

    response = retailer_client.post(SETTINGS, _defaults(**changes))

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    retailer.refresh_from_db()
    assert (retailer.home_country, retailer.processing_fee_percent) == ("", Decimal("0.00"))
    assert retailer.unpublish_when_out_of_stock is True
    assert not AuditLogEntry.objects.filter(action="retailer.defaults_changed").exists()


def test_staff_see_the_settings_but_only_owners_change_them(client):
    member = factories.RetailerMemberFactory(role=Role.STAFF)
    client.force_login(member.user)

    assert client.get(SETTINGS).status_code == 200
    assert client.post(SETTINGS, _defaults()).status_code == 403
    member.retailer.refresh_from_db()
    assert member.retailer.home_country == ""


def test_the_hub_shows_each_stores_out_of_stock_and_cash_on_delivery_choice(retailer_client):
    retailer = retailer_client.retailer
    factories.StoreFactory(
        retailer=retailer, name="Maple COD", routes_manual_payment_orders=True, currency="CAD"
    )
    factories.StoreFactory(retailer=retailer, name="Quiet shop", unpublish_when_out_of_stock=False)

    page = retailer_client.get(SETTINGS).content.decode()

    cod_row = page[page.index("Maple COD") : page.index("</tr>", page.index("Maple COD"))]
    assert "CAD" in cod_row
    assert "Unpublished" in cod_row
    assert "(your default)" in cod_row
    assert "Sent to suppliers when placed" in cod_row
    quiet_row = page[page.index("Quiet shop") : page.index("</tr>", page.index("Quiet shop"))]
    assert "Shown at quantity 0" in quiet_row
    assert "Held until the store marks them paid" in quiet_row
    assert reverse("retailers:packing_slip_settings") in page
    assert reverse("retailers:notice_preferences") in page


def test_the_live_preview_prints_unsaved_values_and_saves_nothing(retailer_client):
    retailer = retailer_client.retailer

    response = retailer_client.post(
        PREVIEW, {"brand_name": "Not Saved Yet", "message": "Draft thank-you"}
    )
    with_logo = retailer_client.post(
        PREVIEW, {"brand_name": "Logo draft", "logo": SimpleUploadedFile("logo.png", _png())}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "Not Saved Yet" in text
    assert "Draft thank-you" in text
    assert b"/Subtype /Image" not in response.content
    assert with_logo.status_code == 200
    assert b"/Subtype /Image" in with_logo.content
    retailer.refresh_from_db()
    assert (retailer.brand_name, retailer.packing_slip_message, retailer.brand_logo.name) == (
        "",
        "",
        "",
    )
    saved_preview = retailer_client.get(PREVIEW)
    assert "Not Saved Yet" not in _pdf_text(saved_preview.content)


def test_a_logo_that_is_not_an_image_is_refused_by_the_preview_and_by_saving(retailer_client):
    retailer = retailer_client.retailer
    script = b"#!/bin/sh\necho not an image\n"

    preview = retailer_client.post(
        PREVIEW, {"brand_name": "Sneaky", "logo": SimpleUploadedFile("logo.png", script)}
    )
    saved = retailer_client.post(
        reverse("retailers:packing_slip_settings"),
        {"brand_name": "Sneaky", "logo": SimpleUploadedFile("logo.png", script)},
    )

    assert preview.status_code == 400
    assert f"Logo: {NOT_AN_IMAGE}" in preview.content.decode()
    assert saved.status_code == 400
    assert saved.context["form"].errors["logo"] == [NOT_AN_IMAGE]
    retailer.refresh_from_db()
    assert (retailer.brand_name, retailer.brand_logo.name) == ("", "")
