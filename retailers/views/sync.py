"""The retailer's inventory sync page: per store pending changes, last push, errors, freshness."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dropship.accounts.access import retailer_required
from retailers.sync.status import humanise_seconds, list_stalest_listings, list_store_sync_status


@require_GET
@retailer_required
def sync_status(request: HttpRequest) -> HttpResponse:
    statuses = list_store_sync_status(retailer=request.retailer)
    for status in statuses:
        status.freshness_label = humanise_seconds(status.freshness_p95_seconds)
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
