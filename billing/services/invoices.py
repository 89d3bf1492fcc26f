"""Invoice numbers are sequential per year with no gaps: INV-2026-000001, INV-2026-000002, ...

The year's counter row is locked while a number is taken and the invoice is inserted in the same
transaction, so a rollback returns the number and two concurrent invoices never share one.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import NotRequired, TypedDict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.models import Charge, Invoice, InvoiceCounter
from dropship.core.money import ZERO, quantize
from retailers.models import Retailer


class InvoiceLine(TypedDict):
    """A line to invoice: `unit_amount` × `quantity` (1 unless given) in the invoice's currency,
    with the reference it is for (a supplier order's number) when there is one."""

    description: str
    unit_amount: Decimal | str
    quantity: NotRequired[int]
    reference: NotRequired[str]


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
    lines: list[InvoiceLine],
    currency: str,
    issued_at: datetime | None = None,
    status: str = Invoice.Status.OPEN,
    period_start: date | None = None,
    period_end: date | None = None,
    due_at: datetime | None = None,
) -> Invoice:
    """Number and store an invoice. Each line: {"description", "quantity", "unit_amount"}; amounts in `currency`."""
    if not lines:
        raise ValueError("An invoice needs at least one line.")
    issued_at = issued_at or timezone.now()
    frozen_lines: list[dict[str, str | int]] = []
    subtotal = ZERO
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


def _charge_lines(charge: Charge) -> list[InvoiceLine]:
    """The lines of a supplier order as the retailer pays them: its items at their frozen
    wholesale prices (one wholesale line when the items do not add up to the frozen total),
    shipping and the platform fee."""
    supplier_order = charge.supplier_order
    reference = supplier_order.number
    priced = [
        (item, price)
        for item in supplier_order.items.all()
        if (price := item.wholesale_unit_price) is not None and item.status != "NOT_OURS"
    ]
    item_total = sum((quantize(price) * item.quantity for item, price in priced), ZERO)
    if priced and item_total == supplier_order.wholesale_total:
        lines: list[InvoiceLine] = [
            {
                "description": f"{item.title}" + (f" ({item.sku})" if item.sku else ""),
                "quantity": item.quantity,
                "unit_amount": price,
                "reference": reference,
            }
            for item, price in priced
        ]
    else:
        lines = [
            {
                "description": f"Products from supplier order {reference}",
                "unit_amount": supplier_order.wholesale_total,
                "reference": reference,
            }
        ]
    if supplier_order.shipping_total:
        lines.append(
            {
                "description": f"Shipping for {reference}",
                "unit_amount": supplier_order.shipping_total,
                "reference": reference,
            }
        )
    if supplier_order.platform_fee:
        lines.append(
            {
                "description": "Dropship platform fee",
                "unit_amount": supplier_order.platform_fee,
                "reference": reference,
            }
        )
    return lines


@transaction.atomic
def issue_charge_invoice(*, charge: Charge) -> Invoice:
    """The paid invoice for a card charge (once: a charge already invoiced keeps its invoice)."""
    charge = Charge.objects.select_for_update().get(pk=charge.pk)
    if charge.invoice is not None:
        return charge.invoice
    invoice = issue_invoice(
        retailer=charge.retailer,
        lines=_charge_lines(charge),
        currency=charge.currency,
        status=Invoice.Status.PAID,
        issued_at=charge.settled_at or timezone.now(),
    )
    if invoice.total != charge.amount:
        raise ValueError(
            f"Invoice {invoice.number} totals {invoice.total}, the charge {charge.amount}."
        )
    charge.invoice = invoice
    charge.save(update_fields=["invoice", "updated_at"])
    return invoice


def month_bounds(day: date) -> tuple[date, date]:
    """First and last day of the month before `day`'s month."""
    first_this_month = day.replace(day=1)
    last = first_this_month - timedelta(days=1)
    return last.replace(day=1), last


def issue_monthly_invoices(*, today: date | None = None) -> list[Invoice]:
    """Last month's invoice for each payment-terms retailer with un-invoiced charges; safe to run
    every day (a retailer's month is invoiced once, and each charge belongs to one invoice)."""
    today = today or timezone.localdate()
    period_start, period_end = month_bounds(today)
    start = datetime.combine(period_start, time.min, tzinfo=UTC)
    end = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=UTC)
    retailer_ids = (
        Charge.objects.filter(
            method=Charge.Method.TERMS,
            invoice__isnull=True,
            status__in=Charge.PAID_STATUSES,
            created_at__gte=start,
            created_at__lt=end,
        )
        .values_list("retailer_id", flat=True)
        .distinct()
    )
    issued = []
    for retailer_id in sorted(set(retailer_ids)):
        invoice = _issue_monthly_invoice(
            retailer_id=retailer_id, start=start, end=end, period=(period_start, period_end)
        )
        if invoice is not None:
            issued.append(invoice)
    return issued


@transaction.atomic
def _issue_monthly_invoice(
    *, retailer_id: int, start: datetime, end: datetime, period: tuple[date, date]
) -> Invoice | None:
    retailer = Retailer.objects.select_for_update().get(pk=retailer_id)
    if Invoice.objects.filter(
        retailer=retailer, period_start=period[0], period_end=period[1]
    ).exists():
        return None
    charges = list(
        Charge.objects.select_for_update(of=("self",))
        .filter(
            retailer=retailer,
            method=Charge.Method.TERMS,
            invoice__isnull=True,
            status__in=Charge.PAID_STATUSES,
            created_at__gte=start,
            created_at__lt=end,
        )
        .select_related("supplier_order__order")
        .order_by("created_at", "pk")
    )
    if not charges:
        return None
    currencies = {charge.currency for charge in charges}
    if len(currencies) != 1:
        raise ValueError(f"{retailer} has terms charges in several currencies: {currencies}")
    lines: list[InvoiceLine] = []
    for charge in charges:
        supplier_order = charge.supplier_order
        lines.append(
            {
                "description": f"Supplier order {supplier_order.number} "
                f"(order {supplier_order.order.number})",
                "unit_amount": charge.amount,
                "reference": supplier_order.number,
            }
        )
        if charge.amount_refunded:
            lines.append(
                {
                    "description": f"Refunded on {supplier_order.number}",
                    "unit_amount": -charge.amount_refunded,
                    "reference": supplier_order.number,
                }
            )
    issued_at = timezone.now()
    invoice = issue_invoice(
        retailer=retailer,
        lines=lines,
        currency=currencies.pop(),
        issued_at=issued_at,
        status=Invoice.Status.OPEN,
        period_start=period[0],
        period_end=period[1],
        due_at=issued_at + timedelta(days=settings.INVOICE_PAYMENT_TERMS_DAYS),
    )
    Charge.objects.filter(pk__in=[c.pk for c in charges]).update(invoice=invoice)
    return invoice
