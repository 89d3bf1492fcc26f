"""Handing a paid supplier order to its supplier over the supplier's channel.

- DASHBOARD: it appears in the supplier's orders list, with a notification and an email.
- WEBHOOK: a signed JSON POST to the supplier's endpoint (`integrations.supplier_channel`),
  recorded as an `OutboundPush` so it survives crashes and is retried with backoff (admin shows it).
- EMAIL: an email to the supplier's order address with the packing slip PDF attached; the slip
  carries the retailer's brand (name, logo, message), never the supplier's.

`dispatch_supplier_order` moves PAID → SENT with one conditional UPDATE, so running it twice (a
retried task, the sweeper) sends once. Cancellations go out over the same channel.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Notification, User
from dropship.accounts.services import email_organisation, email_organisations, notify
from dropship.core.errors import PermanentError, TemporaryError
from integrations import supplier_channel
from integrations.models import OutboundPush
from integrations.services import create_outbound_push, register_sender
from orders.models import OrderEvent, OrderItem, SupplierOrder
from orders.packing_slip import address_lines, packing_slip_pdf
from orders.services.timeline import EventKind
from suppliers.models import Supplier

logger = logging.getLogger(__name__)
Channel = Supplier.OrderChannel


def supplier_order_payload(
    *, supplier_order: SupplierOrder, event: str, reason: str = ""
) -> dict[str, Any]:
    order = supplier_order.order
    retailer = order.retailer
    items = (
        OrderItem.objects.filter(supplier_order=supplier_order)
        .select_related("variant")
        .order_by("pk")
    )
    payload = {
        "event": event,
        "supplier_order": {
            "id": supplier_order.pk,
            "number": supplier_order.number,
            "order_number": order.number,
            "status": supplier_order.status,
            "currency": supplier_order.currency,
            "wholesale_total": str(supplier_order.wholesale_total),
            "shipping_total": str(supplier_order.shipping_total),
            "placed_at": order.placed_at.isoformat() if order.placed_at else None,
            "ship_to": {
                key: (order.shipping_address or {}).get(key, "")
                for key in (
                    "name",
                    "company",
                    "address1",
                    "address2",
                    "city",
                    "province",
                    "zip",
                    "country",
                    "country_code",
                    "phone",
                )
            },
            "brand": {
                "name": retailer.display_brand,
                "packing_slip_message": retailer.packing_slip_message,
            },
            "items": [
                {
                    "id": item.pk,
                    "sku": item.variant.sku if item.variant else item.sku,
                    "title": item.title,
                    "options": item.variant.options if item.variant else {},
                    "quantity": item.quantity,
                    "wholesale_unit_price": str(item.wholesale_unit_price or ""),
                }
                for item in items
            ],
        },
    }
    if reason:
        payload["reason"] = reason
    return payload


def _channel(supplier: Supplier) -> str:
    if supplier.order_channel == Channel.WEBHOOK and supplier.webhook_url:
        return Channel.WEBHOOK
    if supplier.order_channel == Channel.EMAIL and (supplier.order_email or supplier.contact_email):
        return Channel.EMAIL
    return Channel.DASHBOARD


def dispatch_supplier_order(
    *,
    supplier_order: SupplierOrder,
    actor: User | None = None,
    events: list[OrderEvent] | None = None,
) -> bool:
    """PAID → SENT over the supplier's channel, once; False when it was not PAID (already sent,
    cancelled, unpaid). Must run in a transaction or autocommit; side effects follow its commit."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        moved = SupplierOrder.objects.filter(
            pk=supplier_order.pk, status=SupplierOrder.Status.PAID
        ).update(status=SupplierOrder.Status.SENT, sent_at=now, updated_at=now)
        if not moved:
            return False
        supplier_order.status, supplier_order.sent_at = SupplierOrder.Status.SENT, now
        sent_events: list[OrderEvent] = []
        announce_sent_supplier_orders(
            supplier_orders=[supplier_order], events=sent_events, actor=actor
        )
        if events is None:
            OrderEvent.objects.bulk_create(sent_events)
        else:
            events.extend(sent_events)
    return True


def announce_sent_supplier_orders(
    *, supplier_orders: list[SupplierOrder], events: list[OrderEvent], actor: User | None = None
) -> None:
    """Hand supplier orders that are now SENT to their suppliers, each over its channel; a SENT
    event for each goes to `events`. Dashboard suppliers get their notifications in one INSERT
    and their emails over one connection after commit (the hot path sends many at once)."""
    on_dashboard: list[SupplierOrder] = []
    for supplier_order in supplier_orders:
        supplier = supplier_order.supplier
        channel = _channel(supplier)
        if channel == Channel.WEBHOOK:
            create_outbound_push(
                kind=OutboundPush.Kind.SUPPLIER_ORDER_WEBHOOK,
                idempotency_key=f"supplier-order-{supplier_order.pk}-created",
                payload=supplier_order_payload(
                    supplier_order=supplier_order, event="order.created"
                ),
                supplier=supplier,
                supplier_order=supplier_order,
            )
            how = "to its order webhook"
        elif channel == Channel.EMAIL:
            # local: tasks.py imports the services
            from orders.tasks import email_supplier_order_task

            transaction.on_commit(
                partial(email_supplier_order_task.delay, supplier_order.pk, "created")
            )
            how = "by email with the packing slip"
        else:
            on_dashboard.append(supplier_order)
            how = "to its dashboard"
        events.append(
            OrderEvent(
                order=supplier_order.order,
                supplier_order=supplier_order,
                kind=EventKind.SENT,
                message=f"{supplier_order.number} sent to {supplier.company_name} {how}."[:500],
                actor=actor,
            )
        )
    _announce_on_dashboards(supplier_orders=on_dashboard)


