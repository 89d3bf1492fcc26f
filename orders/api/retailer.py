"""Order endpoints for retailers: custom stores send orders, any retailer reads its orders.

POST /api/v1/orders              a custom store's order (same shape as our OrderData DTO)
                                 201 created, 200 already received (same store order id)
GET  /api/v1/orders              the retailer's orders: filters and cursor pagination
GET  /api/v1/orders/{id}         one order: lines, supplier orders, shipments, invoice links
GET  /api/v1/orders/{id}/status  status and tracking per supplier order
"""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from django.conf import settings
from django.urls import reverse
from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import paginate

from dropship.api import ErrorOut
from dropship.api_auth import ApiRequest, organisation_auth
from dropship.api_pagination import CursorPagination
from dropship.core.errors import NotFound, PermissionDenied
from integrations.base import OrderData, OrderLineData
from orders import selectors
from orders.services.intake import OrderIntakeError, receive_store_order
from retailers.models import Retailer, Store

MAX_ID = 2**31 - 1

router = Router(tags=["orders"], auth=organisation_auth)


class OrderLineIn(Schema):
    store_line_id: str = Field(..., description="Your id for the line, unique in the order.")
    store_variant_id: str = ""
    sku: str = ""
    title: str = ""
    quantity: int
    unit_price: Decimal = Decimal("0")
    store_product_id: str = ""


class OrderIn(Schema):
    store: UUID | None = Field(
        None, description="Public id of your custom store; optional when you have only one."
    )
    store_order_id: str
    number: str = ""
    currency: str = "USD"
    shopper_name: str = ""
    shopper_email: str = ""
    shipping_address: dict = Field(default_factory=dict)
    lines: list[OrderLineIn]
    total: Decimal = Decimal("0")
    placed_at: str = ""
    billing_country: str = Field(
        "",
        max_length=2,
        description="Two-letter country of the billing address; a fraud check can hold an "
        "order billed in another country than it ships to.",
    )


class ItemOut(Schema):
    id: int
    store_line_id: str
    sku: str
    title: str
    quantity: int
    status: str
    status_reason: str


class TrackingOut(Schema):
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: str | None
    line_ids: list[int] = Field(
        default_factory=list, description="Ids of the order's lines (`items`) in this parcel."
    )
    tracking_status: str = Field(
        description="The carrier's latest status: UNKNOWN, PRE_TRANSIT, IN_TRANSIT, "
        "OUT_FOR_DELIVERY, AVAILABLE_FOR_PICKUP, DELIVERED, EXCEPTION or RETURNED."
    )
    tracking_detail: str
    tracking_status_at: str | None
    delivered_at: str | None


class SupplierOrderStatusOut(Schema):
    id: int = 0
    number: str
    status: str
    status_reason: str
    is_flagged: bool
    flag_reason: str
    delivered_at: str | None
    carrier: str
    tracking_number: str
    tracking_url: str
    shipments: list[TrackingOut]
    invoice_url: str | None = Field(
        None, description="The invoice this supplier order is billed on, once it is invoiced."
    )


ORDER_EXAMPLE: dict[str, Any] = {
    "id": 812,
    "number": "C-1001",
    "store_order_id": "C-1001",
    "store_id": 14,
    "status": "SHIPPED",
    "currency": "USD",
    "retail_total": "49.98",
    "created_at": "2026-12-07T18:03:11Z",
    "review_reasons": "",
    "created": False,
    "invoice_url": "https://dropship.example/retailer/billing/invoices/INV-2026-000042/",
    "items": [
        {
            "id": 3301,
            "store_line_id": "L1",
            "sku": "MUG-RED",
            "title": "Red mug",
            "quantity": 2,
            "status": "SHIPPED",
            "status_reason": "",
        }
    ],
    "supplier_orders": [
        {
            "id": 977,
            "number": "SO-000977",
            "status": "SHIPPED",
            "status_reason": "",
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
            "shipments": [
                {
                    "carrier": "UPS",
                    "tracking_number": "1Z999AA10123456784",
                    "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
                    "shipped_at": "2026-12-08T09:12:00Z",
                    "line_ids": [3301],
                }
            ],
            "invoice_url": "https://dropship.example/retailer/billing/invoices/INV-2026-000042/",
        }
    ],
}


