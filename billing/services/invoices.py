"""Invoice numbers are sequential per year with no gaps: INV-2026-000001, INV-2026-000002, ...

The year's counter row is locked while a number is taken and the invoice is inserted in the same
transaction, so a rollback returns the number and two concurrent invoices never share one.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.models import Invoice, InvoiceCounter
from dropship.core.money import ZERO, quantize
from retailers.models import Retailer


def format_invoice_number(*, year: int, sequence: int) -> str:
    return f"INV-{year}-{sequence:06d}"


def _take_next_sequence(year: int) -> int:
    # Create the year's row if it is the first invoice of the year; a concurrent creator is fine.
    InvoiceCounter.objects.bulk_create(
        [InvoiceCounter(year=year, last_sequence=0)], ignore_conflicts=True
    )
    counter = InvoiceCounter.objects.select_for_update().get(year=year)
    counter.last_sequence += 1
    counter.save(update_fields=["last_sequence"])
    return counter.last_sequence


@transaction.atomic
def issue_invoice(
    *,
    retailer: Retailer,
    lines: list[dict],
    currency: str,
    issued_at: datetime | None = None,
    status: str = Invoice.Status.OPEN,
    period_start=None,
    period_end=None,
    due_at: datetime | None = None,
) -> Invoice:
    """Number and store an invoice. Each line: {"description", "quantity", "unit_amount"}; amounts in `currency`."""
    if not lines:
        raise ValueError("An invoice needs at least one line.")
    issued_at = issued_at or timezone.now()
    frozen_lines, subtotal = [], ZERO
    for line in lines:
        quantity = int(line.get("quantity", 1))
        unit_amount = quantize(Decimal(str(line["unit_amount"])))
        amount = quantize(unit_amount * quantity)
        subtotal += amount
        frozen_lines.append(
            {
                "description": str(line["description"])[:300],
                "quantity": quantity,
                "unit_amount": str(unit_amount),
                "amount": str(amount),
                **({"reference": line["reference"]} if "reference" in line else {}),
            }
        )
    year = issued_at.year
    sequence = _take_next_sequence(year)
    return Invoice.objects.create(
        retailer=retailer,
        year=year,
        sequence=sequence,
        number=format_invoice_number(year=year, sequence=sequence),
        status=status,
        period_start=period_start,
        period_end=period_end,
        subtotal=subtotal,
        total=subtotal,
        currency=currency,
        issued_at=issued_at,
        due_at=due_at,
        paid_at=issued_at if status == Invoice.Status.PAID else None,
        lines=frozen_lines,
    )
