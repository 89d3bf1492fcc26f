"""The retailer's messages: its inbox and the thread of each of its supplier orders."""

from django.http import HttpResponse
from django.views.decorators.http import require_GET, require_http_methods

from dropship.accounts.access import RetailerRequest, retailer_required
from messaging.models import Side
from messaging.views import common
from orders import selectors as order_selectors


@require_GET
@retailer_required
def inbox(request: RetailerRequest) -> HttpResponse:
    return common.inbox(request, organisation=request.retailer, side=Side.RETAILER)


@require_http_methods(["GET", "POST"])
@retailer_required
def thread(request: RetailerRequest, supplier_order_id: int) -> HttpResponse:
    supplier_order = order_selectors.get_supplier_order_for_retailer(
        retailer=request.retailer, supplier_order_id=supplier_order_id
    )
    return common.thread_page(request, supplier_order=supplier_order, side=Side.RETAILER)
