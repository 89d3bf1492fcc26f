"""GET /api/v1/billing/invoices: a retailer's invoices (its API key or its dashboard session)."""

from datetime import date, datetime
from decimal import Decimal

from django.urls import reverse
from ninja import Router, Schema
from ninja.pagination import paginate

from billing import selectors
from dropship.api import ErrorOut
from dropship.api_auth import ApiRequest, organisation_auth
from dropship.api_pagination import CursorPagination
from dropship.core.errors import NotFound
from retailers.models import Retailer

router = Router(tags=["billing"], auth=organisation_auth)


class InvoiceLineOut(Schema):
    description: str
    quantity: int
    unit_amount: Decimal
    amount: Decimal
    reference: str | None = None


class InvoiceOut(Schema):
    number: str
    status: str
    currency: str
    subtotal: Decimal
    total: Decimal
    issued_at: datetime
    due_at: datetime | None
    paid_at: datetime | None
    period_start: date | None
    period_end: date | None
    lines: list[InvoiceLineOut]
    html_url: str
    pdf_url: str

    @staticmethod
    def resolve_html_url(obj) -> str:
        return reverse("billing:invoice", args=[obj.number])

    @staticmethod
    def resolve_pdf_url(obj) -> str:
        return reverse("billing:invoice_pdf", args=[obj.number])


def _retailer(request: ApiRequest) -> Retailer:
    if request.retailer is None:
        raise NotFound("Invoices belong to retailers; a supplier has none.")
    return request.retailer


@router.get("/invoices", response={200: list[InvoiceOut], 401: ErrorOut, 404: ErrorOut})
@paginate(CursorPagination, ordering=("-issued_at",))
def list_invoices(request: ApiRequest):
    """The caller's invoices, newest first, a page at a time (`limit` + `cursor`)."""
    return selectors.list_invoices_for_retailer(retailer=_retailer(request))


@router.get("/invoices/{number}", response={200: InvoiceOut, 401: ErrorOut, 404: ErrorOut})
def get_invoice(request: ApiRequest, number: str):
    invoice = (
        selectors.list_invoices_for_retailer(retailer=_retailer(request))
        .filter(number=number)
        .first()
    )
    if invoice is None:
        raise NotFound(f"No invoice {number}.")
    return invoice
