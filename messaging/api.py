"""Messages API, for retailer and supplier keys (and the dashboards' session calls):

    GET  /api/v1/threads?supplier_order_id=        your conversations, latest first (cursor pages)
    POST /api/v1/threads  {"supplier_order_id", "body"}   write about a supplier order (starts
                                                    its thread, or adds to it)
    GET  /api/v1/threads/{id}                       one conversation with its messages
    POST /api/v1/threads/{id}/messages {"body"}     reply
    POST /api/v1/threads/{id}/read                  mark it read (the other side sees the receipt)
    GET  /api/v1/threads/{id}/attachments/{attachment_id}   a file sent with a message

Another organisation's thread, supplier order or attachment answers 404. Attachments are sent
from the dashboards' message pages; the API lists and serves them.
"""

from datetime import datetime
from typing import Annotated, Any

from django.http import FileResponse, Http404
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from dropship.api import ErrorOut
from dropship.api_auth import ApiRequest, api_actor, organisation_auth
from dropship.api_pagination import CursorPagination
from messaging import selectors, services
from messaging.models import Message, Side, Thread
from orders import selectors as order_selectors
from orders.models import SupplierOrder
from retailers.models import Retailer
from suppliers.models import Supplier

router = Router(auth=organisation_auth, tags=["messages"])


class PartyOut(Schema):
    id: int
    name: str


class ThreadOut(Schema):
    id: int
    supplier_order_id: int
    supplier_order_number: str
    order_number: str
    retailer: PartyOut
    supplier: PartyOut
    status: str = Field(description="`OPEN`, or `CLOSED` by support (a new message opens it).")
    has_support: bool = Field(description="Support joined the conversation.")
    last_message_at: datetime
    last_message_side: str = Field(description="`RETAILER`, `SUPPLIER` or `SUPPORT`.")
    unread_count: int = Field(description="Messages from the others you have not read.")

    @staticmethod
    def resolve_supplier_order_number(obj: Thread) -> str:
        return obj.supplier_order.number

    @staticmethod
    def resolve_order_number(obj: Thread) -> str:
        return obj.supplier_order.order.number

    @staticmethod
    def resolve_retailer(obj: Thread) -> dict[str, Any]:
        return {"id": obj.retailer_id, "name": obj.retailer.business_name}

    @staticmethod
    def resolve_supplier(obj: Thread) -> dict[str, Any]:
        return {"id": obj.supplier_id, "name": obj.supplier.company_name}


class ReceiptOut(Schema):
    side: str
    read_at: datetime


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    url: str


class MessageOut(Schema):
    id: int
    side: str = Field(description="Who wrote it: `RETAILER`, `SUPPLIER` or `SUPPORT`.")
    author: str = Field(description="The organisation's name, or `Dropship support`.")
    body: str = Field(description="Plain text, as written; escape it when you show it as HTML.")
    created_at: datetime
    read_by: list[ReceiptOut] = Field(description="The other parties that have read it.")
    attachments: list[AttachmentOut]


class ThreadDetailOut(ThreadOut):
    messages: list[MessageOut]

    @staticmethod
    def resolve_messages(obj: Thread) -> list[dict[str, Any]]:
        return [_message_out(obj, message) for message in obj.messages.all()]


class MessageIn(Schema):
    body: str = Field(min_length=1, max_length=services.MAX_BODY)


class StartIn(MessageIn):
    supplier_order_id: int = Field(ge=1, le=2**63 - 1)


def _organisation(request: ApiRequest) -> tuple[Retailer | Supplier, str]:
    if request.supplier is not None:
        return request.supplier, Side.SUPPLIER
    assert request.retailer is not None  # noqa: S101  # the auth lets in one or the other
    return request.retailer, Side.RETAILER


def _message_out(thread: Thread, message: Message) -> dict[str, Any]:
    author = {
        Side.RETAILER: thread.retailer.business_name,
        Side.SUPPLIER: thread.supplier.company_name,
        Side.SUPPORT: "Dropship support",
    }[Side(message.side)]
    readers = [Side.RETAILER, Side.SUPPLIER] + ([Side.SUPPORT] if thread.has_support else [])
    return {
        "id": message.pk,
        "side": message.side,
        "author": author,
        "body": message.body,
        "created_at": message.created_at,
        "read_by": [
            {"side": reader, "read_at": mark}
            for reader in readers
            if reader != message.side
            and (mark := thread.read_at(reader)) is not None
            and mark >= message.created_at
        ],
        "attachments": [
            {
                "id": attachment.pk,
                "name": attachment.name,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "url": reverse("api:messaging_api_get_attachment", args=[thread.pk, attachment.pk]),
            }
            for attachment in message.attachments.all()
        ],
    }


