"""The retailer's notification preferences: for each kind of order notice, off, immediately or
in the daily digest (owners change them; every member sees them)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dropship.accounts.access import RetailerRequest, retailer_required
from dropship.core.errors import DomainError
from retailers.models import NoticeDelivery
from retailers.services.notices import list_notice_preferences, set_notice_preferences


@require_http_methods(["GET", "POST"])
@retailer_required
def notice_preferences(request: RetailerRequest) -> HttpResponse:
    rows = list_notice_preferences(retailer=request.retailer)
    if request.method == "POST":
        if not request.membership.is_owner:
            return render(request, "owner_only.html", status=403)
        choices = {row.kind: request.POST.get(row.kind, "") for row in rows}
        try:
            set_notice_preferences(retailer=request.retailer, choices=choices, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return render(
                request,
                "retailers/notice_preferences.html",
                {"rows": rows, "deliveries": NoticeDelivery.choices, "is_owner": True},
                status=400,
            )
        messages.success(request, "Your notification preferences are saved.")
        return redirect("retailers:notice_preferences")
    return render(
        request,
        "retailers/notice_preferences.html",
        {
            "rows": rows,
            "deliveries": NoticeDelivery.choices,
            "is_owner": request.membership.is_owner,
        },
    )
