"""Retailer order pages: the list (filters) and one order (items, supplier orders, timeline) with
the choices for an out-of-stock line: wait, substitute or cancel; the shipping address of an
order the store sent without one; release or cancel of an order a fraud check held; and the
retailer's fraud check settings."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dropship.accounts.access import RetailerRequest, retailer_required
from dropship.core import charts
from dropship.core.errors import DomainError
from dropship.core.spreadsheet_export import csv_response
from dropship.core.uploads import check_image
from orders import analytics as sales
from orders import selectors
from orders.carriers import CARRIER_CHOICES
from orders.forms import ManualOrderAddressForm
from orders.models import FraudRule, Order, OrderItem, ReturnRequest
from orders.packing_slip import render_packing_slip_pdf, sample_packing_slip
from orders.services import exceptions, fraud, holds, payment, returns
from orders.services.manual import ManualLine, place_manual_order
from orders.views.files import return_file_response
from retailers import selectors as retailer_selectors
from retailers.forms import PackingSlipBrandingForm
from retailers.services import get_or_create_manual_orders_store
from suppliers.return_policies import policy_terms

PAGE_SIZE = 50


@require_GET
@retailer_required
def order_list(request: RetailerRequest) -> HttpResponse:
    retailer = request.retailer
    status = request.GET.get("status", "")
    if status not in Order.Status.values:
        status = ""
    raw_store_id = request.GET.get("store", "")
    store_id = int(raw_store_id) if raw_store_id.isdigit() else None
    query = request.GET.get("q", "").strip()[:100]
    orders = selectors.list_orders_for_retailer(
        retailer=retailer, status=status, store_id=store_id, query=query
    )
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/retailer/order_list.html",
        {
            "page": page,
            "statuses": Order.Status.choices,
            "stores": selectors.list_stores_for_order_filter(retailer=retailer),
            "status": status,
            "store_id": store_id,
            "query": query,
        },
    )


@require_http_methods(["GET", "POST"])
@retailer_required
def manual_order(request: RetailerRequest) -> HttpResponse:
    """Type an order into a custom store (a phone order, or a sample to your own address)."""
    retailer = request.retailer
    stores = list(retailer_selectors.list_custom_stores_for_retailer(retailer=retailer))
    wanted = request.POST.get("store") or request.GET.get("store", "")
    store = next((s for s in stores if str(s.pk) == wanted), stores[0] if stores else None)
    variants = (
        list(retailer_selectors.list_orderable_variants_for_store(store=store)) if store else []
    )
    form = ManualOrderAddressForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and store is not None:
        quantities = {lv.pk: request.POST.get(f"qty_{lv.pk}", "").strip() for lv in variants}
        try:
            lines = [
                ManualLine(listing_variant_id=pk, quantity=int(value))
                for pk, value in quantities.items()
                if value and value != "0"
            ]
        except ValueError:
            lines, error = [], "Quantities are whole numbers."
        if form.is_valid() and not error:
            try:
                result = place_manual_order(
                    retailer=retailer,
                    store=store,
                    lines=lines,
                    shipping_address=form.address(),
                    shopper_email=form.cleaned_data["email"],
                    actor=request.user,
                )
            except DomainError as exc:
                error = exc.message
            else:
                assert result.order is not None  # noqa: S101  # the lines are the store's own
                messages.success(request, f"Order {result.order.number} is placed.")
                return redirect("orders:retailer_detail", order_id=result.order.pk)
        status = 400
    return render(
        request,
        "orders/retailer/manual_order.html",
        {
            "stores": stores,
            "store": store,
            "rows": [(lv, request.POST.get(f"qty_{lv.pk}", "")) for lv in variants],
            "form": form,
            "error": error,
        },
        status=status,
    )


@require_POST
@retailer_required
def manual_orders_store(request: RetailerRequest) -> HttpResponse:
    """Create (or find) the retailer's "Manual orders" custom store, then back to the form."""
    store = get_or_create_manual_orders_store(retailer=request.retailer, actor=request.user)
    messages.success(
        request,
        f"{store.name} is ready: list products into it from your import list, then order them here.",
    )
    return redirect(f"{reverse('orders:retailer_manual')}?store={store.pk}")


