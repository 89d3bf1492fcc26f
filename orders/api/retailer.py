"""Order endpoints for retailers: custom stores send orders, any retailer reads an order's status.

POST /api/v1/orders              a custom store's order (same shape as our OrderData DTO)
                                 201 created, 200 already received (same store order id)
GET  /api/v1/orders/{id}/status  status and tracking per supplier order
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ninja import Field, Router, Schema

from dropship.api import ErrorOut
from dropship.api_auth import ApiRequest, organisation_auth
from dropship.core.errors import NotFound, PermissionDenied
from integrations.base import OrderData, OrderLineData
from orders import selectors
from orders.services.intake import OrderIntakeError, receive_store_order
from retailers.models import Retailer, Store

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
    tracking_status: str = Field(
        description="The carrier's latest status: UNKNOWN, PRE_TRANSIT, IN_TRANSIT, "
        "OUT_FOR_DELIVERY, AVAILABLE_FOR_PICKUP, DELIVERED, EXCEPTION or RETURNED."
    )
    tracking_detail: str
    tracking_status_at: str | None
    delivered_at: str | None


class SupplierOrderStatusOut(Schema):
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


class OrderOut(Schema):
    id: int
    number: str
    store_order_id: str
    status: str
    delivered_at: str | None
    review_reasons: str = Field(
        "",
        description="Why a fraud check holds the order for your review (status HELD_FOR_REVIEW).",
    )
    created: bool = False
    items: list[ItemOut]
    supplier_orders: list[SupplierOrderStatusOut]


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


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _out(order, *, created: bool = False) -> OrderOut:
    """`order` as the selector loads it (supplier orders, shipments and items prefetched)."""
    return OrderOut(
        id=order.pk,
        number=order.number,
        store_order_id=order.store_order_id,
        status=order.status,
        delivered_at=_iso(order.delivered_at),
        review_reasons=order.review_reasons if order.is_held_for_review else "",
        created=created,
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
                        shipped_at=_iso(shipment.shipped_at),
                        tracking_status=shipment.tracking_status,
                        tracking_detail=shipment.tracking_detail,
                        tracking_status_at=_iso(shipment.tracking_status_at),
                        delivered_at=_iso(shipment.delivered_at),
                    )
                    for shipment in so.shipments.all()
                ],
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
        403: ErrorOut,
        404: ErrorOut,
        422: ErrorOut,
    },
)
def create_order(request: ApiRequest, payload: OrderIn):
    """Send a custom store's order: it is reserved, routed and sent to the suppliers at once,
    unless a fraud check holds it for your review (status HELD_FOR_REVIEW, review_reasons)."""
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
    "/{order_id}/status",
    operation_id="orders_api_order_status",
    response={200: OrderOut, 403: ErrorOut, 404: ErrorOut},
)
def order_status(request: ApiRequest, order_id: int):
    """The order's status, its lines and each supplier order's tracking."""
    retailer = _retailer(request)
    order = selectors.get_order_for_retailer(retailer=retailer, order_id=order_id)
    return 200, _out(order)
