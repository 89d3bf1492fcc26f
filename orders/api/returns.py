"""Return (RMA) endpoints, for both parties of a return.

Retailer (retailer API key or session):
    GET  /api/v1/returns                       your returns, newest first (cursor pages)
    POST /api/v1/returns                       open one: order, lines, reason code (201)
    GET  /api/v1/returns/{id}
    POST /api/v1/returns/{id}/tracking         {"carrier", "tracking_number"} once sent back
    POST /api/v1/returns/{id}/accept-offer     take the supplier's partial refund
    POST /api/v1/returns/{id}/refuse-offer     {"reason"?}
Supplier (supplier API key or session):
    GET  /api/v1/supplier/returns
    GET  /api/v1/supplier/returns/{id}
    POST /api/v1/supplier/returns/{id}/approve  {"instructions"?, "label_number"?}
    POST /api/v1/supplier/returns/{id}/decline  {"reason"}
    POST /api/v1/supplier/returns/{id}/offer    {"amount", "message"?}
    POST /api/v1/supplier/returns/{id}/receive  {"condition", "is_resellable", "lines"?}

Another organisation's return answers 404. A step the return's state does not allow answers 409
naming the state; bad input 400 naming the field. Photos and label files are attached on the
pages (multipart), not through this JSON API.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from dropship.api import ErrorOut
from dropship.api_auth import (
    ApiRequest,
    SupplierApiRequest,
    api_actor,
    organisation_auth,
    supplier_auth,
)
from dropship.api_pagination import CursorPagination
from dropship.core.errors import DomainError, PermissionDenied
from orders import selectors
from orders.models import ReturnRequest
from orders.services import returns
from retailers.models import Retailer

router = Router(tags=["returns"], auth=organisation_auth)
supplier_router = Router(tags=["supplier returns"], auth=supplier_auth)

MAX_ID = 2**31 - 1
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
STEP_ERRORS = {400: ErrorOut, 409: ErrorOut, **ERRORS}


class ReturnLineOut(Schema):
    id: int
    order_item_id: int
    sku: str
    title: str
    quantity: int
    quantity_received: int


class ReturnOut(Schema):
    id: int
    number: str
    status: str = Field(
        description="REQUESTED, APPROVED, OFFERED (a partial refund waits for your answer), "
        "SHIPPED_BACK, RECEIVED, REFUNDED, REJECTED (declined) or CANCELLED (withdrawn)."
    )
    order_id: int
    order_number: str
    supplier_order_id: int
    supplier_order_number: str
    supplier_id: int
    reason_code: str
    reason: str
    lines: list[ReturnLineOut]
    photo_count: int
    window_days: int
    restocking_fee_percent: Decimal
    return_shipping_paid_by: str
    return_address: str
    supplier_instructions: str
    has_label_file: bool
    label_number: str
    decline_reason: str
    offered_amount: Decimal | None
    return_carrier: str
    return_tracking_number: str
    return_tracking_url: str
    condition: str
    is_resellable: bool
    restocking_fee: Decimal
    refund_amount: Decimal | None
    refund_status: str | None = Field(
        None, description="PENDING while Stripe has not confirmed it, then SUCCEEDED."
    )
    currency: str
    created_at: datetime
    refunded_at: datetime | None

    @staticmethod
    def resolve_order_id(obj: ReturnRequest) -> int:
        return obj.supplier_order.order_id

    @staticmethod
    def resolve_order_number(obj: ReturnRequest) -> str:
        return obj.supplier_order.order.number

    @staticmethod
    def resolve_supplier_order_number(obj: ReturnRequest) -> str:
        return obj.supplier_order.number

    @staticmethod
    def resolve_supplier_id(obj: ReturnRequest) -> int:
        return obj.supplier_order.supplier_id

    @staticmethod
    def resolve_lines(obj: ReturnRequest) -> list[dict]:
        return [
            {
                "id": line.pk,
                "order_item_id": line.order_item_id,
                "sku": line.order_item.sku,
                "title": line.order_item.title,
                "quantity": line.quantity,
                "quantity_received": line.quantity_received,
            }
            for line in obj.lines.all()
        ]

    @staticmethod
    def resolve_photo_count(obj: ReturnRequest) -> int:
        return len(obj.photos.all())

    @staticmethod
    def resolve_has_label_file(obj: ReturnRequest) -> bool:
        return bool(obj.label_file)

    @staticmethod
    def resolve_refund_status(obj: ReturnRequest) -> str | None:
        return obj.refund.status if obj.refund else None

    @staticmethod
    def resolve_currency(obj: ReturnRequest) -> str:
        return obj.supplier_order.currency


class ReturnFilters(Schema):
    status: Annotated[str, Field(max_length=20)] = Field(
        "", description="Only returns in this status (one of the statuses above)."
    )

    def checked_status(self) -> str:
        if self.status and self.status not in ReturnRequest.Status.values:
            raise DomainError(
                f"Unknown status “{self.status}”. Use one of: "
                + ", ".join(ReturnRequest.Status.values)
                + ".",
                field="status",
            )
        return self.status


# --- retailer ------------------------------------------------------------------------------------
def _retailer(request: ApiRequest) -> Retailer:
    if request.retailer is None:
        raise PermissionDenied("Returns are opened with a retailer API key (drk_…).")
    return request.retailer


def _mine(request: ApiRequest, return_id: int) -> ReturnRequest:
    return selectors.get_return_for_retailer(retailer=_retailer(request), return_id=return_id)


class ReturnLineIn(Schema):
    order_item_id: Annotated[int, Field(ge=1, le=MAX_ID, description="The order line's id.")]
    quantity: Annotated[int, Field(strict=True, ge=1, le=100000)]


class ReturnIn(Schema):
    order_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    lines: list[ReturnLineIn] = Field(..., min_length=1, max_length=100)
    reason_code: Literal[
        "DEFECTIVE", "DAMAGED", "WRONG_ITEM", "NOT_AS_DESCRIBED", "NO_LONGER_WANTED", "OTHER"
    ]
    reason: Annotated[str, Field(max_length=returns.MAX_TEXT)] = ""


@router.get(
    "",
    operation_id="returns_api_list_returns",
    response={200: list[ReturnOut], 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
)
@paginate(CursorPagination, ordering=("-created_at", "-id"))
def list_returns(request: ApiRequest, filters: Query[ReturnFilters]):
    """Your returns, newest first, a page at a time (`limit` + `cursor`)."""
    return selectors.list_returns_for_retailer(
        retailer=_retailer(request), status=filters.checked_status()
    )


@router.post(
    "",
    operation_id="returns_api_open_return",
    response={201: ReturnOut, 400: ErrorOut, 409: ErrorOut, **ERRORS},
)
def open_return(request: ApiRequest, payload: ReturnIn):
    """Open a return of delivered lines of one supplier order. Refused (400, nothing written)
    for more units than were delivered or are left after earlier returns, after the supplier's
    window, for a non-returnable category or lines of two suppliers."""
    order = selectors.get_order_for_retailer(retailer=_retailer(request), order_id=payload.order_id)
    return_request = returns.open_return(
        order=order,
        lines=[
            returns.ReturnLineRequest(order_item_id=line.order_item_id, quantity=line.quantity)
            for line in payload.lines
        ],
        reason_code=payload.reason_code,
        reason=payload.reason,
        actor=api_actor(request),
    )
    return 201, _mine(request, return_request.pk)


@router.get(
    "/{int:return_id}", operation_id="returns_api_get_return", response={200: ReturnOut, **ERRORS}
)
def get_return(request: ApiRequest, return_id: int):
    return _mine(request, return_id)


class TrackingIn(Schema):
    carrier: Annotated[str, Field(min_length=1, max_length=32)]
    tracking_number: Annotated[str, Field(min_length=1, max_length=100)]


@router.post(
    "/{int:return_id}/tracking",
    operation_id="returns_api_submit_tracking",
    response={200: ReturnOut, **STEP_ERRORS},
)
def submit_tracking(request: ApiRequest, return_id: int, payload: TrackingIn):
    """The goods are on their way back: the number is checked like an outbound one. The same
    number again answers 200 (safe to retry)."""
    returns.submit_return_tracking(
        return_request=_mine(request, return_id),
        carrier=payload.carrier,
        tracking_number=payload.tracking_number,
        actor=api_actor(request),
    )
    return _mine(request, return_id)


@router.post(
    "/{int:return_id}/accept-offer",
    operation_id="returns_api_accept_offer",
    response={200: ReturnOut, **STEP_ERRORS},
)
def accept_offer(request: ApiRequest, return_id: int):
    returns.accept_offer(return_request=_mine(request, return_id), actor=api_actor(request))
    return _mine(request, return_id)


class ReasonIn(Schema):
    reason: Annotated[str, Field(max_length=returns.MAX_TEXT)] = ""


@router.post(
    "/{int:return_id}/refuse-offer",
    operation_id="returns_api_refuse_offer",
    response={200: ReturnOut, **STEP_ERRORS},
)
def refuse_offer(request: ApiRequest, return_id: int, payload: ReasonIn):
    returns.refuse_offer(
        return_request=_mine(request, return_id), reason=payload.reason, actor=api_actor(request)
    )
    return _mine(request, return_id)


# --- supplier ------------------------------------------------------------------------------------
def _theirs(request: SupplierApiRequest, return_id: int) -> ReturnRequest:
    return selectors.get_return_for_supplier(supplier=request.supplier, return_id=return_id)


@supplier_router.get(
    "",
    operation_id="returns_supplier_api_list_returns",
    response={200: list[ReturnOut], 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
)
@paginate(CursorPagination, ordering=("-created_at", "-id"))
def list_supplier_returns(request: SupplierApiRequest, filters: Query[ReturnFilters]):
    """Returns of your orders, newest first (`limit` + `cursor`)."""
    return selectors.list_returns_for_supplier(
        supplier=request.supplier, status=filters.checked_status()
    )


@supplier_router.get(
    "/{int:return_id}",
    operation_id="returns_supplier_api_get_return",
    response={200: ReturnOut, **ERRORS},
)
def get_supplier_return(request: SupplierApiRequest, return_id: int):
    return _theirs(request, return_id)


class ApproveIn(Schema):
    instructions: Annotated[str, Field(max_length=returns.MAX_TEXT)] = Field(
        "", description="How to send it back; empty: your return address is sent."
    )
    label_number: Annotated[str, Field(max_length=100)] = ""


@supplier_router.post(
    "/{int:return_id}/approve",
    operation_id="returns_supplier_api_approve",
    response={200: ReturnOut, **STEP_ERRORS},
)
def approve(request: SupplierApiRequest, return_id: int, payload: ApproveIn):
    returns.approve_return(
        return_request=_theirs(request, return_id),
        instructions=payload.instructions,
        label_number=payload.label_number,
        actor=api_actor(request),
    )
    return _theirs(request, return_id)


class DeclineIn(Schema):
    reason: Annotated[str, Field(min_length=1, max_length=returns.MAX_TEXT)]


@supplier_router.post(
    "/{int:return_id}/decline",
    operation_id="returns_supplier_api_decline",
    response={200: ReturnOut, **STEP_ERRORS},
)
def decline(request: SupplierApiRequest, return_id: int, payload: DeclineIn):
    returns.decline_return(
        return_request=_theirs(request, return_id),
        reason=payload.reason,
        actor=api_actor(request),
    )
    return _theirs(request, return_id)


class OfferIn(Schema):
    amount: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
    message: Annotated[str, Field(max_length=returns.MAX_TEXT)] = ""


@supplier_router.post(
    "/{int:return_id}/offer",
    operation_id="returns_supplier_api_offer",
    response={200: ReturnOut, **STEP_ERRORS},
)
def offer(request: SupplierApiRequest, return_id: int, payload: OfferIn):
    """A partial refund instead of taking the goods back (at most their wholesale value)."""
    returns.offer_partial_refund(
        return_request=_theirs(request, return_id),
        amount=payload.amount,
        message=payload.message,
        actor=api_actor(request),
    )
    return _theirs(request, return_id)


class ReceivedLineIn(Schema):
    line_id: Annotated[int, Field(ge=1, le=MAX_ID, description="A return line's id.")]
    quantity: Annotated[int, Field(strict=True, ge=0, le=100000)]


class ReceiveIn(Schema):
    condition: Literal["FULL", "PARTIAL", "DAMAGED"]
    is_resellable: bool = Field(description="Put the units back on hand (never for DAMAGED goods).")
    lines: list[ReceivedLineIn] = Field(
        default_factory=list, max_length=100, description="Units received per line: PARTIAL."
    )


@supplier_router.post(
    "/{int:return_id}/receive",
    operation_id="returns_supplier_api_receive",
    response={200: ReturnOut, **STEP_ERRORS},
)
def receive(request: SupplierApiRequest, return_id: int, payload: ReceiveIn):
    """The goods came back: the retailer is refunded their wholesale value less the restocking
    fee (when the reason is not yours), your payout is lowered by your share of it."""
    returns.receive_return(
        return_request=_theirs(request, return_id),
        condition=payload.condition,
        is_resellable=payload.is_resellable,
        quantities={line.line_id: line.quantity for line in payload.lines},
        actor=api_actor(request),
    )
    return _theirs(request, return_id)
