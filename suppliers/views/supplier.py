"""The supplier's own pages: dashboard, the onboarding wizard and the inventory feed settings."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from catalog import selectors as catalog_selectors
from catalog.models import Category
from catalog.services.stock import set_stock_buffer
from dropship.accounts.access import SupplierRequest, supplier_required
from dropship.accounts.selectors import list_recent_notifications
from dropship.core.errors import DomainError
from suppliers import feeds, return_policies, selectors, services
from suppliers.forms import (
    BufferForm,
    ChannelForm,
    FeedForm,
    FulfilmentForm,
    ProfileForm,
    VerificationForm,
    shipping_rate_formset,
    shipping_rate_initial,
)
from suppliers.models import ReturnPolicy, Supplier, SupplierFeed, SupplierVerification

Step = Supplier.OnboardingStep


@supplier_required
def dashboard(request: SupplierRequest) -> HttpResponse:
    supplier = request.supplier
    return render(
        request,
        "suppliers/dashboard.html",
        {
            "supplier": supplier,
            "stats": selectors.get_supplier_dashboard(supplier=supplier),
            "notifications": list_recent_notifications(organisation=supplier),
            "application_steps": selectors.list_onboarding_steps(supplier=supplier),
            "application_unfinished": selectors.has_unfinished_application(supplier=supplier),
            "low_stock": catalog_selectors.list_low_stock_variants(supplier=supplier),
            "out_of_stock": catalog_selectors.list_out_of_stock_variants(supplier=supplier),
            "imports": catalog_selectors.list_import_jobs(supplier=supplier, limit=5),
        },
    )


# --- Onboarding wizard ----------------------------------------------------------------------------


def _step_url(step: str) -> str:
    return reverse("suppliers:onboarding_step", args=[selectors.onboarding_slug(step)])


def _next_url(supplier: Supplier, step: str) -> str:
    if not services.is_application_editable(supplier):
        return _step_url(step)  # an approved supplier editing its settings stays on the page
    order = services.STEP_ORDER
    return _step_url(order[order.index(step) + 1])


def _form_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@supplier_required
def onboarding(request: SupplierRequest) -> HttpResponse:
    return redirect(_step_url(request.supplier.onboarding_step))


@supplier_required
def onboarding_step(request: SupplierRequest, step_slug: str) -> HttpResponse:
    step = selectors.STEP_BY_SLUG.get(step_slug)
    if step is None:
        raise Http404("No such step.")
    supplier = request.supplier
    steps = selectors.list_onboarding_steps(supplier=supplier, current=step)
    state = next(s for s in steps if s.step == step)
    if not state.is_reachable:
        messages.info(request, "Complete the steps in order; you are here.")
        return redirect(_step_url(supplier.onboarding_step))
    handlers: dict[str, Callable[[SupplierRequest, Supplier, dict[str, Any]], HttpResponse]] = {
        Step.PROFILE: _profile_step,
        Step.FULFILMENT: _fulfilment_step,
        Step.CHANNEL: _channel_step,
        Step.VERIFICATION: _verification_step,
        Step.REVIEW: _review_step,
    }
    handler = handlers[step]
    context = {
        "supplier": supplier,
        "steps": steps,
        "step": state,
        "step_count": len(steps),
        "is_editable": step in services.editable_steps(supplier) or step == Step.REVIEW,
        "previous_url": _step_url(services.STEP_ORDER[state.number - 2])
        if state.number > 1
        else "",
    }
    return handler(request, supplier, context)


def _disable_when_locked(context: dict, *forms) -> None:
    if not context["is_editable"]:
        for form in forms:
            for field in form.fields.values():
                field.disabled = True


def _profile_step(
    request: SupplierRequest, supplier: Supplier, context: dict[str, Any]
) -> HttpResponse:
    form = ProfileForm(
        request.POST if request.method == "POST" else None,
        request.FILES or None,
        initial=ProfileForm.initial_for(supplier),
    )
    _disable_when_locked(context, form)
    if request.method == "POST" and context["is_editable"] and form.is_valid():
        try:
            supplier = services.save_company_profile(
                supplier=supplier, actor=request.user, **form.cleaned_data
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Company profile saved.")
            return redirect(_next_url(supplier, Step.PROFILE))
    return render(request, "suppliers/onboarding_step.html", {**context, "form": form})


def _fulfilment_step(
    request: SupplierRequest, supplier: Supplier, context: dict[str, Any]
) -> HttpResponse:
    is_post = request.method == "POST"
    form = FulfilmentForm(
        request.POST if is_post else None,
        initial={
            "handling_days": supplier.handling_days,
            "min_order_value": supplier.min_order_value,
        },
    )
    initial = shipping_rate_initial(supplier)
    formset = shipping_rate_formset(extra=1 if initial else 3)(
        request.POST if is_post else None, initial=initial, prefix="rates"
    )
    _disable_when_locked(context, form, *formset.forms)
    if is_post and context["is_editable"] and form.is_valid() and formset.is_valid():
        rates = [
            services.ShippingRateData(
                **{k: v for k, v in rate_form.cleaned_data.items() if k != "DELETE"}
            )
            for rate_form in formset.forms
            if rate_form.cleaned_data and not rate_form.cleaned_data.get("DELETE")
        ]
        try:
            supplier = services.save_fulfilment(
                supplier=supplier,
                actor=request.user,
                handling_days=form.cleaned_data["handling_days"],
                min_order_value=form.cleaned_data["min_order_value"],
                rates=rates,
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Fulfilment details saved.")
            return redirect(_next_url(supplier, Step.FULFILMENT))
    return render(
        request,
        "suppliers/onboarding_step.html",
        {**context, "form": form, "formset": formset},
    )


def _channel_step(
    request: SupplierRequest, supplier: Supplier, context: dict[str, Any]
) -> HttpResponse:
    form = ChannelForm(
        request.POST if request.method == "POST" else None,
        initial={
            "order_channel": supplier.order_channel,
            "webhook_url": supplier.webhook_url,
            "order_email": supplier.order_email or supplier.contact_email,
        },
    )
    _disable_when_locked(context, form)
    if request.method == "POST" and context["is_editable"] and "rotate_secret" in request.POST:
        try:
            services.rotate_webhook_secret(supplier=supplier, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "New signing secret created; update it in your system.")
        return redirect(_step_url(Step.CHANNEL))
    if request.method == "POST" and context["is_editable"] and form.is_valid():
        had_secret = bool(supplier.webhook_secret)
        try:
            supplier = services.save_order_channel(
                supplier=supplier,
                actor=request.user,
                channel=form.cleaned_data["order_channel"],
                webhook_url=form.cleaned_data["webhook_url"],
                order_email=form.cleaned_data["order_email"] or "",
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            if supplier.webhook_secret and not had_secret:
                messages.success(
                    request,
                    "Order channel saved. Copy your signing secret below into your system, "
                    "then continue.",
                )
                return redirect(_step_url(Step.CHANNEL))
            messages.success(request, "Order channel saved.")
            return redirect(_next_url(supplier, Step.CHANNEL))
    return render(
        request,
        "suppliers/onboarding_step.html",
        {
            **context,
            "form": form,
            "next_url": _next_url(supplier, Step.CHANNEL),
            "show_secret": supplier.order_channel == Supplier.OrderChannel.WEBHOOK
            and bool(supplier.webhook_secret),
        },
    )


def _verification_step(
    request: SupplierRequest, supplier: Supplier, context: dict[str, Any]
) -> HttpResponse:
    verification = SupplierVerification.objects.filter(supplier=supplier).first()
    form = VerificationForm(
        request.POST if request.method == "POST" else None,
        request.FILES or None,
        initial={
            "registration_number": verification.registration_number if verification else "",
            "country": (verification.country if verification else "") or supplier.ship_from_country,
        },
    )
    _disable_when_locked(context, form)
    if request.method == "POST" and context["is_editable"] and form.is_valid():
        try:
            services.save_verification(
                supplier=supplier,
                actor=request.user,
                registration_number=form.cleaned_data["registration_number"],
                country=form.cleaned_data["country"],
                document=form.cleaned_data["document"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Verification details saved.")
            supplier.refresh_from_db()
            return redirect(_next_url(supplier, Step.VERIFICATION))
    return render(
        request,
        "suppliers/onboarding_step.html",
        {**context, "form": form, "verification": verification},
    )


def _review_step(
    request: SupplierRequest, supplier: Supplier, context: dict[str, Any]
) -> HttpResponse:
    can_submit = services.is_application_editable(supplier)
    if request.method == "POST" and can_submit:
        try:
            services.submit_supplier_for_review(supplier=supplier, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, "Application submitted. We will email you when it has been reviewed."
            )
            return redirect("suppliers:dashboard")
    return render(
        request,
        "suppliers/onboarding_review.html",
        {
            **context,
            "can_submit": can_submit,
            "problems": services.application_problems(supplier),
            "verification": SupplierVerification.objects.filter(supplier=supplier).first(),
            "shipping_rates": supplier.shipping_rates.order_by("zone", "shipping_class", "price"),
            "status_changes": supplier.status_changes.select_related("actor")[:10],
        },
    )


# --- Inventory feed ---------------------------------------------------------------------------
@supplier_required
@require_http_methods(["GET", "POST"])
def feed_settings(request: SupplierRequest) -> HttpResponse:
    supplier = request.supplier
    feed = SupplierFeed.objects.filter(supplier=supplier).first()
    preview = None
    status = 200
    buffer_form = BufferForm(initial={"stock_buffer_percent": supplier.stock_buffer_percent})
    if request.method == "POST" and "buffer" in request.POST:
        buffer_form = BufferForm(request.POST)
        if buffer_form.is_valid():
            set_stock_buffer(
                supplier=supplier,
                percent=buffer_form.cleaned_data["stock_buffer_percent"],
                actor=request.user,
            )
            messages.success(request, "Stock buffer saved; your listings are being updated.")
            return redirect("suppliers:feed")
        status = 400
        form = FeedForm(
            initial={"url": feed.url, "format": feed.format, "is_enabled": feed.is_enabled}
            if feed
            else {"is_enabled": True, "format": SupplierFeed.Format.CSV}
        )
    elif request.method == "POST":
        form = FeedForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                feed = feeds.save_feed(
                    supplier=supplier,
                    url=data["url"],
                    format=data["format"],
                    mapping={},
                    is_enabled=data["is_enabled"],
                )
                if data["sku_column"] or data["stock_column"] or "test" in request.POST:
                    preview = feeds.preview_feed(
                        feed=feed, sku_column=data["sku_column"], stock_column=data["stock_column"]
                    )
                if "test" in request.POST and preview is not None:
                    messages.success(
                        request,
                        f"The feed works: {preview.rows:,} rows, {len(preview.quantities):,} "
                        f"usable, {len(preview.rejected):,} rejected. Nothing was applied yet.",
                    )
                else:
                    messages.success(request, "Feed saved. We fetch it within a minute.")
                    return redirect("suppliers:feed")
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = 400
        else:
            status = 400
    else:
        initial = {"is_enabled": True, "format": SupplierFeed.Format.CSV}
        if feed:
            initial = {"url": feed.url, "format": feed.format, "is_enabled": feed.is_enabled}
        form = FeedForm(initial=initial)
    return render(
        request,
        "suppliers/feed.html",
        {"form": form, "feed": feed, "preview": preview, "buffer_form": buffer_form},
        status=status,
    )


# --- Return policy --------------------------------------------------------------------------------
@supplier_required
@require_http_methods(["GET", "POST"])
def return_policy(request: SupplierRequest) -> HttpResponse:
    """The supplier's return terms: window, restocking fee, who pays the way back, address and
    the categories it does not take back. Retailers see them on product pages and in the API."""
    supplier = request.supplier
    policy = return_policies.policy_for(supplier=supplier)
    error, status = "", 200
    values: dict[str, Any] = {
        "window_days": policy.window_days,
        "restocking_fee_percent": policy.restocking_fee_percent,
        "return_shipping_paid_by": policy.return_shipping_paid_by,
        "return_address": policy.return_address,
        "categories": return_policies.non_returnable_category_ids(policy=policy),
    }
    if request.method == "POST":
        post = request.POST
        chosen = [int(pk) for pk in post.getlist("non_returnable_categories") if pk.isdigit()]
        values = {
            "window_days": post.get("window_days", ""),
            "restocking_fee_percent": post.get("restocking_fee_percent", ""),
            "return_shipping_paid_by": post.get("return_shipping_paid_by", ""),
            "return_address": post.get("return_address", ""),
            "categories": set(chosen),
        }
        try:
            return_policies.save_return_policy(
                supplier=supplier,
                window_days=values["window_days"],
                restocking_fee_percent=values["restocking_fee_percent"],
                return_shipping_paid_by=values["return_shipping_paid_by"],
                return_address=values["return_address"],
                non_returnable_category_ids=chosen,
                actor=request.user,
            )
        except DomainError as exc:
            error, status = exc.message, 400
        else:
            messages.success(request, "Return policy saved; retailers see it on your products.")
            return redirect("suppliers:return_policy")
    return render(
        request,
        "suppliers/return_policy.html",
        {
            "values": values,
            "error": error,
            "paid_by_choices": ReturnPolicy.ShippingPaidBy.choices,
            "categories": Category.objects.order_by("name").only("pk", "name"),
            "is_saved": policy.pk is not None,
        },
        status=status,
    )