def _announce_on_dashboards(*, supplier_orders: list[SupplierOrder]) -> None:
    if not supplier_orders:
        return
    Notification.objects.bulk_create(
        Notification(
            supplier=supplier_order.supplier,
            kind="orders.new",
            message=f"New order {supplier_order.number} ({supplier_order.order.number}) to ship "
            f"within {_days(supplier_order.supplier.handling_days)}."[:500],
            level=Notification.Level.INFO,
        )
        for supplier_order in supplier_orders
    )
    orders_url = settings.SITE_URL + reverse("supplier_orders:list")
    email_organisations(
        emails=[
            (
                supplier_order.supplier,
                f"New order {supplier_order.number} to ship",
                f"You have a new order, {supplier_order.number}, to ship within "
                f"{_days(supplier_order.supplier.handling_days)}.\n\nOpen your orders on "
                f"Dropship to accept and ship it: {orders_url}\n",
            )
            for supplier_order in supplier_orders
        ]
    )


def _days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"


def notify_supplier_of_cancellation(*, supplier_order: SupplierOrder, reason: str) -> str:
    """Tell the supplier over its channel that a supplier order it has is cancelled."""
    supplier = supplier_order.supplier
    channel = _channel(supplier)
    if channel == Channel.WEBHOOK:
        create_outbound_push(
            kind=OutboundPush.Kind.SUPPLIER_ORDER_WEBHOOK,
            idempotency_key=f"supplier-order-{supplier_order.pk}-cancelled",
            payload=supplier_order_payload(
                supplier_order=supplier_order, event="order.cancelled", reason=reason
            ),
            supplier=supplier,
            supplier_order=supplier_order,
        )
        return "its order webhook"
    if channel == Channel.EMAIL:
        from orders.tasks import email_supplier_order_task  # local: tasks.py imports the services

        transaction.on_commit(
            partial(email_supplier_order_task.delay, supplier_order.pk, "cancelled")
        )
        return "email"
    notify(
        organisation=supplier,
        kind="orders.cancelled",
        message=f"Order {supplier_order.number} was cancelled: do not ship it. {reason}"[:500],
        level=Notification.Level.WARNING,
    )
    email_organisation(
        organisation=supplier,
        subject=f"Order {supplier_order.number} cancelled: do not ship it",
        message=f"Order {supplier_order.number} was cancelled.\n\n{reason}\n\n"
        "Its stock has been released; if you already packed it, put it back on the shelf.",
    )
    return "its dashboard"


# --- webhook channel -----------------------------------------------------------------------------
@register_sender(OutboundPush.Kind.SUPPLIER_ORDER_WEBHOOK)
def send_supplier_order_webhook(push: OutboundPush) -> None:
    """POST the stored payload, signed, to the supplier's endpoint (safe call, timeout)."""
    if push.supplier_id is None:
        raise PermanentError("This push names no supplier to send the order to.")
    supplier = Supplier.objects.get(pk=push.supplier_id)
    if not supplier.webhook_url:
        raise PermanentError(f"{supplier.company_name} has no order webhook URL any more.")
    if not supplier.webhook_secret:
        raise PermanentError(f"{supplier.company_name} has no webhook secret to sign with.")
    answer = supplier_channel.post_event(
        url=supplier.webhook_url,
        secret=supplier.webhook_secret,
        payload=push.payload or {},
        delivery_id=push.idempotency_key,
    )
    push.last_response_status = answer.status_code
    if answer.is_temporary:
        raise TemporaryError(answer.problem)
    if answer.problem:
        raise PermanentError(answer.problem)


# --- email channel -------------------------------------------------------------------------------
def email_supplier_order(*, supplier_order_id: int, kind: str) -> bool:
    supplier_order = SupplierOrder.objects.select_related("supplier", "order__retailer").get(
        pk=supplier_order_id
    )
    supplier = supplier_order.supplier
    to = supplier.order_email or supplier.contact_email
    if not to:
        return False
    order = supplier_order.order
    if kind == "cancelled":
        message = EmailMessage(
            subject=f"Cancelled: order {supplier_order.number} — do not ship",
            body=f"Order {supplier_order.number} ({order.number}) was cancelled. "
            f"{supplier_order.status_reason}\nDo not ship it.",
            to=[to],
        )
        message.send()
        return True
    lines = "\n".join(
        f"- {item.quantity} × {item.variant.sku if item.variant else item.sku} {item.title}"
        for item in supplier_order.items.select_related("variant").order_by("pk")
    )
    address = "\n".join(address_lines(order.shipping_address))
    message = EmailMessage(
        subject=f"New order {supplier_order.number} to ship",
        body=(
            f"Please ship order {supplier_order.number} within {supplier.handling_days} day(s).\n\n"
            f"Items:\n{lines}\n\nShip to:\n{address}\n\n"
            "Put the attached packing slip in the parcel. Mark it shipped with the carrier and "
            f"tracking number on Dropship: {settings.SITE_URL}{reverse('supplier_orders:list')}\n"
        ),
        to=[to],
    )
    message.attach(
        f"packing-slip-{supplier_order.number}.pdf",
        packing_slip_pdf(supplier_order=supplier_order),
        "application/pdf",
    )
    message.send()
    return True
