"""Writes of messages: post one (the thread is started by its first message), mark a thread
read for one side, close a thread (support).

Everything a message needs is checked before anything is written (the body, the attachments'
size and type by their content, whether the supplier can see the order yet); the message, its
attachments and the thread's marks are written in one transaction under the thread's row lock,
and the other side is e-mailed a link back to the thread after it commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import User
from dropship.accounts.services import email_organisations
from dropship.core.audit import record_audit
from dropship.core.errors import DomainError
from dropship.core.uploads import FileKind, check_attachment
from messaging.models import Attachment, Message, Side, Thread
from orders.models import SupplierOrder
from orders.selectors import VISIBLE
from retailers.models import Retailer
from suppliers.models import Supplier

MAX_BODY = 5000
MAX_ATTACHMENTS = 5
EMAIL_EXCERPT = 1000


class MessageError(DomainError):
    pass


def thread_path(*, supplier_order_id: int, side: str, thread_id: int | None = None) -> str:
    """Where each side reads a supplier order's thread on this site."""
    if side == Side.RETAILER:
        return reverse("messaging:retailer_thread", args=[supplier_order_id])
    if side == Side.SUPPLIER:
        return reverse("messaging:supplier_thread", args=[supplier_order_id])
    return reverse("messaging:support_thread", args=[thread_id])


def _checked_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise MessageError("Write a message: it is empty.", field="body")
    if len(body) > MAX_BODY:
        raise MessageError(
            f"The message is {len(body)} characters long; the limit is {MAX_BODY}.", field="body"
        )
    return body


def _checked_files(
    files: Sequence[UploadedFile[bytes]],
) -> list[tuple[UploadedFile[bytes], FileKind]]:
    if len(files) > MAX_ATTACHMENTS:
        raise MessageError(
            f"{len(files)} files attached; a message takes at most {MAX_ATTACHMENTS}.",
            field="attachments",
        )
    return [(uploaded, check_attachment(uploaded)) for uploaded in files]


def _lock_thread(*, supplier_order: SupplierOrder, now: datetime, side: str) -> Thread:
    thread, _ = Thread.objects.get_or_create(
        supplier_order=supplier_order,
        defaults={
            "retailer_id": supplier_order.order.retailer_id,
            "supplier_id": supplier_order.supplier_id,
            "created_at": now,
            "last_message_at": now,
            "last_message_side": side,
        },
    )
    return Thread.objects.select_for_update().get(pk=thread.pk)


@transaction.atomic
def post_message(
    *,
    supplier_order: SupplierOrder,
    side: str,
    body: str,
    author: User | None = None,
    files: Sequence[UploadedFile[bytes]] = (),
) -> Message:
    """Post a message on the supplier order's thread as `side` (the thread starts with its first
    message). Support joins by posting; a closed thread opens again."""
    if side not in Side.values:
        raise MessageError(f"“{side}” is not a side of a conversation.", field="side")
    body = _checked_body(body)
    checked = _checked_files(files)
    if side != Side.SUPPORT and supplier_order.status not in VISIBLE:
        raise MessageError(
            "The supplier sees this order once it is paid; send your message then.",
            field="body",
        )
    now = timezone.now()
    thread = _lock_thread(supplier_order=supplier_order, now=now, side=side)
    message = Message.objects.create(
        thread=thread, side=side, author=author, body=body, created_at=now
    )
    for uploaded, kind in checked:
        attachment = Attachment(
            message=message,
            name=(uploaded.name or "attachment")[-200:],
            content_type=kind.content_type,
            size=uploaded.size or 0,
        )
        attachment.file.save(f"{uuid.uuid4().hex}{kind.extensions[0]}", uploaded, save=False)
        attachment.save()
    _after_message(thread=thread, message=message, author=author)
    _email_parties(thread=thread, message=message, supplier_order=supplier_order)
    return message


def _after_message(*, thread: Thread, message: Message, author: User | None) -> None:
    side, now = message.side, message.created_at
    fields = ["last_message_at", "last_message_side", "waiting_since", f"{side.lower()}_read_at"]
    if side == Side.SUPPORT:
        thread.waiting_since = None  # support answered; the parties have the word
    elif thread.waiting_since is None or thread.last_message_side != side:
        thread.waiting_since = now
    is_first_support = side == Side.SUPPORT and thread.support_joined_at is None
    if is_first_support:
        thread.support_joined_at = now
        fields.append("support_joined_at")
    if thread.status == Thread.Status.CLOSED:
        thread.status, thread.closed_at = Thread.Status.OPEN, None
        fields += ["status", "closed_at"]
    thread.last_message_at, thread.last_message_side = now, side
    setattr(thread, f"{side.lower()}_read_at", now)
    thread.save(update_fields=fields)
    if is_first_support:
        record_audit(
            actor=author,
            action="messages.support_joined",
            target=thread,
            organisation=thread.supplier_order.order.retailer,
            summary=f"Support joined the conversation on {thread.supplier_order.number}",
        )


def _email_parties(*, thread: Thread, message: Message, supplier_order: SupplierOrder) -> None:
    sender = {
        Side.RETAILER: f"{supplier_order.order.retailer.business_name} (retailer)",
        Side.SUPPLIER: f"{supplier_order.supplier.company_name} (supplier)",
        Side.SUPPORT: "Dropship support",
    }[Side(message.side)]
    excerpt = message.body[:EMAIL_EXCERPT] + ("…" if len(message.body) > EMAIL_EXCERPT else "")
    attached = message.attachments.count()
    emails: list[tuple[Supplier | Retailer, str, str]] = []
    recipients: list[tuple[Supplier | Retailer, str]] = []
    if message.side != Side.RETAILER:
        recipients.append((supplier_order.order.retailer, Side.RETAILER))
    if message.side != Side.SUPPLIER:
        recipients.append((supplier_order.supplier, Side.SUPPLIER))
    for organisation, side in recipients:
        link = settings.SITE_URL + thread_path(supplier_order_id=supplier_order.pk, side=side)
        emails.append(
            (
                organisation,
                f"New message from {sender} about order {supplier_order.number}",
                f"{sender} wrote about order {supplier_order.number}:\n\n{excerpt}\n\n"
                + (
                    f"({attached} file{'s' if attached != 1 else ''} attached)\n\n"
                    if attached
                    else ""
                )
                + f"Read and reply: {link}\n",
            )
        )
    email_organisations(emails=emails)


def mark_thread_read(*, thread: Thread, side: str, now: datetime | None = None) -> bool:
    """Move `side`'s read mark to now when a message arrived since it; False when nothing was
    unread (nothing written, so reading again is free)."""
    field = f"{Side(side).lower()}_read_at"
    now = now or timezone.now()
    updated = (
        Thread.objects.filter(pk=thread.pk)
        .filter(Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": F("last_message_at")}))
        .update(**{field: now})
    )
    if updated:
        setattr(thread, field, now)
    return bool(updated)


@transaction.atomic
def close_thread(*, thread: Thread, actor: User | None) -> Thread:
    """Support closes a settled conversation: it leaves the open list until someone writes."""
    locked = Thread.objects.select_for_update().get(pk=thread.pk)
    if locked.status == Thread.Status.CLOSED:
        return locked
    locked.status, locked.closed_at, locked.waiting_since = (
        Thread.Status.CLOSED,
        timezone.now(),
        None,
    )
    locked.save(update_fields=["status", "closed_at", "waiting_since"])
    record_audit(
        actor=actor,
        action="messages.thread_closed",
        target=locked,
        organisation=locked.retailer,
        summary=f"Conversation on {locked.supplier_order} closed by support",
    )
    return locked
