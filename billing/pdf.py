"""An invoice as a PDF (reportlab): the same numbers as its HTML page."""

from decimal import Decimal
from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.models import Invoice
from dropship.core.money import format_money


def render_invoice_pdf(*, invoice: Invoice) -> bytes:
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Invoice {invoice.number}",
        author="Dropship",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    styles = getSampleStyleSheet()
    retailer = invoice.retailer
    currency = invoice.currency
    facts = [
        f"<b>Billed to:</b> {retailer.business_name}",
        f"<b>Issued:</b> {invoice.issued_at:%d %B %Y}",
        f"<b>Status:</b> {invoice.get_status_display()}",
    ]
    if invoice.period_start and invoice.period_end:
        facts.append(
            f"<b>Period:</b> {invoice.period_start:%d %b %Y} – {invoice.period_end:%d %b %Y}"
        )
    if invoice.due_at:
        facts.append(f"<b>Due:</b> {invoice.due_at:%d %B %Y}")
    if invoice.paid_at:
        facts.append(f"<b>Paid:</b> {invoice.paid_at:%d %B %Y}")
    rows = [["Description", "Qty", "Unit price", "Amount"]]
    for line in invoice.lines:
        rows.append(
            [
                Paragraph(line["description"], styles["BodyText"]),
                str(line.get("quantity", 1)),
                format_money(_decimal(line["unit_amount"]), currency),
                format_money(_decimal(line["amount"]), currency),
            ]
        )
    rows.append(["", "", "Total", format_money(invoice.total, currency)])
    table = Table(rows, colWidths=[95 * mm, 15 * mm, 30 * mm, 30 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story = [
        Paragraph(f"Invoice {invoice.number}", styles["Title"]),
        Paragraph("Dropship marketplace", styles["Normal"]),
        Spacer(1, 6 * mm),
        *(Paragraph(fact, styles["Normal"]) for fact in facts),
        Spacer(1, 8 * mm),
        table,
    ]
    document.build(story)
    return buffer.getvalue()


def _decimal(value):
    return Decimal(str(value))
