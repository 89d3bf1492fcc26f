"""Case pages for retailers and suppliers: open a case from a supplier order, the case list
(mediation and chargebacks together), one case with both parties' statements, add a statement
with attachments, download an attachment (parties only), and the supplier's reshipment. The same
views serve both sides; the side decides the selector (another organisation's case is a 404).
Thin: parse, call one service, render."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dropship.accounts.access import (
    RetailerRequest,
    SupplierRequest,
    retailer_required,
    supplier_required,
)
from dropship.core.errors import DomainError
from orders import selectors
from orders.carriers import CARRIER_CHOICES
from orders.models import CaseAttachment, Dispute, ReturnRequest, SupplierOrder
from orders.services import cases

PAGE_SIZE = 25
Party = Dispute.Party


class OpenCaseForm(forms.Form):
    reason = forms.ChoiceField(choices=Dispute.Reason.choices)
    statement = forms.CharField(
        max_length=cases.MAX_STATEMENT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What happened, what you expect; support reads both sides.",
    )


class StatementForm(forms.Form):
    body = forms.CharField(
        label="Your statement",
        max_length=cases.MAX_STATEMENT,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


class ReshipForm(forms.Form):
    carrier = forms.ChoiceField(choices=CARRIER_CHOICES)
    tracking_number = forms.CharField(max_length=100)


def _side(request: HttpRequest) -> str:
    return Party.SUPPLIER if hasattr(request, "supplier") else Party.RETAILER


def _get_case(request: HttpRequest, case_id: int) -> Dispute:
    if _side(request) == Party.SUPPLIER:
        return selectors.get_case_for_supplier(supplier=request.supplier, case_id=case_id)  # type: ignore[attr-defined]
    return selectors.get_case_for_retailer(retailer=request.retailer, case_id=case_id)  # type: ignore[attr-defined]


def _list(request: HttpRequest) -> HttpResponse:
    side = _side(request)
    open_only = request.GET.get("show") != "all"
    if side == Party.SUPPLIER:
        queryset = selectors.list_cases_for_supplier(
            supplier=request.supplier,  # type: ignore[attr-defined]
            open_only=open_only,
        )
    else:
        queryset = selectors.list_cases_for_retailer(
            retailer=request.retailer,  # type: ignore[attr-defined]
            open_only=open_only,
        )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/cases/case_list.html",
        {"page": page, "side": side, "open_only": open_only},
    )


def _detail(request: HttpRequest, case_id: int, *, status: int = 200, **forms_) -> HttpResponse:
    case = _get_case(request, case_id)
    side = _side(request)
    return render(
        request,
        "orders/cases/case_detail.html",
        {
            "case": case,
            "side": side,
            "statements": list(case.statements.all()),
            "statement_form": forms_.get("statement_form") or StatementForm(),
            "reship_form": forms_.get("reship_form") or ReshipForm(),
            "can_reship": side == Party.SUPPLIER and case.status == Dispute.Status.RESHIP,
            "sla": selectors.sla_clock(case),
            "max_attachments": cases.MAX_ATTACHMENTS,
        },
        status=status,
    )


def _statement(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _get_case(request, case_id)
    form = StatementForm(request.POST)
    if form.is_valid():
        try:
            cases.add_statement(
                case=case,
                party=_side(request),
                body=form.cleaned_data["body"],
                actor=request.user,  # type: ignore[arg-type]
                attachments=request.FILES.getlist("attachments"),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Your statement was added; the other party is told.")
            return redirect(_detail_name(request), case_id=case.pk)
    return _detail(request, case_id, status=400, statement_form=form)


def _detail_name(request: HttpRequest) -> str:
    return "cases:supplier_detail" if _side(request) == Party.SUPPLIER else "cases:retailer_detail"


def _open(
    request: HttpRequest,
    supplier_order: SupplierOrder,
    *,
    return_request: ReturnRequest | None = None,
) -> HttpResponse:
    initial = {"reason": Dispute.Reason.RETURN_DECLINED} if return_request else {}
    form = OpenCaseForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                case = cases.open_case(
                    supplier_order=supplier_order,
                    party=_side(request),
                    reason=form.cleaned_data["reason"],
                    statement=form.cleaned_data["statement"],
                    actor=request.user,  # type: ignore[arg-type]
                    attachments=request.FILES.getlist("attachments"),
                    return_request=return_request,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Case #{case.pk} is open; support will mediate.")
                return redirect(_detail_name(request), case_id=case.pk)
    return render(
        request,
        "orders/cases/case_open.html",
        {
            "form": form,
            "supplier_order": supplier_order,
            "return_request": return_request,
            "side": _side(request),
            "max_attachments": cases.MAX_ATTACHMENTS,
        },
        status=status,
    )


def attachment_response(attachment: CaseAttachment) -> HttpResponse:
    """The file as a download (≤ 10 MB, checked at upload), never shown inline."""
    with attachment.file.open("rb") as handle:
        response = HttpResponse(handle.read(), content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=attachment.name
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _attachment(request: HttpRequest, case_id: int, attachment_id: int) -> HttpResponse:
    case = _get_case(request, case_id)
    return attachment_response(
        selectors.get_case_attachment(case=case, attachment_id=attachment_id)
    )


# --- retailer ---------------------------------------------------------------------------------
@require_GET
@retailer_required
def retailer_list(request: RetailerRequest) -> HttpResponse:
    return _list(request)


@require_GET
@retailer_required
def retailer_detail(request: RetailerRequest, case_id: int) -> HttpResponse:
    return _detail(request, case_id)


@require_POST
@retailer_required
def retailer_statement(request: RetailerRequest, case_id: int) -> HttpResponse:
    return _statement(request, case_id)


@require_http_methods(["GET", "POST"])
@retailer_required
def retailer_open(request: RetailerRequest, supplier_order_id: int) -> HttpResponse:
    supplier_order = selectors.get_supplier_order_for_retailer(
        retailer=request.retailer, supplier_order_id=supplier_order_id
    )
    # ?return=<id>: escalating a declined return of this order (another retailer's return: 404).
    return_id = request.GET.get("return", "")
    return_request = (
        selectors.get_return_for_retailer(retailer=request.retailer, return_id=int(return_id))
        if return_id.isdigit()
        else None
    )
    return _open(request, supplier_order, return_request=return_request)


@require_GET
@retailer_required
def retailer_attachment(request: RetailerRequest, case_id: int, attachment_id: int) -> HttpResponse:
    return _attachment(request, case_id, attachment_id)


# --- supplier ---------------------------------------------------------------------------------
@require_GET
@supplier_required
def supplier_list(request: SupplierRequest) -> HttpResponse:
    return _list(request)


@require_GET
@supplier_required
def supplier_detail(request: SupplierRequest, case_id: int) -> HttpResponse:
    return _detail(request, case_id)


@require_POST
@supplier_required
def supplier_statement(request: SupplierRequest, case_id: int) -> HttpResponse:
    return _statement(request, case_id)


@require_http_methods(["GET", "POST"])
@supplier_required
def supplier_open(request: SupplierRequest, supplier_order_id: int) -> HttpResponse:
    supplier_order = selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    return _open(request, supplier_order)


@require_GET
@supplier_required
def supplier_attachment(request: SupplierRequest, case_id: int, attachment_id: int) -> HttpResponse:
    return _attachment(request, case_id, attachment_id)


@require_POST
@supplier_required
def supplier_reship(request: SupplierRequest, case_id: int) -> HttpResponse:
    case = _get_case(request, case_id)
    form = ReshipForm(request.POST)
    if form.is_valid():
        try:
            cases.record_reship(
                case=case,
                carrier=form.cleaned_data["carrier"],
                tracking_number=form.cleaned_data["tracking_number"],
                actor=request.user,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Case #{case.pk} is closed: the replacement is on its way.")
            return redirect("cases:supplier_detail", case_id=case.pk)
    return _detail(request, case_id, status=400, reship_form=form)
