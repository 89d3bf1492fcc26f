"""Supplier order API: list your orders, accept one, ship lines with tracking.

    GET  /api/v1/supplier/orders?status=new|accepted|shipped|exceptions|<status>
    POST /api/v1/supplier/orders/{id}/accept
    POST /api/v1/supplier/orders/{id}/ship   {"carrier", "tracking_number", "lines"?: [{"sku"|"line_id", "quantity"}]}
    POST /api/v1/supplier/orders/{id}/delivered  {"tracking_number"?, "delivered_at"?}

Supplier API key (`Authorization: Bearer dsk_…`) or a supplier member's session. Another
supplier's order answers 404. Shipping the same carrier + tracking number for the same lines
again answers 200 with the existing shipment (safe to retry after a timeout).
"""

from datetime import datetime
from typing import Annotated

from ninja import Field, Router, Schema
from ninja.pagination import paginate

from dropship.api import ErrorOut
from dropship.api_auth import SupplierApiRequest, api_actor, supplier_auth
from dropship.api_pagination import BoundedPageNumberPagination
from dropship.core.errors import DomainError
from orders import selectors
from orders.models import Shipment, SupplierOrder
from orders.services import delivery, fulfilment

router = Router(auth=supplier_auth, tags=["supplier orders"])


class LineOut(Schema):
    id: int
    sku: str
    title: str
    quantity: int
    quantity_shipped: int
    status: str


class ShipmentOut(Schema):
    id: int
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: datetime
    push_status: str
    push_error: str
    tracking_status: str
    delivered_at: datetime | None


class SupplierOrderOut(Schema):
    id: int
    number: str
    order_number: str
    status: str
    status_reason: str
    currency: str
    wholesale_total: str
    shipping_total: str
    carrier: str
    tracking_number: str
    tracking_url: str
    created_at: datetime
    accepted_at: datetime | None
    shipped_at: datetime | None

    @staticmethod
    def resolve_order_number(obj: SupplierOrder) -> str:
        return obj.order.number

    @staticmethod
    def resolve_wholesale_total(obj: SupplierOrder) -> str:
        return str(obj.wholesale_total)

    @staticmethod
    def resolve_shipping_total(obj: SupplierOrder) -> str:
        return str(obj.shipping_total)


class SupplierOrderDetailOut(SupplierOrderOut):
    lines: list[LineOut]
    shipments: list[ShipmentOut]

    @staticmethod
    def resolve_lines(obj: SupplierOrder):
        return list(obj.items.all())

    @staticmethod
    def resolve_shipments(obj: SupplierOrder):
        return list(obj.shipments.all())


@router.get(
    "",
    operation_id="orders_supplier_api_list_orders",
    response={200: list[SupplierOrderOut], 400: ErrorOut, 401: ErrorOut},
)
@paginate(BoundedPageNumberPagination)
def list_orders(request: SupplierApiRequest, status: str = ""):
    """Your orders, newest first. `status` is a tab (new, accepted, shipped, exceptions) or a
    supplier order status (paid, sent, accepted, shipped, delivered, exception, cancelled)."""
    statuses = None
    if status:
        statuses = selectors.STATUS_FILTERS.get(status.strip().lower())
        if statuses is None:
            raise DomainError(
                f"Unknown status “{status[:40]}”. Use one of: "
                + ", ".join(sorted(selectors.STATUS_FILTERS))
                + ".",
                field="status",
            )
    return selectors.list_supplier_orders_for_supplier(supplier=request.supplier, statuses=statuses)


def _detail(request: SupplierApiRequest, supplier_order_id: int) -> SupplierOrder:
    return selectors.get_supplier_order_detail(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )


@router.get(
    "/{supplier_order_id}",
    operation_id="orders_supplier_api_get_order",
    response={200: SupplierOrderDetailOut, 401: ErrorOut, 404: ErrorOut},
)
def get_order(request: SupplierApiRequest, supplier_order_id: int):
    return _detail(request, supplier_order_id)


@router.post(
    "/{supplier_order_id}/accept",
    operation_id="orders_supplier_api_accept_order",
    response={200: SupplierOrderDetailOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def accept_order(request: SupplierApiRequest, supplier_order_id: int):
    supplier_order = selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    fulfilment.accept_supplier_order(supplier_order=supplier_order, actor=api_actor(request))
    return _detail(request, supplier_order_id)


class RejectIn(Schema):
    reason: Annotated[str, Field(min_length=1, max_length=fulfilment.MAX_REASON)]


@router.post(
    "/{supplier_order_id}/reject",
    operation_id="orders_supplier_api_reject_order",
    response={
        200: SupplierOrderDetailOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
    },
)
def reject_order(request: SupplierApiRequest, supplier_order_id: int, payload: RejectIn):
    supplier_order = selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    fulfilment.reject_supplier_order(
        supplier_order=supplier_order, reason=payload.reason, actor=api_actor(request)
    )
    return _detail(request, supplier_order_id)


class ShipLineIn(Schema):
    line_id: int | None = None
    sku: Annotated[str, Field(max_length=100)] = ""
    quantity: Annotated[int, Field(strict=True, ge=1, le=100000)]


class ShipIn(Schema):
    carrier: Annotated[str, Field(min_length=1, max_length=40)]
    tracking_number: Annotated[str, Field(min_length=1, max_length=100)]
    lines: Annotated[list[ShipLineIn], Field(max_length=500)] | None = None


class ShipOut(Schema):
    shipment: ShipmentOut
    order: SupplierOrderDetailOut


@router.post(
    "/{supplier_order_id}/ship",
    operation_id="orders_supplier_api_ship_order",
    response={200: ShipOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def ship_order(request: SupplierApiRequest, supplier_order_id: int, payload: ShipIn):
    """Ship the listed lines (all that is left when `lines` is omitted) with carrier + tracking."""
    supplier_order = selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    shipment: Shipment = fulfilment.ship_supplier_order(
        supplier_order=supplier_order,
        carrier=payload.carrier,
        tracking_number=payload.tracking_number,
        lines=fulfilment.resolve_ship_lines(supplier_order=supplier_order, lines=payload.lines),
        actor=api_actor(request),
    )
    shipment.refresh_from_db()
    return {"shipment": shipment, "order": _detail(request, supplier_order_id)}


class DeliveredIn(Schema):
    tracking_number: Annotated[str, Field(max_length=100)] = ""
    delivered_at: datetime | None = None


@router.post(
    "/{supplier_order_id}/delivered",
    operation_id="orders_supplier_api_report_delivered",
    response={
        200: SupplierOrderDetailOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
    },
)
def report_delivered(request: SupplierApiRequest, supplier_order_id: int, payload: DeliveredIn):
    """Report the order's parcels (or the one with `tracking_number`) delivered, at
    `delivered_at` (default now); repeating it changes nothing."""
    supplier_order = selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    delivery.report_delivered(
        supplier_order=supplier_order,
        tracking_number=payload.tracking_number,
        delivered_at=payload.delivered_at,
        actor=api_actor(request),
    )
    return _detail(request, supplier_order_id)
