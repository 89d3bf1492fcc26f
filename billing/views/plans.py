"""Plans: the public pricing page, and a retailer choosing, changing or cancelling its plan
(billing/services/plans.py). Thin: parse, call one service, render or redirect. These pages stay
open while the account is read-only: they are how it is fixed."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import selectors
from billing.services import plans
from billing.views import STRIPE_TROUBLE, absolute_url
from dropship.accounts.access import (
    RetailerRequest,
    allowed_when_read_only,
    membership_of,
    owner_required,
    retailer_required,
)
from dropship.core.errors import DomainError


@require_GET
def pricing(request: HttpRequest) -> HttpResponse:
    """Starter, Growth and Pro with their limits, from the plan rows; anyone may look."""
    membership = membership_of(request) if request.user.is_authenticated else None
    retailer = membership.retailer if membership else None
    subscription = plans.live_subscription(retailer=retailer) if retailer else None
    return render(
        request,
        "billing/pricing.html",
        {
            "schedules": selectors.list_plans(),
            "retailer": retailer,
            "subscription": subscription,
        },
    )


@require_POST
@retailer_required
@owner_required
@allowed_when_read_only
def start_plan_checkout(request: RetailerRequest) -> HttpResponse:
    try:
        url = plans.start_plan_checkout(
            retailer=request.retailer,
            plan=request.POST.get("plan", ""),
            success_url=absolute_url("billing:plan_done") + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=absolute_url("billing:pricing"),
        )
    except STRIPE_TROUBLE as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("billing:pricing")
    return redirect(url)


@require_GET
@retailer_required
def plan_checkout_done(request: RetailerRequest) -> HttpResponse:
    try:
        subscription = plans.complete_plan_checkout(
            retailer=request.retailer, session_id=request.GET.get("session_id", "")
        )
    except STRIPE_TROUBLE as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("billing:pricing")
    messages.success(
        request,
        f"Welcome to {selectors.plan_name(subscription.plan)}"
        + (
            f": your free trial runs until {subscription.trial_end:%d %b %Y}."
            if subscription.trial_end and subscription.status == "trialing"
            else "."
        ),
    )
    return redirect("billing:retailer")


@require_http_methods(["GET", "POST"])
@retailer_required
@owner_required
@allowed_when_read_only
def change_plan(request: RetailerRequest, plan: str) -> HttpResponse:
    """GET: what the change costs now (Stripe's preview); POST: change it."""
    if request.method == "POST":
        try:
            plans.change_plan(retailer=request.retailer, plan=plan, actor=request.user)
        except STRIPE_TROUBLE as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
            return redirect("billing:pricing")
        messages.success(request, f"You are now on the {selectors.plan_name(plan)} plan.")
        return redirect("billing:retailer")
    try:
        preview = plans.preview_plan_change(retailer=request.retailer, plan=plan)
    except STRIPE_TROUBLE as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("billing:pricing")
    return render(
        request,
        "billing/plan_change.html",
        {"plan": plan, "plan_name": selectors.plan_name(plan), "preview": preview},
    )


@require_POST
@retailer_required
@owner_required
@allowed_when_read_only
def cancel_plan(request: RetailerRequest) -> HttpResponse:
    cancel = request.POST.get("action", "cancel") != "resume"
    try:
        subscription = plans.set_plan_cancellation(
            retailer=request.retailer, cancel=cancel, actor=request.user
        )
    except STRIPE_TROUBLE as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("billing:retailer")
    if cancel:
        end = subscription.current_period_end
        messages.info(
            request,
            "Your plan ends"
            + (f" on {end:%d %b %Y}" if end else " at the end of the period")
            + "; nothing more is charged. You can renew it until then.",
        )
    else:
        messages.success(request, "Your plan renews again.")
    return redirect("billing:retailer")


@require_POST
@retailer_required
@owner_required
@allowed_when_read_only
def billing_portal(request: RetailerRequest) -> HttpResponse:
    try:
        url = plans.open_billing_portal(
            retailer=request.retailer, return_url=absolute_url("billing:retailer")
        )
    except (DomainError, *STRIPE_TROUBLE) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("billing:retailer")
    return redirect(url)