class OrderOut(Schema):
    model_config = {"json_schema_extra": {"examples": [ORDER_EXAMPLE]}}

    id: int
    number: str
    store_order_id: str
    store_id: int = 0
    status: str
    currency: str = "USD"
    retail_total: Decimal = Decimal("0")
    created_at: datetime | None = None
    delivered_at: str | None
    review_reasons: str = Field(
        "",
        description="Why a fraud check holds the order for your review (status HELD_FOR_REVIEW).",
    )
    created: bool = False
    invoice_url: str | None = Field(
        None,
        description="The invoice of the order's first invoiced supplier order (each supplier "
        "order has its own `invoice_url`); null until the charge is invoiced.",
    )
    items: list[ItemOut]
    supplier_orders: list[SupplierOrderStatusOut]


class OrderSummaryOut(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    key: ORDER_EXAMPLE[key]
                    for key in (
                        "id",
                        "number",
                        "store_order_id",
                        "store_id",
                        "status",
                        "currency",
                        "retail_total",
                        "created_at",
                    )
                }
                | {"supplier_order_count": 1, "exception_count": 0}
            ]
        }
    }

    id: int
    number: str
    store_order_id: str
    store_id: int
    status: str
    currency: str
    retail_total: Decimal
    created_at: datetime
    supplier_order_count: int
    exception_count: int


class OrderFilters(Schema):
    status: (
        Literal[
            "PENDING",
            "AWAITING_PAYMENT",
            "CONFIRMED",
            "PARTIALLY_SHIPPED",
            "SHIPPED",
            "DELIVERED",
            "CANCELLED",
            "EXCEPTION",
            "HELD_FOR_REVIEW",
        ]
        | None
    ) = Field(None, description="Only orders in this status.")
    store: int | None = Field(None, ge=1, le=MAX_ID, description="Only orders of this store id.")
    created_from: datetime | None = Field(None, description="Created at or after (ISO 8601).")
    created_to: datetime | None = Field(None, description="Created before (ISO 8601).")
    q: str = Field(
        "", max_length=100, description="Order number (part of it) or the store's order id."
    )


def _retailer(request: ApiRequest) -> Retailer:
    if request.retailer is None:
        raise PermissionDenied("Orders are sent with a retailer API key (drk_…).")
    return request.retailer


def _store(retailer: Retailer, public_id: UUID | None) -> Store:
    stores = Store.objects.filter(retailer=retailer, platform=Store.Platform.CUSTOM).exclude(
        status=Store.Status.DISCONNECTED
    )
    if public_id is not None:
        store = stores.filter(public_id=public_id).first()
        if store is None:
            raise NotFound("No custom store of yours has that id.")
        return store
    found = list(stores[:2])
    if len(found) != 1:
        raise OrderIntakeError(
            "Say which custom store the order is for (`store`: its public id)."
            if found
            else "You have no custom store connected; create one before sending orders.",
            field="store",
        )
    return found[0]


