"""The support inbox in the staff workspace (linked from the admin index): open conversations,
the one waiting longest first, with the reply clock against MESSAGE_REPLY_SLA_HOURS; a thread
page where an agent reads, writes as "Support" (joining the conversation) and closes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dropship.core.errors import DomainError
from messaging import selectors, services
from messaging.forms import MessageForm
from messaging.models import Side, Thread
from messaging.views.common import receipts

PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueRow:
    thread: Thread
    due_at: datetime | None  # when the waiting message should have been answered
    is_overdue: bool


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _context(request: HttpRequest, title: str) -> dict:
    return {**admin.site.each_context(request), "title": title}


@require_GET
@staff_member_required
def inbox(request: HttpRequest) -> HttpResponse:
    _require(request, "messaging.view_thread")
    now = timezone.now()
    sla = timedelta(hours=settings.MESSAGE_REPLY_SLA_HOURS)
    page = Paginator(selectors.list_open_threads_for_support(), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = []
    for thread in page:
        due_at = thread.waiting_since + sla if thread.waiting_since else None
        rows.append(
            QueueRow(thread=thread, due_at=due_at, is_overdue=due_at is not None and due_at < now)
        )
    return render(
        request,
        "messaging/support_inbox.html",
        {
            **_context(request, "Support inbox"),
            "page": page,
            "rows": rows,
            "sla_hours": settings.MESSAGE_REPLY_SLA_HOURS,
            "now": now,
        },
    )


@require_http_methods(["GET", "POST"])
@staff_member_required
def thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    _require(request, "messaging.view_thread")
    found = selectors.get_thread_for_staff(thread_id=thread_id)
    form = MessageForm()
    status = 200
    if request.method == "POST":
        _require(request, "messaging.add_message")
        form = MessageForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.post_message(
                    supplier_order=found.supplier_order,
                    side=Side.SUPPORT,
                    body=form.cleaned_data["body"],
                    author=request.user,  # type: ignore[arg-type]
                    files=form.cleaned_data["attachments"],
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                flash.success(request, "Message sent as Support.")
                return redirect(request.path)
        status = 400
    services.mark_thread_read(thread=found, side=Side.SUPPORT)
    return render(
        request,
        "messaging/support_thread.html",
        {
            **_context(request, f"Conversation on {found.supplier_order.number}"),
            "thread": found,
            "supplier_order": found.supplier_order,
            "messages_shown": receipts(found, side=Side.SUPPORT),
            "form": form,
            "can_reply": request.user.has_perm("messaging.add_message"),
            "can_close": request.user.has_perm("messaging.change_thread"),
        },
        status=status,
    )


@require_POST
@staff_member_required
def close(request: HttpRequest, thread_id: int) -> HttpResponse:
    _require(request, "messaging.change_thread")
    found = selectors.get_thread_for_staff(thread_id=thread_id)
    services.close_thread(thread=found, actor=request.user)  # type: ignore[arg-type]
    flash.success(request, f"Conversation on {found.supplier_order.number} closed.")
    return redirect("messaging:support_inbox")
