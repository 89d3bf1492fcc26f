"""The retailer's Settings page: one place for what the retailer decides about its business —
margin defaults (edited here), and the packing slip, each store's out-of-stock and
cash-on-delivery routing, and notifications (summarised here, changed on their own pages)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dropship.accounts.access import RetailerRequest, retailer_required
from dropship.core.errors import DomainError
from retailers.forms import RetailerDefaultsForm
from retailers.models import NoticeDelivery, Retailer, Store
from retailers.services.notices import list_notice_preferences
from retailers.services.settings import update_retailer_defaults


def _page(request: RetailerRequest, form: RetailerDefaultsForm, *, status: int = 200):
    retailer = request.retailer
    stores = list(Store.objects.filter(retailer=retailer).exclude(status=Store.Status.DISCONNECTED))
    return render(
        request,
        "retailers/settings.html",
        {
            "form": form,
            "retailer": retailer,
            "stores": stores,
            "notices": [
                (row.label, NoticeDelivery(row.delivery).label)
                for row in list_notice_preferences(retailer=retailer)
            ],
            "is_owner": request.membership.is_owner,
        },
        status=status,
    )


def _initial(retailer: Retailer) -> dict:
    return {
        "home_country": retailer.home_country,
        "processing_fee_percent": retailer.processing_fee_percent,
        "processing_fee_fixed": retailer.processing_fee_fixed,
        "unpublish_when_out_of_stock": retailer.unpublish_when_out_of_stock,
    }


@require_http_methods(["GET", "POST"])
@retailer_required
def retailer_settings(request: RetailerRequest) -> HttpResponse:
    retailer = request.retailer
    if request.method != "POST":
        return _page(request, RetailerDefaultsForm(initial=_initial(retailer)))
    if not request.membership.is_owner:
        return render(request, "owner_only.html", status=403)
    form = RetailerDefaultsForm(request.POST)
    if form.is_valid():
        try:
            update_retailer_defaults(retailer=retailer, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Your settings are saved.")
            return redirect("retailers:settings")
    retailer.refresh_from_db()
    return _page(request, form, status=400)
