"""The supplier's order pages: tabs (new, accepted, shipped, exceptions), detail with lines,
ship-to address, the retailer's branding and the timeline; accept, reject, ship (per line or the
whole order) and bulk ship by CSV. Thin: parse, call one service, render."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dropship.accounts.access import SupplierRequest, supplier_required
from dropship.core import charts
from dropship.core.errors import DomainError
from dropship.core.spreadsheet_export import csv_response
from orders import analytics as sales
from orders import selectors
from orders import supplier_analytics as supplier_sales
from orders.carriers import CARRIER_CHOICES
from orders.models import OrderItem, ReturnRequest, Shipment
from orders.packing_slip import address_lines, packing_slip_pdf
from orders.services import fulfilment, returns, scorecard, tracking
from orders.views.files import return_file_response

PAGE_SIZE = 25


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=fulfilment.MAX_REASON,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Out of stock until next month"}),
    )


class ShipForm(forms.Form):
    carrier = forms.ChoiceField(choices=CARRIER_CHOICES)
    tracking_number = forms.CharField(max_length=100)


class BulkShipForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: order_number, sku, carrier, tracking_number (optional quantity).",
    )


@supplier_required
def order_list(request: SupplierRequest) -> HttpResponse:
    tab = request.GET.get("tab", "new")
    if tab not in selectors.TABS:
        tab = "new"
    queryset = selectors.list_supplier_orders_for_supplier(
        supplier=request.supplier, statuses=selectors.TABS[tab][1]
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.count_supplier_orders_by_tab(supplier=request.supplier)
    tabs = [(key, label, counts[key]) for key, (label, _) in selectors.TABS.items()]
    inbound_url = ""
    if request.supplier.order_channel == request.supplier.OrderChannel.WEBHOOK:
        inbound_url = request.build_absolute_uri(
            reverse("supplier_webhook", args=[request.supplier.slug])
        )
    return render(
        request,
        "orders/supplier/order_list.html",
        {
            "page": page,
            "tab": tab,
            "tabs": tabs,
            "bulk_form": BulkShipForm(),
            "inbound_url": inbound_url,
        },
    )


def _labelled(events) -> list:
    """Events with a readable label for their kind ("tracking_pushed" -> "Tracking pushed")."""
    events = list(events)
    for event in events:
        event.label = event.kind.replace("_", " ").capitalize()
    return events


def _detail_context(
    request: SupplierRequest, supplier_order_id: int, **extra: object
) -> dict[str, object]:
    supplier_order = selectors.get_supplier_order_detail(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    items = list(supplier_order.items.all())
    return {
        "supplier_order": supplier_order,
        "order": supplier_order.order,
        "retailer": supplier_order.order.retailer,
        "items": items,
        "shippable": [
            i for i in items if i.status == OrderItem.Status.RESERVED and i.quantity_to_ship
        ],
        "shipments": list(supplier_order.shipments.all()),
        "timeline": _labelled(
            selectors.list_timeline_for_supplier_order(supplier_order=supplier_order)
        ),
        "address": address_lines(supplier_order.order.shipping_address),
        "can_accept": supplier_order.status in fulfilment.ACCEPTABLE,
        "can_reject": supplier_order.status in fulfilment.REJECTABLE
        and not any(i.quantity_shipped for i in items),
        "can_ship": supplier_order.status in fulfilment.SHIPPABLE,
        "reject_form": extra.pop("reject_form", None) or RejectForm(),
        "ship_form": extra.pop("ship_form", None) or ShipForm(),
        **extra,
    }


@supplier_required
def order_detail(request: SupplierRequest, supplier_order_id: int) -> HttpResponse:
    return render(
        request, "orders/supplier/order_detail.html", _detail_context(request, supplier_order_id)
    )


def _back(supplier_order_id: int) -> HttpResponse:
    return redirect(reverse("supplier_orders:detail", args=[supplier_order_id]))


@supplier_required
@require_POST
def order_accept(request: SupplierRequest, supplier_order_id: int) -> HttpResponse:
    supplier_order = selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    try:
        fulfilment.accept_supplier_order(supplier_order=supplier_order, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Order {supplier_order.number} accepted.")
    return _back(supplier_order_id)


@supplier_required
@require_POST
def order_reject(request: SupplierRequest, supplier_order_id: int) -> HttpResponse:
    supplier_order = selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            fulfilment.reject_supplier_order(
                supplier_order=supplier_order,
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except DomainError as exc:
            form.add_error("reason" if exc.field == "reason" else None, exc.message)
        else:
            messages.success(
                request,
                f"Order {supplier_order.number} rejected; its stock was released and the "
                "retailer told.",
            )
            return _back(supplier_order_id)
    context = _detail_context(request, supplier_order_id, reject_form=form)
    return render(request, "orders/supplier/order_detail.html", context, status=400)


def _lines_from_post(request: HttpRequest, items) -> tuple[list[fulfilment.ShipLine] | None, str]:
    """Per-line quantities from `qty-<item id>` fields; None when the whole order ships."""
    if request.POST.get("scope") == "all":
        return None, ""
    lines = []
    for item in items:
        raw = (request.POST.get(f"qty-{item.pk}") or "").strip()
        if not raw:
            continue
        try:
            quantity = int(raw)
        except ValueError:
            return [], f"The quantity for {item.sku or item.title} must be a whole number."
        if quantity < 0:
            return [], f"The quantity for {item.sku or item.title} cannot be negative."
        if quantity:
            lines.append(fulfilment.ShipLine(order_item_id=item.pk, quantity=quantity))
    if not lines:
        return [], "Enter a quantity to ship for at least one line."
    return lines, ""


@supplier_required
@require_POST
def order_ship(request: SupplierRequest, supplier_order_id: int) -> HttpResponse:
    supplier_order = selectors.get_supplier_order_detail(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    form = ShipForm(request.POST)
    if form.is_valid():
        lines, problem = _lines_from_post(request, supplier_order.items.all())
        if problem:
            form.add_error(None, problem)
        else:
            try:
                shipment = fulfilment.ship_supplier_order(
                    supplier_order=supplier_order,
                    carrier=form.cleaned_data["carrier"],
                    tracking_number=form.cleaned_data["tracking_number"],
                    lines=lines,
                    actor=request.user,
                )
            except DomainError as exc:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, exc.message)
            else:
                messages.success(
                    request,
                    f"Shipped with {shipment.carrier} {shipment.tracking_number}; the tracking "
                    "number is on its way to the store.",
                )
                return _back(supplier_order_id)
    context = _detail_context(request, supplier_order_id, ship_form=form)
    return render(request, "orders/supplier/order_detail.html", context, status=400)


@supplier_required
@require_POST
def shipment_retry(
    request: SupplierRequest, supplier_order_id: int, shipment_id: int
) -> HttpResponse:
    supplier_order = selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    shipment = Shipment.objects.filter(supplier_order=supplier_order, pk=shipment_id).first()
    if shipment is None:
        messages.error(request, "That shipment is not part of this order.")
        return _back(supplier_order_id)
    try:
        tracking.retry_tracking_push(shipment=shipment, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Sending the tracking number to the store again.")
    return _back(supplier_order_id)


@supplier_required
def bulk_ship(request: SupplierRequest) -> HttpResponse:
    form = BulkShipForm(request.POST or None, request.FILES or None)
    result = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            result = fulfilment.bulk_ship_from_csv(
                supplier=request.supplier,
                content=form.cleaned_data["file"].read(fulfilment.MAX_CSV_BYTES + 1),
                actor=request.user,
            )
        except DomainError as exc:
            form.add_error("file", exc.message)
            status = 400
        else:
            if result.is_ok:
                messages.success(
                    request,
                    f"{len(result.shipments)} parcel{'s' if len(result.shipments) != 1 else ''} "
                    "shipped; tracking numbers are on their way to the stores.",
                )
                return redirect(reverse("supplier_orders:list") + "?tab=shipped")
            status = 400
    elif request.method == "POST":
        status = 400
    return render(
        request, "orders/supplier/bulk_ship.html", {"form": form, "result": result}, status=status
    )


@supplier_required
def packing_slip(request: SupplierRequest, supplier_order_id: int) -> HttpResponse:
    """The packing slip PDF with the retailer's brand (name, logo, message), never the supplier's."""
    supplier_order = selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    response = HttpResponse(
        packing_slip_pdf(supplier_order=supplier_order), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="packing-slip-{supplier_order.number}.pdf"'
    return response


@require_GET
@supplier_required
def analytics(request: SupplierRequest) -> HttpResponse:
    """Sales, commission and net payouts over a range, by period and by product or retailer,
    with a chart, its table, a CSV, and the measured scorecard with what to improve."""
    params = request.GET
    try:
        start, end, interval, _ = sales.parse_range(
            start=params.get("from"),
            end=params.get("to"),
            interval=params.get("interval"),
            group_by=None,
        )
        group_by = supplier_sales.parse_group(params.get("group_by"))
    except DomainError as exc:
        messages.error(request, exc.message)
        start, end, interval, _ = sales.parse_range(
            start=None, end=None, interval=None, group_by=None
        )
        group_by = supplier_sales.parse_group(None)
    supplier = request.supplier
    report = supplier_sales.get_supplier_sales_report(
        supplier=supplier, start=start, end=end, interval=interval, group_by=group_by
    )
    if params.get("format") == "csv":
        return csv_response(
            filename=f"supplier-sales-{start}-{end}-by-{group_by}.csv",
            rows=supplier_sales.report_csv_rows(report),
        )
    lines, line_zero = charts.line_chart(
        {
            "Sales": [row.figures.sales for row in report.periods],
            "Net payout": [row.figures.net_payout for row in report.periods],
        }
    )
    return render(
        request,
        "orders/supplier/analytics.html",
        {
            "report": report,
            "currency": supplier.currency,
            "lines": lines,
            "line_zero": line_zero,
            "intervals": list(sales.INTERVALS),
            "groups": list(supplier_sales.GROUPS),
            "csv_query": params.urlencode(),
            "turnover": supplier_sales.get_stock_turnover(supplier=supplier, start=start, end=end),
            "scorecard": scorecard.compute_scorecard(supplier=supplier),
            "score_formula": scorecard.SCORE_FORMULA,
        },
    )


# --- returns -------------------------------------------------------------------------------------
@require_GET
@supplier_required
def return_list(request: SupplierRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in ReturnRequest.Status.values:
        status = ""
    page = Paginator(
        selectors.list_returns_for_supplier(supplier=request.supplier, status=status), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/supplier/return_list.html",
        {"page": page, "status": status, "statuses": ReturnRequest.Status.choices},
    )


def _return_context(request: SupplierRequest, return_id: int, **extra: object) -> dict:
    return_request = selectors.get_return_for_supplier(
        supplier=request.supplier, return_id=return_id
    )
    return {
        "rma": return_request,
        "goods_value": returns.goods_value(return_request=return_request),
        "refundable": returns.refundable_left(supplier_order=return_request.supplier_order),
        "conditions": ReturnRequest.Condition.choices,
        "events": selectors.list_return_events(return_request=return_request),
        "error": "",
        "posted": {},
        **extra,
    }


@require_GET
@supplier_required
def return_detail(request: SupplierRequest, return_id: int) -> HttpResponse:
    return render(
        request, "orders/supplier/return_detail.html", _return_context(request, return_id)
    )


SUPPLIER_RETURN_STEPS = {
    "approve": "Return approved; the retailer has your instructions.",
    "decline": "Return declined; the retailer is told why.",
    "offer": "Offer sent to the retailer.",
    "receive": "Return received and the retailer refunded.",
}


def _run_return_step(request: SupplierRequest, return_request: ReturnRequest, step: str) -> None:
    post = request.POST
    if step == "approve":
        returns.approve_return(
            return_request=return_request,
            instructions=post.get("instructions", ""),
            label_file=request.FILES.get("label_file"),
            label_number=post.get("label_number", ""),
            actor=request.user,
        )
    elif step == "decline":
        returns.decline_return(
            return_request=return_request, reason=post.get("reason", ""), actor=request.user
        )
    elif step == "offer":
        returns.offer_partial_refund(
            return_request=return_request,
            amount=post.get("amount", ""),
            message=post.get("message", ""),
            actor=request.user,
        )
    else:
        returns.receive_return(
            return_request=return_request,
            condition=post.get("condition", ""),
            is_resellable=post.get("is_resellable") == "on",
            quantities={
                line.pk: post.get(f"received_{line.pk}", "0") or "0"
                for line in return_request.lines.all()
            },
            actor=request.user,
        )


@require_POST
@supplier_required
def return_step(request: SupplierRequest, return_id: int, step: str) -> HttpResponse:
    """approve (instructions, label), decline (reason), offer (amount) or receive (condition)."""
    if step not in SUPPLIER_RETURN_STEPS:
        raise Http404("No such step.")
    return_request = selectors.get_return_for_supplier(
        supplier=request.supplier, return_id=return_id
    )
    try:
        _run_return_step(request, return_request, step)
    except DomainError as exc:
        context = _return_context(request, return_id, error=exc.message, posted=request.POST)
        status = 409 if isinstance(exc, returns.ReturnStateError) else 400
        return render(request, "orders/supplier/return_detail.html", context, status=status)
    messages.success(request, SUPPLIER_RETURN_STEPS[step])
    return redirect("supplier_returns:detail", return_id=return_id)


@require_GET
@supplier_required
def return_file(
    request: SupplierRequest, return_id: int, kind: str, file_id: int = 0
) -> HttpResponse:
    return_request = selectors.get_return_for_supplier(
        supplier=request.supplier, return_id=return_id
    )
    return return_file_response(return_request, kind=kind, file_id=file_id)
