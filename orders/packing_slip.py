"""The packing slip a supplier puts in the parcel. It carries the retailer's brand (name, logo,
message) and never the supplier's name or any price: the shopper bought from the retailer.

`packing_slip_pdf` is the one builder: the slip e-mailed to an EMAIL-channel supplier and the one
downloaded from the supplier's order page are the same document.
"""

import io
from dataclasses import dataclass
from datetime import date
from typing import IO
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from orders.models import OrderItem, SupplierOrder


@dataclass(frozen=True)
class PackingSlipLine:
    sku: str
    title: str
    options: str
    quantity: int


@dataclass(frozen=True)
class PackingSlip:
    brand_name: str
    order_number: str
    order_date: date
    ship_to_lines: list[str]
    lines: list[PackingSlipLine]
    message: str = ""
    logo_path: str | IO[bytes] | None = None  # a file path, or an upload being previewed


ADDRESS_FIELDS = ("name", "company", "address1", "address2", "city", "province", "zip", "country")


def address_lines(address: dict | None) -> list[str]:
    """A shipping address as printed lines; unknown keys are ignored, empty ones skipped."""
    if not address:
        return []
    city_line = " ".join(
        str(address.get(k) or "").strip() for k in ("zip", "city", "province")
    ).strip()
    parts = [
        address.get("name"),
        address.get("company"),
        address.get("address1"),
        address.get("address2"),
        city_line,
        address.get("country"),
    ]
    return [str(part).strip()[:200] for part in parts if part and str(part).strip()]


def _logo_path(retailer) -> str | None:
    """The brand logo as a file path, or None when there is none or storage has no local files."""
    if not retailer.brand_logo:
        return None
    try:
        return retailer.brand_logo.path
    except (NotImplementedError, ValueError):
        return None


def build_packing_slip(*, supplier_order: SupplierOrder) -> PackingSlip:
    """The slip of a supplier order: its lines still to deliver (not cancelled), in order."""
    order = supplier_order.order
    retailer = order.retailer
    items = (
        OrderItem.objects.filter(supplier_order=supplier_order)
        .exclude(status=OrderItem.Status.CANCELLED)
        .select_related("variant")
        .order_by("pk")
    )
    return PackingSlip(
        brand_name=retailer.display_brand,
        order_number=order.number,
        order_date=(order.placed_at or order.created_at).date(),
        ship_to_lines=address_lines(order.shipping_address),
        lines=[
            PackingSlipLine(
                sku=item.variant.sku if item.variant else item.sku,
                title=item.title,
                options=", ".join(f"{k}: {v}" for k, v in (item.variant.options or {}).items())
                if item.variant
                else "",
                quantity=item.quantity,
            )
            for item in items
        ],
        message=retailer.packing_slip_message,
        logo_path=_logo_path(retailer),
    )


def sample_packing_slip(
    *,
    retailer,
    brand_name: str | None = None,
    message: str | None = None,
    logo: IO[bytes] | None = None,
    without_logo: bool = False,
) -> PackingSlip:
    """The retailer's brand on a made-up order: the preview of the settings page. The keyword
    values (the form's, not saved yet) stand in for the saved ones: the live preview."""
    if logo is not None:
        logo_path: str | IO[bytes] | None = logo
    else:
        logo_path = None if without_logo else _logo_path(retailer)
    return PackingSlip(
        brand_name=(brand_name.strip() or retailer.business_name)
        if brand_name is not None
        else retailer.display_brand,
        order_number="#SAMPLE-1001",
        order_date=timezone.localdate(),
        ship_to_lines=address_lines(
            {"name": "Sam Shopper", "address1": "1 Example Street", "city": "Springfield"}
        ),
        lines=[
            PackingSlipLine(
                sku="SAMPLE-MUG", title="Sample mug", options="Colour: Blue", quantity=2
            ),
            PackingSlipLine(
                sku="SAMPLE-TEE", title="Sample T-shirt", options="Size: M", quantity=1
            ),
        ],
        message=message.strip() if message is not None else retailer.packing_slip_message,
        logo_path=logo_path,
    )


def packing_slip_pdf(*, supplier_order: SupplierOrder) -> bytes:
    return render_packing_slip_pdf(build_packing_slip(supplier_order=supplier_order))


def render_packing_slip_pdf(slip: PackingSlip) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Packing slip {slip.order_number}",
        author=slip.brand_name,
    )
    styles = getSampleStyleSheet()
    story: list = []
    if slip.logo_path:
        logo = Image(slip.logo_path)
        logo._restrictSize(45 * mm, 20 * mm)
        logo.hAlign = "LEFT"
        story += [logo, Spacer(1, 4 * mm)]
    story += [
        Paragraph(escape(slip.brand_name), styles["Title"]),
        Paragraph(
            f"Packing slip · Order {escape(slip.order_number)} · {slip.order_date:%d %B %Y}",
            styles["Heading3"],
        ),
        Spacer(1, 4 * mm),
        Paragraph("<b>Ship to</b>", styles["Normal"]),
        *[Paragraph(escape(line), styles["Normal"]) for line in slip.ship_to_lines],
        Spacer(1, 6 * mm),
    ]
    rows = [["SKU", "Item", "Quantity"]] + [
        [
            escape(line.sku),
            Paragraph(
                escape(line.title + (f" — {line.options}" if line.options else "")),
                styles["Normal"],
            ),
            str(line.quantity),
        ]
        for line in slip.lines
    ]
    table = Table(rows, colWidths=[40 * mm, 105 * mm, 25 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef0f4")),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d9dde5")),
                ("ALIGN", (2, 0), (2, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [table, Spacer(1, 8 * mm)]
    if slip.message:
        story.append(Paragraph(escape(slip.message), styles["Italic"]))
    document.build(story)
    return buffer.getvalue()
