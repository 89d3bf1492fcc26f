"""The supplier's billing pages: its payouts and its Stripe (Connect) account. Thin: parse, call
one service, render."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from billing import selectors, services
from billing.views import STRIPE_TROUBLE, absolute_url
from dropship.accounts.access import SupplierRequest, owner_required, supplier_required


@require_GET
@supplier_required
def supplier_billing(request: SupplierRequest) -> HttpResponse:
    supplier = request.supplier
    payouts = Paginator(selectors.list_payouts_for_supplier(supplier=supplier), 25)
    return render(
        request,
        "billing/supplier_billing.html",
        {
            "supplier": supplier,
            "account": selectors.get_connected_account(supplier=supplier),
            "totals": selectors.payout_totals_for_supplier(supplier=supplier),
            "payouts": payouts.get_page(request.GET.get("page")),
            "bank_payouts": selectors.list_bank_payouts_for_supplier(supplier=supplier)[:20],
            "holdback_days": settings.PAYOUT_HOLDBACK_DAYS,
        },
    )


def _onboarding_redirect(request: SupplierRequest) -> HttpResponse:
    try:
        url = services.start_payout_onboarding(
            supplier=request.supplier,
            return_url=absolute_url("billing:connect_return"),
            refresh_url=absolute_url("billing:connect_refresh"),
        )
    except STRIPE_TROUBLE as exc:
        messages.error(request, f"Could not open Stripe onboarding: {exc}")
        return redirect("billing:supplier")
    return redirect(url)


@require_POST
@supplier_required
@owner_required
def start_connect(request: SupplierRequest) -> HttpResponse:
    return _onboarding_redirect(request)


@require_GET
@supplier_required
@owner_required
def connect_refresh(request: SupplierRequest) -> HttpResponse:
    """Stripe sends the supplier here when its onboarding link expired: make a new one."""
    return _onboarding_redirect(request)


@require_GET
@supplier_required
def connect_return(request: SupplierRequest) -> HttpResponse:
    try:
        account = services.refresh_connected_account(supplier=request.supplier)
    except STRIPE_TROUBLE:
        messages.warning(request, "Stripe is not answering right now; your status updates soon.")
        return redirect("billing:supplier")
    if account is not None and account.is_enabled:
        messages.success(request, "Payouts are enabled. Shipped orders are paid to your bank.")
    else:
        messages.warning(request, "Stripe still needs some details before it can pay you.")
    return redirect("billing:supplier")