@require_GET
@retailer_required
def order_detail(request: RetailerRequest, order_id: int) -> HttpResponse:
    order = selectors.get_order_for_retailer(retailer=request.retailer, order_id=order_id)
    items = list(order.items.all())
    substitutes = {
        item.pk: exceptions.list_substitutes(item=item)
        for item in items
        if item.status == "EXCEPTION" and item.supplier_order_id is None
    }
    supplier_orders = list(order.supplier_orders.all())
    return render(
        request,
        "orders/retailer/order_detail.html",
        {
            "order": order,
            "items": [(item, substitutes.get(item.pk)) for item in items],
            "result": selectors.get_order_result(
                retailer=request.retailer, items=items, supplier_orders=supplier_orders
            ),
            "supplier_orders": supplier_orders,
            "events": list(order.events.all()),
            "returns": selectors.list_returns_for_order(order=order),
        },
    )


@require_POST
@retailer_required
def order_address(request: RetailerRequest, order_id: int) -> HttpResponse:
    """The retailer enters the address the store withheld; the order goes on when it is paid."""
    order = selectors.get_order_for_retailer(retailer=request.retailer, order_id=order_id)
    address = {key: request.POST.get(key, "") for key in holds.ADDRESS_KEYS}
    try:
        supplier_orders = holds.set_shipping_address(
            order=order, address=address, actor=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Address saved; order {order.number} "
            + (
                "is sent to the supplier."
                if supplier_orders
                else "still waits for the shopper's payment."
                if order.is_awaiting_payment
                else "is released."
            ),
        )
    return redirect("orders:retailer_detail", order_id=order_id)


@require_POST
@retailer_required
def order_review_release(request: RetailerRequest, order_id: int) -> HttpResponse:
    """The retailer reviewed an order a fraud check held and sends it on."""
    order = selectors.get_order_for_retailer(retailer=request.retailer, order_id=order_id)
    try:
        supplier_orders = holds.release_review_hold(order=order, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Order {order.number} released"
            + (
                " and sent to the supplier." if supplier_orders else "; it still waits (see below)."
            ),
        )
    return redirect("orders:retailer_detail", order_id=order_id)


