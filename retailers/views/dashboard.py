"""The retailer's home page: stores, recent orders, notifications and sync health."""

from django.http import HttpResponse
from django.shortcuts import render

from dropship.accounts.access import RetailerRequest, retailer_required
from dropship.accounts.selectors import list_recent_notifications
from retailers import selectors
from retailers.sync.status import retailer_sync_summary


@retailer_required
def dashboard(request: RetailerRequest) -> HttpResponse:
    retailer = request.retailer
    return render(
        request,
        "retailers/dashboard.html",
        {
            "retailer": retailer,
            "stats": selectors.get_retailer_dashboard(retailer=retailer),
            "stores": selectors.list_stores_for_retailer(retailer=retailer),
            "recent_orders": selectors.list_recent_orders_for_retailer(retailer=retailer),
            "notifications": list_recent_notifications(organisation=retailer),
            "sync": retailer_sync_summary(retailer=retailer),
        },
    )
