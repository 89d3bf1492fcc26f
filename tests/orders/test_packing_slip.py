import base64
import contextlib
import zlib
from datetime import date

import pytest
from django.core import mail
from django.urls import reverse
from reportlab import rl_config

from orders.models import OrderItem
from orders.packing_slip import PackingSlip, PackingSlipLine, address_lines, render_packing_slip_pdf
from orders.services.dispatch import email_supplier_order
from tests import factories


def _pdf_text(pdf: bytes) -> str:
    """The text drawn on the pages: reportlab writes content streams as ASCII85 over Flate."""
    text, position = [], 0
    while (start := pdf.find(b"stream\n", position)) != -1:
        end = pdf.find(b"endstream", start)
        chunk = pdf[start + 7 : end].rstrip(b"\r\n")
        with contextlib.suppress(
            ValueError, zlib.error
        ):  # image and font streams are not page text
            text.append(zlib.decompress(base64.a85decode(chunk, adobe=True)).decode("latin-1"))
        position = end
    return "\n".join(text)


def test_the_packing_slip_carries_the_retailers_brand_the_address_and_items_and_no_prices():
    slip = PackingSlip(
        brand_name="Maple & Co",
        order_number="#1001",
        order_date=date(2026, 11, 23),
        ship_to_lines=address_lines(
            {
                "name": "Bob Norman",
                "address1": "Chestnut Street 92",
                "city": "Louisville",
                "zip": "40202",
                "province": "KY",
                "country": "US",
            }
        ),
        lines=[
            PackingSlipLine(
                sku="NW-001-BLACK", title="Slim silicone iPhone case", options="Black", quantity=2
            )
        ],
        message="Thank you for shopping with Maple & Co!",
    )

    pdf = render_packing_slip_pdf(slip)
    text = _pdf_text(pdf)

    assert pdf.startswith(b"%PDF-")
    for expected in (
        "Maple & Co",
        "Order #1001",
        "Bob Norman",
        "Chestnut Street 92",
        "40202 Louisville KY",
        "NW-001-BLACK",
        "Slim silicone iPhone case",
        "Thank you for shopping with Maple & Co!",
    ):
        assert expected in text, expected
    assert "$" not in text


def test_address_lines_skip_missing_parts_and_cap_absurd_lengths():
    lines = address_lines(
        {
            "name": "Zoë Ünïcode",
            "address1": "x" * 2000,
            "address2": None,
            "city": "Zürich",
            "country": "CH",
        }
    )
    assert lines == ["Zoë Ünïcode", "x" * 200, "Zürich", "CH"]


@pytest.mark.django_db
def test_the_emailed_packing_slip_is_the_one_the_supplier_downloads(supplier_client, monkeypatch):
    monkeypatch.setattr(rl_config, "invariant", 1)  # no creation date or random id in the PDF
    supplier = supplier_client.supplier
    supplier.order_channel, supplier.order_email = "EMAIL", "orders@supplier.example"
    supplier.save(update_fields=["order_channel", "order_email"])
    supplier_order = factories.make_supplier_order(supplier=supplier, lines=[(2, None), (1, None)])
    first, cancelled = supplier_order.items.order_by("pk")
    first.variant.options = {"Color": "Black"}
    first.variant.save(update_fields=["options"])
    cancelled.status = OrderItem.Status.CANCELLED
    cancelled.save(update_fields=["status"])

    assert email_supplier_order(supplier_order_id=supplier_order.pk, kind="created") is True
    [message] = mail.outbox
    _, emailed, _ = message.attachments[0]
    downloaded = supplier_client.get(
        reverse("supplier_orders:packing_slip", args=[supplier_order.pk])
    ).content

    assert emailed == downloaded
    text = _pdf_text(downloaded)
    assert first.title in text
    assert "Color: Black" in text
    assert cancelled.title not in text
