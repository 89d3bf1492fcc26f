"""The retailer's pricing rules: list, edit with tiers, live preview, delete."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dropship.accounts.access import RetailerRequest, retailer_required
from dropship.core.errors import DomainError
from retailers import selectors, services
from retailers.forms import PricingRuleForm, TierFormSet, rule_input, tier_initial


def _rule_forms(request: RetailerRequest, rule=None):
    retailer = request.retailer
    if request.method == "POST":
        form = PricingRuleForm(request.POST, retailer=retailer)
        tiers = TierFormSet(request.POST, prefix="tiers")
    else:
        form = PricingRuleForm(initial=PricingRuleForm.initial_for(rule), retailer=retailer)
        tiers = TierFormSet(initial=tier_initial(rule), prefix="tiers")
    return form, tiers


@require_GET
@retailer_required
def pricing_rules(request: RetailerRequest) -> HttpResponse:
    return render(
        request,
        "retailers/pricing_rule_list.html",
        {"rules": selectors.list_pricing_rules_for_retailer(retailer=request.retailer)},
    )


@retailer_required
def pricing_rule_edit(request: RetailerRequest, rule_id: int | None = None) -> HttpResponse:
    rule = (
        selectors.get_pricing_rule_for_retailer(retailer=request.retailer, rule_id=rule_id)
        if rule_id
        else None
    )
    form, tiers = _rule_forms(request, rule)
    status = 200
    if request.method == "POST":
        if form.is_valid() and tiers.is_valid():
            try:
                saved = services.save_pricing_rule(
                    retailer=request.retailer,
                    data=rule_input(form, tiers),
                    rule=rule,
                    actor=request.user,
                )
            except DomainError as exc:
                on_rule = exc.field in form.fields and not exc.message.startswith("Tier")
                form.add_error(exc.field if on_rule else None, exc.message)
            else:
                messages.success(request, f"Pricing rule “{saved.name}” saved.")
                return redirect("retailers:pricing_rules")
        status = 400
    return render(
        request,
        "retailers/pricing_rule_form.html",
        {"rule": rule, "form": form, "tiers": tiers},
        status=status,
    )


@require_POST
@retailer_required
def pricing_rule_preview(request: RetailerRequest) -> HttpResponse:
    """htmx: the prices the rule being edited would give, before it is saved."""
    form, tiers = _rule_forms(request)
    rows: list[services.PreviewRow] = []
    source, error = "", ""
    if not (form.is_valid() and tiers.is_valid()):
        error = "Correct the highlighted fields to see a preview."
        problems = [e for errors in form.errors.values() for e in errors]
        problems += [e for t in tiers.errors for errors in t.values() for e in errors]
        problems += list(tiers.non_form_errors())
        if problems:
            error = " ".join(str(p) for p in problems[:3])
    else:
        try:
            rows, source = services.preview_pricing_rule(
                retailer=request.retailer, data=rule_input(form, tiers)
            )
        except DomainError as exc:
            error = exc.message
    return render(
        request,
        "retailers/_pricing_preview.html",
        {"rows": rows, "source": source, "error": error, "currency": request.retailer.currency},
    )


@require_POST
@retailer_required
def pricing_rule_delete(request: RetailerRequest, rule_id: int) -> HttpResponse:
    rule = selectors.get_pricing_rule_for_retailer(retailer=request.retailer, rule_id=rule_id)
    services.delete_pricing_rule(rule=rule, actor=request.user)
    messages.success(request, f"Pricing rule “{rule.name}” deleted.")
    return redirect("retailers:pricing_rules")
