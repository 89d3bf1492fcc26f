"""Reads of message threads, always scoped to the caller: a retailer reads the threads of its own
supplier orders, a supplier those of the orders it can see, staff every thread. Anyone else's
thread or attachment is not found (404)."""

from __future__ import annotations

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from messaging.models import Attachment, Message, Side, Thread
from orders.selectors import VISIBLE
from retailers.models import Retailer
from suppliers.models import Supplier


def _unread_filter(side: str, *, from_thread: bool) -> Q:
    """Messages from another side after `side`'s read mark; the paths as seen from a Thread
    (`messages__...`, the mark on the row itself) or from a Message (the mark on its thread)."""
    message, mark = ("messages__", "") if from_thread else ("", "thread__")
    mark += f"{side.lower()}_read_at"
    return ~Q(**{f"{message}side": side}) & (
        Q(**{f"{mark}__isnull": True}) | Q(**{f"{message}created_at__gt": F(mark)})
    )


def _with_unread(threads: QuerySet[Thread], side: str) -> QuerySet[Thread]:
    return threads.annotate(
        unread_count=Count("messages", filter=_unread_filter(side, from_thread=True))
    )


def _for_organisation(organisation: Retailer | Supplier) -> tuple[QuerySet[Thread], str]:
    if isinstance(organisation, Supplier):
        return (
            Thread.objects.filter(supplier=organisation, supplier_order__status__in=VISIBLE),
            Side.SUPPLIER,
        )
    return Thread.objects.filter(retailer=organisation), Side.RETAILER


def list_threads_for_organisation(*, organisation: Retailer | Supplier) -> QuerySet[Thread]:
    """The organisation's threads, latest message first, each with its `unread_count`."""
    threads, side = _for_organisation(organisation)
    return _with_unread(
        threads.select_related("supplier_order__order", "supplier", "retailer"), side
    ).order_by("-last_message_at", "-id")


def count_unread_messages(*, organisation: Retailer | Supplier) -> int:
    """Messages from the other side (and support) the organisation has not read: one COUNT."""
    threads, side = _for_organisation(organisation)
    return (
        Message.objects.filter(thread__in=threads)
        .filter(_unread_filter(side, from_thread=False))
        .count()
    )


def get_thread_of_supplier_order(*, supplier_order_id: int) -> Thread | None:
    """The thread with its messages and their attachments (None before the first message)."""
    return (
        Thread.objects.select_related("supplier_order__order__retailer", "supplier")
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=Message.objects.select_related("author").prefetch_related("attachments"),
            )
        )
        .filter(supplier_order_id=supplier_order_id)
        .first()
    )


def get_thread_for_organisation(*, organisation: Retailer | Supplier, thread_id: int) -> Thread:
    threads, _ = _for_organisation(organisation)
    thread = get_object_or_404(threads, pk=thread_id)
    found = get_thread_of_supplier_order(supplier_order_id=thread.supplier_order_id)
    assert found is not None  # noqa: S101  # just read it
    return found


def get_thread_for_staff(*, thread_id: int) -> Thread:
    thread = get_object_or_404(Thread.objects.only("supplier_order_id"), pk=thread_id)
    found = get_thread_of_supplier_order(supplier_order_id=thread.supplier_order_id)
    assert found is not None  # noqa: S101  # just read it
    return found


def list_open_threads_for_support() -> QuerySet[Thread]:
    """Open threads, the one waiting longest for an answer first, then the oldest; each with
    the number of messages support has not read."""
    return _with_unread(
        Thread.objects.filter(status=Thread.Status.OPEN).select_related(
            "supplier_order", "retailer", "supplier"
        ),
        Side.SUPPORT,
    ).order_by(F("waiting_since").asc(nulls_last=True), "created_at", "id")


def get_attachment_for_viewer(
    *,
    attachment_id: int,
    retailer: Retailer | None = None,
    supplier: Supplier | None = None,
    is_staff: bool = False,
) -> Attachment:
    """An attachment for a party of its thread or staff; 404 for everyone else."""
    attachment = get_object_or_404(
        Attachment.objects.select_related("message__thread__supplier_order"), pk=attachment_id
    )
    thread = attachment.message.thread
    if is_staff:
        return attachment
    if retailer is not None and thread.retailer_id == retailer.pk:
        return attachment
    if (
        supplier is not None
        and thread.supplier_id == supplier.pk
        and thread.supplier_order.status in VISIBLE
    ):
        return attachment
    raise Http404("No such attachment.")