def _detail(thread: Thread, side: str) -> Thread:
    """The thread as ThreadDetailOut reads it, with the caller's unread count."""
    mark = thread.read_at(side)
    thread.unread_count = sum(  # type: ignore[attr-defined]  # what the list annotates
        m.side != side and (mark is None or m.created_at > mark) for m in thread.messages.all()
    )
    return thread


def _thread_of(request: ApiRequest, thread_id: int) -> tuple[Thread, str]:
    """One of the caller's threads (404 for anyone else's) and the caller's side in it."""
    organisation, side = _organisation(request)
    thread = selectors.get_thread_for_organisation(organisation=organisation, thread_id=thread_id)
    return thread, side


def _supplier_order(request: ApiRequest, supplier_order_id: int) -> SupplierOrder:
    if request.supplier is not None:
        return order_selectors.get_supplier_order_for_supplier(
            supplier=request.supplier, supplier_order_id=supplier_order_id
        )
    assert request.retailer is not None  # noqa: S101  # the auth lets in one or the other
    return order_selectors.get_supplier_order_for_retailer(
        retailer=request.retailer, supplier_order_id=supplier_order_id
    )


@router.get(
    "",
    operation_id="messaging_api_list_threads",
    response={200: list[ThreadOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
)
@paginate(CursorPagination, ordering=("-last_message_at", "-id"))
def list_threads(
    request: ApiRequest,
    supplier_order_id: Annotated[
        int | None,
        Query(ge=1, le=2**63 - 1, description="Only the conversation about this supplier order."),
    ] = None,
):
    """Your conversations, latest message first, each with how many messages you have not read."""
    organisation, _ = _organisation(request)
    threads = selectors.list_threads_for_organisation(organisation=organisation)
    if supplier_order_id is not None:
        threads = threads.filter(supplier_order_id=supplier_order_id)
    return threads


@router.post(
    "",
    operation_id="messaging_api_start_thread",
    response={201: ThreadDetailOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def start_thread(request: ApiRequest, payload: StartIn):
    """Write about one of your supplier orders: the first message starts its conversation, a
    later one adds to it. 404 for a supplier order that is not yours (or, for a supplier, not
    yet paid); 400 for a blank body or an order the supplier cannot see yet."""
    organisation, side = _organisation(request)
    supplier_order = _supplier_order(request, payload.supplier_order_id)
    message = services.post_message(
        supplier_order=supplier_order, side=side, body=payload.body, author=api_actor(request)
    )
    thread = selectors.get_thread_for_organisation(
        organisation=organisation, thread_id=message.thread_id
    )
    return 201, _detail(thread, side)


@router.get(
    "/{int:thread_id}",
    operation_id="messaging_api_get_thread",
    response={200: ThreadDetailOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def get_thread(request: ApiRequest, thread_id: int):
    """One conversation with every message, its attachments and read receipts. Reading it
    does not mark it read: `POST …/read` does."""
    thread, side = _thread_of(request, thread_id)
    return _detail(thread, side)


@router.post(
    "/{int:thread_id}/messages",
    operation_id="messaging_api_post_message",
    response={201: MessageOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def post_message(request: ApiRequest, thread_id: int, payload: MessageIn):
    """Reply in one of your conversations; the other side is e-mailed a link to it."""
    thread, side = _thread_of(request, thread_id)
    message = services.post_message(
        supplier_order=thread.supplier_order,
        side=side,
        body=payload.body,
        author=api_actor(request),
    )
    thread.refresh_from_db()
    return 201, _message_out(thread, message)


@router.post(
    "/{int:thread_id}/read",
    operation_id="messaging_api_mark_read",
    response={200: ThreadOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def mark_read(request: ApiRequest, thread_id: int):
    """Mark the conversation read up to now; the others see the receipt. Safe to repeat."""
    thread, side = _thread_of(request, thread_id)
    services.mark_thread_read(thread=thread, side=side)
    return _detail(thread, side)


@router.get(
    "/{int:thread_id}/attachments/{int:attachment_id}",
    operation_id="messaging_api_get_attachment",
    url_name="messaging_api_get_attachment",
    response={200: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def get_attachment(request: ApiRequest, thread_id: int, attachment_id: int):
    """The file as it was uploaded (a PDF or a JPEG, PNG or WebP image)."""
    attachment = selectors.get_attachment_for_viewer(
        attachment_id=attachment_id, retailer=request.retailer, supplier=request.supplier
    )
    if attachment.message.thread_id != thread_id:
        raise Http404("No such attachment.")
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
