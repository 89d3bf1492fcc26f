"""The supplier's messages: its inbox and the thread of each supplier order it can see."""

from django.http import HttpResponse
from django.views.decorators.http import require_GET, require_http_methods

from dropship.accounts.access import SupplierRequest, supplier_required
from messaging.models import Side
from messaging.views import common
from orders import selectors as order_selectors


@require_GET
@supplier_required
def inbox(request: SupplierRequest) -> HttpResponse:
    return common.inbox(request, organisation=request.supplier, side=Side.SUPPLIER)


@require_http_methods(["GET", "POST"])
@supplier_required
def thread(request: SupplierRequest, supplier_order_id: int) -> HttpResponse:
    supplier_order = order_selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    return common.thread_page(request, supplier_order=supplier_order, side=Side.SUPPLIER)
