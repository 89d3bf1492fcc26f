"""Supplier order API: list your orders, read the ship-to, print the packing slip, accept or
reject one, ship lines with tracking. An API-only supplier fulfils with these alone.

    GET  /api/v1/supplier/orders?status=new|accepted|shipped|exceptions|<status>   (cursor pages)
    GET  /api/v1/supplier/orders/{id}                 lines, parcels, ship-to, packing slip link
    GET  /api/v1/supplier/orders/{id}/packing-slip    the PDF to put in the parcel
    POST /api/v1/supplier/orders/{id}/accept
    POST /api/v1/supplier/orders/{id}/reject {"reason"}
    POST /api/v1/supplier/orders/{id}/ship   {"carrier", "tracking_number", "lines"?: [{"sku"|"line_id", "quantity"}]}
    POST /api/v1/supplier/orders/{id}/delivered  {"tracking_number"?, "delivered_at"?}

Supplier API key (`Authorization: Bearer dsk_…`) or a supplier member's session. Another
supplier's order answers 404. Shipping the same carrier + tracking number for the same lines
again answers 200 with the existing shipment (safe to retry after a timeout).
"""

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict

from dropship.api import ErrorOut
from dropship.api_auth import SupplierApiRequest, api_actor, supplier_auth
from dropship.api_pagination import CursorPagination
from dropship.core.errors import DomainError
from orders import selectors
from orders.models import Shipment, SupplierOrder
from orders.packing_slip import packing_slip_pdf
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


class SupplierOrderShipToOut(Schema):
    """Where the parcel goes: the shopper's address as the store sent it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Bob Norman",
                    "company": "",
                    "lines": ["Chestnut Street 92", "Apt 4"],
                    "city": "Louisville",
                    "region": "Kentucky",
                    "region_code": "KY",
                    "postcode": "40202",
                    "country": "United States",
                    "country_code": "US",
                    "phone": "+1 555-0100",
                }
            ]
        }
    )

    name: str
    company: str
    lines: list[str]
    city: str
    region: str
    region_code: str
    postcode: str
    country: str
    country_code: str
    phone: str


def ship_to(address: dict[str, Any] | None) -> SupplierOrderShipToOut | None:
    """None when the store sent no address or the shopper's data was redacted."""
    if not address:
        return None

    def text(*keys: str) -> str:
        return next((str(address[k]).strip() for k in keys if address.get(k)), "")[:255]

    return SupplierOrderShipToOut(
        name=text("name"),
        company=text("company"),
        lines=[line for line in (text("address1"), text("address2")) if line],
        city=text("city"),
        region=text("province", "province_code"),
        region_code=text("province_code"),
        postcode=text("zip"),
        country=text("country", "country_code"),
        country_code=text("country_code").upper(),
        phone=text("phone"),
    )


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
    ship_to: SupplierOrderShipToOut | None = Field(
        description="Null when the store sent no address or the shopper's data was erased."
    )
    packing_slip_url: str = Field(
        description="The packing slip PDF; download it with the same API key."
    )

    @staticmethod
    def resolve_order_number(obj: SupplierOrder) -> str:
        return obj.order.number

    @staticmethod
    def resolve_ship_to(obj: SupplierOrder) -> SupplierOrderShipToOut | None:
        return ship_to(obj.order.shipping_address)

    @staticmethod
    def resolve_packing_slip_url(obj: SupplierOrder, context: dict[str, Any]) -> str:
        path = reverse("api:orders_supplier_api_packing_slip", args=[obj.pk])
        return context["request"].build_absolute_uri(path)

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


ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@router.get(
    "",
    operation_id="orders_supplier_api_list_orders",
    response={
        200: list[SupplierOrderOut],
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        422: ErrorOut,
    },
)
@paginate(CursorPagination, ordering=("-created_at", "-id"))
def list_orders(
    request: SupplierApiRequest,
    status: Annotated[
        str,
        Query(
            max_length=40,
            description="A tab (new, accepted, shipped, exceptions) or a status "
            "(paid, sent, accepted, shipped, delivered, exception, cancelled).",
        ),
    ] = "",
):
    """Your orders, newest first, a page at a time (`limit` + `cursor`), each with its ship-to
    address and packing slip link. Unknown `status` answers 400 naming it."""
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
    response={200: SupplierOrderDetailOut, **ERRORS},
)
def get_order(request: SupplierApiRequest, supplier_order_id: int):
    """One of your orders with its lines, parcels, ship-to address and packing slip link."""
    return _detail(request, supplier_order_id)


@router.get(
    "/{supplier_order_id}/packing-slip",
    operation_id="orders_supplier_api_packing_slip",
    url_name="orders_supplier_api_packing_slip",
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {
            200: {
                "description": "The packing slip (PDF) with the retailer's brand, no prices.",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def packing_slip(request: SupplierApiRequest, supplier_order_id: int):
    """The packing slip to put in the parcel: the retailer's brand, the ship-to address and the
    lines, never your name or any price (the same PDF as on your order page)."""
    supplier_order = selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    response = HttpResponse(
        packing_slip_pdf(supplier_order=supplier_order), content_type="application/pdf"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="packing-slip-{supplier_order.number}.pdf"'
    )
    return response


@router.post(
    "/{supplier_order_id}/accept",
    operation_id="orders_supplier_api_accept_order",
    response={200: SupplierOrderDetailOut, 400: ErrorOut, 409: ErrorOut, **ERRORS},
)
def accept_order(request: SupplierApiRequest, supplier_order_id: int):
    supplier_order = selectors.get_supplier_order_for_supplier(
        supplier=request.supplier, supplier_order_id=supplier_order_id
    )
    fulfilment.accept_supplier_order(supplier_order=supplier_order, actor=api_actor(request))
    return _detail(request, supplier_order_id)


class RejectIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Out of stock until May"}]}
    )

    reason: Annotated[str, Field(min_length=1, max_length=fulfilment.MAX_REASON)]


@router.post(
    "/{supplier_order_id}/reject",
    operation_id="orders_supplier_api_reject_order",
    response={200: SupplierOrderDetailOut, 400: ErrorOut, 409: ErrorOut, **ERRORS},
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier": "UPS",
                    "tracking_number": "1Z999AA10123456784",
                    "lines": [{"sku": "MUG-BLUE", "quantity": 2}],
                }
            ]
        }
    )

    carrier: Annotated[str, Field(min_length=1, max_length=40)]
    tracking_number: Annotated[str, Field(min_length=1, max_length=100)]
    lines: Annotated[list[ShipLineIn], Field(max_length=500)] | None = None


class ShipOut(Schema):
    shipment: ShipmentOut
    order: SupplierOrderDetailOut


@router.post(
    "/{supplier_order_id}/ship",
    operation_id="orders_supplier_api_ship_order",
    response={200: ShipOut, 400: ErrorOut, 409: ErrorOut, **ERRORS},
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
