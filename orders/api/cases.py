"""Cases for retailer and supplier keys: mediation cases and chargebacks on the caller's supplier
orders, in one list.

GET  /api/v1/cases                    the caller's cases, newest first (cursor pages; ?open=true)
POST /api/v1/cases                    open a mediation case on a shipped supplier order
GET  /api/v1/cases/{id}               one case with its statements
POST /api/v1/cases/{id}/statements    add the caller's statement to an open case

The caller's side (retailer or supplier) comes from the key. Another organisation's order or
case answers 404. Attachments are added on the case page (multipart), listed here by name.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from django.db.models import QuerySet
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict

from dropship.api import ErrorOut
from dropship.api_auth import ApiRequest, api_actor, organisation_auth
from dropship.api_pagination import CursorPagination
from dropship.core.errors import NotFound
from orders import selectors
from orders.models import Dispute, SupplierOrder
from orders.services import cases

MAX_ID = 2**31 - 1
router = Router(tags=["cases"], auth=organisation_auth)
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class CaseAttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int


class StatementOut(Schema):
    id: int
    party: str = Field(description="RETAILER, SUPPLIER or SUPPORT.")
    body: str
    created_at: datetime
    attachments: list[CaseAttachmentOut]

    @staticmethod
    def resolve_attachments(obj) -> list:
        return list(obj.attachments.all())


class CaseOut(Schema):
    id: int
    kind: str = Field(description="MEDIATION (support decides) or CHARGEBACK (the bank does).")
    supplier_order_id: int
    supplier_order_number: str
    reason: str
    status: str = Field(description="OPEN, RESHIP (awaiting reshipment), WON, LOST or CLOSED.")
    opened_by: str
    amount: Decimal
    currency: str
    outcome: str = Field(description="REFUND_FULL, REFUND_PARTIAL, RELEASE, RESHIP or empty.")
    outcome_amount: Decimal | None
    resolution: str
    reship_carrier: str
    reship_tracking_number: str
    created_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_supplier_order_number(obj: Dispute) -> str:
        return obj.supplier_order.number


class CaseDetailOut(CaseOut):
    statements: list[StatementOut]

    @staticmethod
    def resolve_statements(obj: Dispute) -> list:
        return list(obj.statements.all())


class CaseFilters(Schema):
    open: bool = Field(False, description="Only cases still open (OPEN or RESHIP).")


class CaseIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "supplier_order_id": 4182,
                    "reason": "not_as_described",
                    "statement": "The mugs arrived blue; the listing shows them white.",
                }
            ]
        }
    )

    supplier_order_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    reason: Dispute.Reason
    statement: Annotated[str, Field(min_length=1, max_length=cases.MAX_STATEMENT)]
    return_request_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None


class StatementIn(Schema):
    body: Annotated[str, Field(min_length=1, max_length=cases.MAX_STATEMENT)]


def _party(request: ApiRequest) -> str:
    return Dispute.Party.SUPPLIER if request.supplier is not None else Dispute.Party.RETAILER


def _cases(request: ApiRequest, *, open_only: bool = False) -> QuerySet[Dispute]:
    if request.supplier is not None:
        return selectors.list_cases_for_supplier(supplier=request.supplier, open_only=open_only)
    assert request.retailer is not None  # noqa: S101  # organisation_auth lets in one or the other
    return selectors.list_cases_for_retailer(retailer=request.retailer, open_only=open_only)


def _case(request: ApiRequest, case_id: int) -> Dispute:
    if request.supplier is not None:
        return selectors.get_case_for_supplier(supplier=request.supplier, case_id=case_id)
    assert request.retailer is not None  # noqa: S101
    return selectors.get_case_for_retailer(retailer=request.retailer, case_id=case_id)


def _supplier_order(request: ApiRequest, supplier_order_id: int) -> SupplierOrder:
    if request.supplier is not None:
        return selectors.get_supplier_order_for_supplier(
            supplier=request.supplier, supplier_order_id=supplier_order_id
        )
    assert request.retailer is not None  # noqa: S101
    return selectors.get_supplier_order_for_retailer(
        retailer=request.retailer, supplier_order_id=supplier_order_id
    )


@router.get(
    "",
    operation_id="orders_cases_api_list_cases",
    response={200: list[CaseOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
)
@paginate(CursorPagination, ordering=("-created_at", "-id"))
def list_cases(request: ApiRequest, filters: Query[CaseFilters]):
    """Your cases, mediation and chargebacks together, newest first."""
    return _cases(request, open_only=filters.open)


@router.post(
    "",
    operation_id="orders_cases_api_open_case",
    response={201: CaseDetailOut, 400: ErrorOut, 409: ErrorOut, **ERRORS},
)
def open_case(request: ApiRequest, payload: CaseIn):
    """Open a mediation case on one of your shipped supplier orders (400 when it has not
    shipped, 409 when a case on it is still open, 404 for an order that is not yours)."""
    supplier_order = _supplier_order(request, payload.supplier_order_id)
    return_request = None
    if payload.return_request_id is not None:
        return_request = supplier_order.returns.filter(pk=payload.return_request_id).first()
        if return_request is None:
            raise NotFound("No such return on this order.", field="return_request_id")
    case = cases.open_case(
        supplier_order=supplier_order,
        party=_party(request),
        reason=payload.reason,
        statement=payload.statement,
        actor=api_actor(request),
        return_request=return_request,
    )
    return Status(201, _case(request, case.pk))


@router.get(
    "/{case_id}", operation_id="orders_cases_api_get_case", response={200: CaseDetailOut, **ERRORS}
)
def get_case(request: ApiRequest, case_id: int = Path(..., ge=1, le=MAX_ID)):
    """One of your cases with its statements (404 for anyone else's)."""
    return _case(request, case_id)


@router.post(
    "/{case_id}/statements",
    operation_id="orders_cases_api_add_statement",
    response={201: StatementOut, 400: ErrorOut, 409: ErrorOut, **ERRORS},
)
def add_statement(
    request: ApiRequest, payload: StatementIn, case_id: int = Path(..., ge=1, le=MAX_ID)
):
    """Add your statement to an open mediation case (409 once it is closed)."""
    case = _case(request, case_id)
    statement = cases.add_statement(
        case=case, party=_party(request), body=payload.body, actor=api_actor(request)
    )
    return Status(201, statement)
