"""What the retailer's and the supplier's message pages share: the inbox and one supplier
order's thread (read, post, read receipts). Thin: parse, call one service, render."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dropship.accounts.access import VIEW_AS_ATTR
from dropship.core.errors import DomainError
from messaging import selectors, services
from messaging.forms import MessageForm
from messaging.models import Side, Thread
from orders.models import SupplierOrder
from retailers.models import Retailer
from suppliers.models import Supplier

PAGE_SIZE = 25
READER_LABELS = {Side.RETAILER: "retailer", Side.SUPPLIER: "supplier", Side.SUPPORT: "support"}


def receipts(thread: Thread, *, side: str) -> list[Any]:
    """The thread's messages, those of `side` carrying who has read them and when (the
    other parties' read marks at or after the message)."""
    readers = [Side.RETAILER, Side.SUPPLIER] + ([Side.SUPPORT] if thread.has_support else [])
    messages = list(thread.messages.all())
    for message in messages:
        read_by: list[tuple[str, datetime]] = []
        if message.side == side:
            for reader in readers:
                mark = thread.read_at(reader)
                if reader != side and mark is not None and mark >= message.created_at:
                    read_by.append((READER_LABELS[reader], mark))
        message.read_by = read_by  # type: ignore[attr-defined]
    return messages


def inbox(request: HttpRequest, *, organisation: Retailer | Supplier, side: str) -> HttpResponse:
    threads = selectors.list_threads_for_organisation(organisation=organisation)
    page = Paginator(threads, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "messaging/inbox.html", {"page": page, "side": side})


def thread_page(request: HttpRequest, *, supplier_order: SupplierOrder, side: str) -> HttpResponse:
    """GET shows the thread (and marks it read, unless support is only viewing as the
    organisation); POST sends a message and shows the thread again."""
    form = MessageForm()
    status = 200
    if request.method == "POST":
        form = MessageForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.post_message(
                    supplier_order=supplier_order,
                    side=side,
                    body=form.cleaned_data["body"],
                    author=request.user,  # type: ignore[arg-type]
                    files=form.cleaned_data["attachments"],
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                if not request.htmx:  # type: ignore[attr-defined]
                    flash.success(request, "Message sent.")
                    return redirect(request.path)
                form = MessageForm()
        if form.errors:
            status = 400
    thread = selectors.get_thread_of_supplier_order(supplier_order_id=supplier_order.pk)
    if thread is not None and getattr(request, VIEW_AS_ATTR, None) is None:
        services.mark_thread_read(thread=thread, side=side)
    context = {
        "supplier_order": supplier_order,
        "thread": thread,
        "messages_shown": receipts(thread, side=side) if thread else [],
        "form": form,
        "side": side,
    }
    template = "messaging/_conversation.html" if request.htmx else "messaging/thread.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)
