"""The retailer's billing pages: its card, invoices, charges and failed payments. Thin: parse,
call one service, render."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from billing import selectors, services
from billing.pdf import render_invoice_pdf
from billing.services import plans, usage
from billing.views import STRIPE_TROUBLE, absolute_url
from dropship.accounts.access import (
    RetailerRequest,
    allowed_when_read_only,
    owner_required,
    retailer_required,
)
from dropship.core.errors import DomainError, PermanentError, TemporaryError


@require_GET
@retailer_required
def retailer_billing(request: RetailerRequest) -> HttpResponse:
    retailer = request.retailer
    invoices = Paginator(selectors.list_invoices_for_retailer(retailer=retailer), 20)
    charges = Paginator(selectors.list_charges_for_retailer(retailer=retailer), 20)
    history = Paginator(selectors.list_billing_history_for_retailer(retailer=retailer), 20)
    subscription = plans.live_subscription(retailer=retailer)
    try:
        next_invoice = plans.preview_next_invoice(retailer=retailer)
    except STRIPE_TROUBLE:
        next_invoice = None  # Stripe is not answering: the page still shows the rest
    return render(
        request,
        "billing/retailer_billing.html",
        {
            "retailer": retailer,
            "subscription": subscription,
            "plan": selectors.get_plan(plan=retailer.plan),
            "usage": usage.usage_for(retailer=retailer),
            "next_invoice": next_invoice,
            "history": history.get_page(request.GET.get("history")),
            "failures": selectors.list_payment_failures_for_retailer(retailer=retailer),
            "invoices": invoices.get_page(request.GET.get("invoices")),
            "charges": charges.get_page(request.GET.get("charges")),
        },
    )


@require_POST
@retailer_required
@owner_required
@allowed_when_read_only
def start_card_setup(request: RetailerRequest) -> HttpResponse:
    try:
        url = services.start_card_setup(
            retailer=request.retailer,
            success_url=absolute_url("billing:card_done") + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=absolute_url("billing:retailer"),
        )
    except STRIPE_TROUBLE as exc:
        messages.error(request, f"Stripe could not open the card page: {exc}")
        return redirect("billing:retailer")
    return redirect(url)


@require_GET
@retailer_required
def card_setup_done(request: RetailerRequest) -> HttpResponse:
    try:
        changed = services.complete_card_setup(
            retailer=request.retailer,
            session_id=request.GET.get("session_id", ""),
            actor=request.user,
        )
    except (DomainError, PermanentError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    except TemporaryError:
        messages.warning(
            request, "Stripe is not answering right now; your card appears here once it does."
        )
    else:
        retailer = request.retailer
        retailer.refresh_from_db()
        if changed:
            messages.success(
                request,
                f"Card {retailer.card_brand.title()} •••• {retailer.card_last4} saved. "
                "Payments that were waiting are being retried.",
            )
        else:
            messages.info(request, "That card was already on file.")
    return redirect("billing:retailer")


@require_POST
@retailer_required
@owner_required
@allowed_when_read_only
def retry_payments(request: RetailerRequest) -> HttpResponse:
    waiting = selectors.list_payment_failures_for_retailer(retailer=request.retailer).count()
    if not waiting:
        messages.info(request, "No payment is waiting.")
        return redirect("billing:retailer")
    # The retailer asks: charge the card on file again, even the one that was declined.
    services.request_payment_retry(retailer=request.retailer, retry_same_card=True)
    messages.info(request, f"Retrying {waiting} payment(s) with your card on file.")
    return redirect("billing:retailer")


@require_GET
@retailer_required
def invoice_detail(request: RetailerRequest, number: str) -> HttpResponse:
    invoice = selectors.get_invoice_for_retailer(retailer=request.retailer, number=number)
    return render(request, "billing/invoice_detail.html", {"invoice": invoice})


@require_GET
@retailer_required
def invoice_pdf(request: RetailerRequest, number: str) -> HttpResponse:
    invoice = selectors.get_invoice_for_retailer(retailer=request.retailer, number=number)
    response = HttpResponse(render_invoice_pdf(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response
