"""The retailer's inventory sync page: per store pending changes, last push, errors, freshness."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dropship.accounts.access import RetailerRequest, retailer_required
from retailers.sync.status import list_stalest_listings, list_store_sync_status


@require_GET
@retailer_required
def sync_status(request: RetailerRequest) -> HttpResponse:
    statuses = list_store_sync_status(retailer=request.retailer)
    template = "retailers/_sync_status_table.html" if request.htmx else "retailers/sync_status.html"
    return render(
        request,
        template,
        {
            "statuses": statuses,
            "any_pending": any(s.pending for s in statuses),
            "stalest": list_stalest_listings(retailer=request.retailer),
        },
    )