def _invoice_url(number: str | None) -> str | None:
    if not number:
        return None
    return settings.SITE_URL + reverse("billing:invoice", args=[number])


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _out(order, *, created: bool = False) -> OrderOut:
    """`order` as the selector loads it (supplier orders, shipments and items prefetched)."""
    invoices = selectors.list_invoice_numbers_for_order(order=order)
    shipped_lines = {
        shipment.pk: [item.order_item_id for item in shipment.items.all()]
        for so in order.supplier_orders.all()
        for shipment in so.shipments.all()
    }
    return OrderOut(
        id=order.pk,
        number=order.number,
        store_order_id=order.store_order_id,
        store_id=order.store_id,
        status=order.status,
        currency=order.currency,
        retail_total=order.retail_total,
        created_at=order.created_at,
        delivered_at=_iso(order.delivered_at),
        review_reasons=order.review_reasons if order.is_held_for_review else "",
        created=created,
        invoice_url=_invoice_url(next(iter(invoices.values()), None)),
        items=[
            ItemOut(
                id=item.pk,
                store_line_id=item.store_line_id,
                sku=item.sku,
                title=item.title,
                quantity=item.quantity,
                status=item.status,
                status_reason=item.status_reason,
            )
            for item in order.items.all()
        ],
        supplier_orders=[
            SupplierOrderStatusOut(
                id=so.pk,
                number=so.number,
                status=so.status,
                status_reason=so.status_reason,
                is_flagged=so.is_flagged,
                flag_reason=so.flag_reason,
                delivered_at=_iso(so.delivered_at),
                carrier=so.carrier,
                tracking_number=so.tracking_number,
                tracking_url=so.tracking_url,
                shipments=[
                    TrackingOut(
                        carrier=shipment.carrier,
                        tracking_number=shipment.tracking_number,
                        tracking_url=shipment.tracking_url,
                        line_ids=shipped_lines.get(shipment.pk, []),
                        shipped_at=_iso(shipment.shipped_at),
                        tracking_status=shipment.tracking_status,
                        tracking_detail=shipment.tracking_detail,
                        tracking_status_at=_iso(shipment.tracking_status_at),
                        delivered_at=_iso(shipment.delivered_at),
                    )
                    for shipment in so.shipments.all()
                ],
                invoice_url=_invoice_url(invoices.get(so.pk)),
            )
            for so in order.supplier_orders.all()
        ],
    )


@router.post(
    "",
    operation_id="orders_api_create_order",
    response={
        200: OrderOut,
        201: OrderOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        422: ErrorOut,
    },
)
def create_order(request: ApiRequest, payload: OrderIn):
    """Send a custom store's order: it is reserved, routed and sent to the suppliers at once,
    unless a fraud check holds it for your review (status HELD_FOR_REVIEW, review_reasons).
    Lines name a listed variant by its Dropship id (`store_variant_id`, `DSV-…`, from
    `GET /api/v1/listings`) or its SKU. The answer links each supplier order's invoice
    (`invoice_url`) once its charge is invoiced."""
    retailer = _retailer(request)
    store = _store(retailer, payload.store)
    data = OrderData(
        store_order_id=payload.store_order_id,
        number=payload.number,
        currency=payload.currency,
        shopper_name=payload.shopper_name,
        shopper_email=payload.shopper_email,
        shipping_address=payload.shipping_address,
        lines=tuple(
            OrderLineData(
                store_line_id=line.store_line_id,
                store_variant_id=line.store_variant_id,
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                unit_price=line.unit_price,
                store_product_id=line.store_product_id,
            )
            for line in payload.lines
        ),
        total=payload.total,
        placed_at=payload.placed_at,
        billing_country=payload.billing_country,
    )
    result = receive_store_order(store=store, data=data)
    if result.order is None:
        raise OrderIntakeError(result.message, field="lines")
    order = selectors.get_order_for_retailer(retailer=retailer, order_id=result.order.pk)
    return (201 if result.created else 200), _out(order, created=result.created)


@router.get(
    "",
    operation_id="orders_api_list_orders",
    response={200: list[OrderSummaryOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
)
@paginate(CursorPagination, ordering=("-created_at", "-id"))
def list_orders(request: ApiRequest, filters: Query[OrderFilters]):
    """Your orders, newest first, filtered by status, store, creation time and number."""
    return selectors.list_orders_for_retailer(
        retailer=_retailer(request),
        status=filters.status or "",
        store_id=filters.store,
        query=filters.q.strip(),
        created_from=filters.created_from,
        created_to=filters.created_to,
    )


@router.get(
    "/{order_id}",
    operation_id="orders_api_get_order",
    response={200: OrderOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def get_order(request: ApiRequest, order_id: int = Path(..., ge=1, le=MAX_ID)):
    """One order: its lines, supplier orders, parcels with tracking numbers, invoice links."""
    order = selectors.get_order_for_retailer(retailer=_retailer(request), order_id=order_id)
    return 200, _out(order)


@router.get(
    "/{order_id}/status",
    operation_id="orders_api_order_status",
    response={200: OrderOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def order_status(request: ApiRequest, order_id: int):
    """The order's status, its lines and each supplier order's tracking."""
    retailer = _retailer(request)
    order = selectors.get_order_for_retailer(retailer=retailer, order_id=order_id)
    return 200, _out(order)
