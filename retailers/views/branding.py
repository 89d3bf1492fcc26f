"""The owner's packing slip settings: the brand name, logo and message suppliers print."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dropship.accounts.access import RetailerRequest, owner_required, retailer_required
from dropship.core.errors import DomainError
from retailers.forms import PackingSlipBrandingForm
from retailers.services.branding import update_packing_slip_branding


@require_http_methods(["GET", "POST"])
@retailer_required
@owner_required
def packing_slip_settings(request: RetailerRequest) -> HttpResponse:
    retailer = request.retailer
    form = PackingSlipBrandingForm(
        request.POST or None,
        request.FILES or None,
        initial={"brand_name": retailer.brand_name, "message": retailer.packing_slip_message},
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                update_packing_slip_branding(
                    retailer=retailer,
                    actor=request.user,
                    brand_name=form.cleaned_data["brand_name"],
                    message=form.cleaned_data["message"],
                    logo=form.cleaned_data["logo"] or None,
                    remove_logo=form.cleaned_data["remove_logo"],
                )
            except DomainError as exc:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, exc.message)
            else:
                messages.success(request, "Your packing slip settings are saved.")
                return redirect("retailers:packing_slip_settings")
        retailer.refresh_from_db()
        return render(
            request,
            "retailers/packing_slip_settings.html",
            {"form": form, "retailer": retailer},
            status=400,
        )
    return render(
        request, "retailers/packing_slip_settings.html", {"form": form, "retailer": retailer}
    )
