import base64
import contextlib
import zlib
from datetime import date

from orders.packing_slip import PackingSlip, PackingSlipLine, address_lines, render_packing_slip_pdf


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