@require_POST
@retailer_required
def order_review_cancel(request: RetailerRequest, order_id: int) -> HttpResponse:
    """The retailer reviewed an order a fraud check held and cancels it."""
    order = selectors.get_order_for_retailer(retailer=request.retailer, order_id=order_id)
    try:
        holds.cancel_reviewed_order(
            order=order, reason=request.POST.get("reason", "")[:300], actor=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Order {order.number} is cancelled; its stock is released.")
    return redirect("orders:retailer_detail", order_id=order_id)


@require_http_methods(["GET", "POST"])
@retailer_required
def fraud_rules(request: RetailerRequest) -> HttpResponse:
    """The fraud checks: the platform's default of each and the retailer's own (owners change)."""
    if request.method == "POST":
        if not request.membership.is_owner:
            return render(request, "owner_only.html", status=403)
        kind = request.POST.get("kind", "")
        try:
            fraud.set_retailer_fraud_rule(
                retailer=request.retailer,
                kind=kind,
                mode=request.POST.get("mode", ""),
                amount=request.POST.get("amount", ""),
                max_orders=request.POST.get("max_orders", ""),
                window_hours=request.POST.get("window_hours", ""),
                actor=request.user,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            label = dict(FraudRule.Kind.choices)[kind]
            messages.success(request, f"Saved: {label}.")
        return redirect("orders:retailer_fraud_rules")
    return render(
        request,
        "orders/retailer/fraud_rules.html",
        {
            "rows": fraud.list_rule_rows(retailer=request.retailer),
            "amount_kinds": FraudRule.AMOUNT_KINDS,
            "velocity_kinds": FraudRule.VELOCITY_KINDS,
            "window_kinds": (*FraudRule.VELOCITY_KINDS, FraudRule.Kind.NEW_STORE),
            "is_owner": request.membership.is_owner,
        },
    )


def _item_action(
    request: RetailerRequest, order_id: int, item_id: int, action: Callable[[OrderItem], str]
) -> HttpResponse:
    item = selectors.get_order_item_for_retailer(
        retailer=request.retailer, order_id=order_id, item_id=item_id
    )
    try:
        message = action(item)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, message)
    return redirect("orders:retailer_detail", order_id=order_id)


@require_POST
@retailer_required
def item_wait(request: RetailerRequest, order_id: int, item_id: int) -> HttpResponse:
    def action(item: OrderItem) -> str:
        item = exceptions.wait_for_stock(item=item, actor=request.user)
        if item.status == "RESERVED":
            return f"Stock was available: “{item.title}” is ordered."
        return f"We will order “{item.title}” as soon as the supplier has stock."

    return _item_action(request, order_id, item_id, action)


@require_POST
@retailer_required
def item_substitute(request: RetailerRequest, order_id: int, item_id: int) -> HttpResponse:
    def action(item: OrderItem) -> str:
        variant_id = request.POST.get("variant", "")
        if not variant_id.isdigit():
            raise exceptions.OrderItemActionError("Choose the variant to send instead.")
        item = exceptions.substitute_item(item=item, variant_id=int(variant_id), actor=request.user)
        return f"“{item.title}” will be sent as {item.catalog_variant.sku}."

    return _item_action(request, order_id, item_id, action)


@require_POST
@retailer_required
def item_cancel(request: RetailerRequest, order_id: int, item_id: int) -> HttpResponse:
    def action(item: OrderItem) -> str:
        reason = request.POST.get("reason", "").strip()[:300]
        item = exceptions.cancel_item(item=item, reason=reason, actor=request.user)
        return f"“{item.title}” is cancelled."

    return _item_action(request, order_id, item_id, action)


def payment_confirm(request: RetailerRequest, supplier_order_id: int) -> HttpResponse:
    """A payment the retailer's bank wants authenticated (3-D Secure): GET shows it, POST sends
    the retailer to its bank's page (or pays at once when the bank no longer asks)."""
    supplier_order = selectors.get_supplier_order_for_retailer(
        retailer=request.retailer, supplier_order_id=supplier_order_id
    )
    if request.method == "POST":
        return_url = request.build_absolute_uri(
            reverse("orders:retailer_payment_confirmed", args=[supplier_order.pk])
        )
        try:
            result, action_url = payment.start_payment_confirmation(
                supplier_order=supplier_order, return_url=return_url
            )
        except DomainError as exc:
            messages.error(request, str(exc))
            return redirect("orders:retailer_detail", order_id=supplier_order.order_id)
        if action_url:
            return redirect(action_url)
        return _after_confirmation(request, result)
    try:
        payment.charge_awaiting_confirmation(supplier_order)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("orders:retailer_detail", order_id=supplier_order.order_id)
    return render(
        request, "orders/retailer/payment_confirm.html", {"supplier_order": supplier_order}
    )


payment_confirm = retailer_required(require_http_methods(["GET", "POST"])(payment_confirm))


@require_GET
@retailer_required
def payment_confirmed(request: RetailerRequest, supplier_order_id: int) -> HttpResponse:
    """The bank sends the retailer back here after its authentication page."""
    supplier_order = selectors.get_supplier_order_for_retailer(
        retailer=request.retailer, supplier_order_id=supplier_order_id
    )
    try:
        result = payment.finish_payment_confirmation(supplier_order=supplier_order)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("orders:retailer_detail", order_id=supplier_order.order_id)
    return _after_confirmation(request, result)


def _after_confirmation(
    request: RetailerRequest, result: payment.SupplierOrderPayment
) -> HttpResponse:
    supplier_order = result.supplier_order
    if result.paid_now:
        messages.success(request, f"Payment confirmed: {supplier_order.number} is paid.")
    elif result.is_paid:
        messages.info(request, f"{supplier_order.number} is already paid.")
    else:
        messages.error(request, supplier_order.status_reason or "The payment was not confirmed.")
    return redirect("orders:retailer_detail", order_id=supplier_order.order_id)


@require_GET
@retailer_required
def analytics(request: RetailerRequest) -> HttpResponse:
    """Sales, cost, profit and margin over a range, by period and by group, with charts and CSV."""
    params = request.GET
    try:
        start, end, interval, group_by = sales.parse_range(
            start=params.get("from"),
            end=params.get("to"),
            interval=params.get("interval"),
            group_by=params.get("group_by"),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        start, end, interval, group_by = sales.parse_range(
            start=None, end=None, interval=None, group_by=None
        )
    report = sales.get_sales_report(
        retailer=request.retailer, start=start, end=end, interval=interval, group_by=group_by
    )
    if params.get("format") == "csv":
        return csv_response(
            filename=f"sales-{start}-{end}-by-{group_by}.csv", rows=sales.report_csv_rows(report)
        )
    lines, line_zero = charts.line_chart(
        {
            "Revenue": [row.figures.revenue for row in report.periods],
            "Profit": [row.figures.profit for row in report.periods],
        }
    )
    bars, bar_zero = charts.bar_chart(
        [(row.label, row.figures.profit) for row in report.groups[:20]]
    )
    return render(
        request,
        "orders/retailer/analytics.html",
        {
            "report": report,
            "currency": request.retailer.currency,
            "lines": lines,
            "line_zero": line_zero,
            "bars": bars,
            "bar_zero": bar_zero,
            "intervals": list(sales.INTERVALS),
            "groups": list(sales.GROUPS),
            "csv_query": params.urlencode(),
        },
    )


@require_http_methods(["GET", "POST"])
@retailer_required
def packing_slip_preview(request: RetailerRequest) -> HttpResponse:
    """The packing slip a supplier would print for this retailer, on a sample order: with the
    saved brand (GET), or with the settings form's values before they are saved (POST, the live
    preview: nothing is written; a logo that is not an image is refused as saving refuses it)."""
    retailer = request.retailer
    slip = sample_packing_slip(retailer=retailer)
    if request.method == "POST":
        form = PackingSlipBrandingForm(request.POST, request.FILES)
        logo = None
        if form.is_valid() and form.cleaned_data["logo"]:
            try:
                check_image(form.cleaned_data["logo"], field="logo")
            except DomainError as exc:
                form.add_error("logo", exc.message)
            else:
                logo = form.cleaned_data["logo"]
                logo.seek(0)
        if not form.is_valid():
            return render(
                request,
                "orders/retailer/packing_slip_preview_error.html",
                {"form": form},
                status=400,
            )
        slip = sample_packing_slip(
            retailer=retailer,
            brand_name=form.cleaned_data["brand_name"],
            message=form.cleaned_data["message"],
            logo=logo,
            without_logo=form.cleaned_data["remove_logo"],
        )
    pdf = render_packing_slip_pdf(slip)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="packing-slip-preview.pdf"'
    return response


# --- returns -------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@retailer_required
def return_start(request: RetailerRequest, order_id: int, supplier_order_id: int) -> HttpResponse:
    """Start a return of delivered lines of one supplier order: quantities, reason, photos."""
    order = selectors.get_order_for_retailer(retailer=request.retailer, order_id=order_id)
    supplier_order = next(
        (so for so in order.supplier_orders.all() if so.pk == supplier_order_id), None
    )
    if supplier_order is None:
        raise Http404("No such supplier order in this order.")
    rows = returns.returnable_lines(supplier_order=supplier_order)
    error, status = "", 200
    if request.method == "POST":
        try:
            return_request = returns.open_return(
                order=order,
                lines=[
                    returns.ReturnLineRequest(
                        order_item_id=row.item.pk,
                        quantity=request.POST.get(f"qty_{row.item.pk}", "0") or "0",
                    )
                    for row in rows
                ],
                reason_code=request.POST.get("reason_code", ""),
                reason=request.POST.get("reason", ""),
                photos=request.FILES.getlist("photos"),
                actor=request.user,
            )
        except DomainError as exc:
            error, status = exc.message, 400
        else:
            messages.success(
                request,
                f"Return {return_request.number} is sent to "
                f"{supplier_order.supplier.company_name}; you are told when they answer.",
            )
            return redirect("orders:retailer_return", return_id=return_request.pk)
    return render(
        request,
        "orders/retailer/return_form.html",
        {
            "order": order,
            "supplier_order": supplier_order,
            "rows": [(row, request.POST.get(f"qty_{row.item.pk}", "0")) for row in rows],
            "terms": policy_terms(supplier=supplier_order.supplier),
            "reasons": ReturnRequest.Reason.choices,
            "error": error,
            "posted": request.POST,
        },
        status=status,
    )


@require_GET
@retailer_required
def return_list(request: RetailerRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in ReturnRequest.Status.values:
        status = ""
    page = Paginator(
        selectors.list_returns_for_retailer(retailer=request.retailer, status=status), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/retailer/return_list.html",
        {"page": page, "status": status, "statuses": ReturnRequest.Status.choices},
    )


@require_GET
@retailer_required
def return_detail(request: RetailerRequest, return_id: int) -> HttpResponse:
    return_request = selectors.get_return_for_retailer(
        retailer=request.retailer, return_id=return_id
    )
    return render(
        request,
        "orders/retailer/return_detail.html",
        {
            "rma": return_request,
            "carriers": CARRIER_CHOICES,
            "events": selectors.list_return_events(return_request=return_request),
        },
    )


RETAILER_RETURN_STEPS: dict[str, tuple[Callable[..., object], str]] = {
    "tracking": (returns.submit_return_tracking, "Return tracking saved; the supplier is told."),
    "accept": (returns.accept_offer, "Offer accepted: the refund is on its way."),
    "refuse": (returns.refuse_offer, "Offer refused; you can escalate the return to support."),
    "cancel": (returns.cancel_return, "Return withdrawn."),
}


@require_POST
@retailer_required
def return_step(request: RetailerRequest, return_id: int, step: str) -> HttpResponse:
    """One of the retailer's steps on a return: tracking, accept or refuse the offer, withdraw."""
    return_request = selectors.get_return_for_retailer(
        retailer=request.retailer, return_id=return_id
    )
    if step not in RETAILER_RETURN_STEPS:
        raise Http404("No such step.")
    service, done = RETAILER_RETURN_STEPS[step]
    arguments: dict[str, object] = {"return_request": return_request, "actor": request.user}
    if step == "tracking":
        arguments |= {
            "carrier": request.POST.get("carrier", ""),
            "tracking_number": request.POST.get("tracking_number", ""),
        }
    elif step == "refuse":
        arguments["reason"] = request.POST.get("reason", "")
    try:
        service(**arguments)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("orders:retailer_return", return_id=return_id)


@require_GET
@retailer_required
def return_file(
    request: RetailerRequest, return_id: int, kind: str, file_id: int = 0
) -> HttpResponse:
    return_request = selectors.get_return_for_retailer(
        retailer=request.retailer, return_id=return_id
    )
    return return_file_response(return_request, kind=kind, file_id=file_id)
