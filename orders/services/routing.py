"""Paying for routed supplier orders and handing the paid ones to dispatch.

Billing takes the money; the pipeline moves the supplier orders. A retailer on payment terms is
paid at once, so the supplier orders of a new order are born paid and SENT and their charges
written in bulk (`billing.services.pay_new_supplier_orders_on_terms`), inline, in the order's own
transaction (the webhook hot path: one task does everything). Every other retailer pays by card:
Stripe must not be called inside our transaction, so one task per order pays
(`orders.services.payment.pay_supplier_order`) and dispatches after commit. A sweeper
(`sweep_undispatched_supplier_orders`) finds supplier orders left PAID but not SENT, or PENDING
with no payment attempt, by a worker that died or a message that was lost.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from billing.services import pay_new_supplier_orders_on_terms
from dropship.accounts.models import User
from orders.models import Order, OrderEvent, SupplierOrder
from orders.services.dispatch import announce_sent_supplier_orders, dispatch_supplier_order
from orders.services.payment import pay_supplier_order
from orders.services.timeline import EventKind, record_event, refresh_order_status
from orders.status import derive_order_status

logger = logging.getLogger(__name__)

PENDING_GRACE = timedelta(minutes=5)
PAID_GRACE = timedelta(minutes=1)


def settle_supplier_orders(
    *,
    order: Order,
    supplier_orders: list[SupplierOrder],
    actor: User | None = None,
    item_statuses: list[str] | None = None,
    events: list[OrderEvent] | None = None,
) -> None:
    """Pay and dispatch supplier orders the caller has just created in its open transaction:
    at once for a retailer on payment terms, else by one task after commit (card).

    `events`: timeline events the caller has not written yet; they are written with these in
    one INSERT. `item_statuses`: a brand-new order's item statuses, when `supplier_orders` are
    all it has; its status is then derived in memory (the same rule as refresh_order_status)."""
    from orders.tasks import pay_and_dispatch_order_task  # local: tasks.py imports the services

    events = list(events or ())
    if supplier_orders and order.retailer.has_payment_terms:
        _pay_and_send_on_terms(
            order=order, supplier_orders=supplier_orders, events=events, actor=actor
        )
    elif supplier_orders:
        transaction.on_commit(partial(pay_and_dispatch_order_task.delay, order.pk))
    if events:
        OrderEvent.objects.bulk_create(events)
    if item_statuses is None:
        refresh_order_status(order=order)
        return
    status = derive_order_status(
        supplier_order_statuses=[supplier_order.status for supplier_order in supplier_orders],
        item_statuses=item_statuses,
    )
    if status != order.status:
        Order.objects.filter(pk=order.pk).update(status=status, updated_at=timezone.now())
        order.status = status


def _pay_and_send_on_terms(
    *,
    order: Order,
    supplier_orders: list[SupplierOrder],
    events: list[OrderEvent],
    actor: User | None,
) -> None:
    """The hot path for a retailer on terms: the supplier orders were born SENT by
    `build_supplier_orders` in this transaction; their charges and ledger movements are one
    INSERT each and the suppliers are told in bulk. Nobody else can see these rows yet, so
    there is nothing to lock or to find paid before."""
    if any(
        supplier_order.status != SupplierOrder.Status.SENT for supplier_order in supplier_orders
    ):
        raise RuntimeError(
            "Supplier orders paid on terms are created SENT by build_supplier_orders."
        )
    pay_new_supplier_orders_on_terms(supplier_orders=supplier_orders, retailer=order.retailer)
    for supplier_order in supplier_orders:
        supplier_order.order = order
        events.append(
            OrderEvent(
                order=order,
                supplier_order=supplier_order,
                kind=EventKind.PAID,
                message=_paid_message(supplier_order, "on payment terms"),
                actor=actor,
            )
        )
    announce_sent_supplier_orders(supplier_orders=supplier_orders, events=events, actor=actor)


def _paid_message(supplier_order: SupplierOrder, how: str) -> str:
    return f"{supplier_order.number} paid {how}: {supplier_order.total} {supplier_order.currency}."


def _event(events: list[OrderEvent] | None, **fields: Any) -> None:
    if events is None:
        record_event(**fields)
    else:
        fields["message"] = fields["message"][:500]
        events.append(OrderEvent(**fields))


def pay_and_dispatch_supplier_order(
    *,
    supplier_order: SupplierOrder,
    actor: User | None = None,
    events: list[OrderEvent] | None = None,
) -> bool:
    """Pay (once) and, when paid, dispatch; True when it is now with the supplier.
    Timeline events go to `events` (for one bulk insert) when given.

    Raises billing's StripeTemporaryError when Stripe cannot answer (the task retries)."""
    if supplier_order.status == SupplierOrder.Status.PENDING:
        result = pay_supplier_order(supplier_order=supplier_order)
        if result.paid_now:
            how = (
                "on payment terms"
                if result.charge is not None and result.charge.method == "TERMS"
                else f"by card{f' ({result.charge.card_label})' if result.charge and result.charge.card_label else ''}"
            )
            _event(
                events,
                order=supplier_order.order,
                supplier_order=supplier_order,
                kind=EventKind.PAID,
                message=_paid_message(supplier_order, how),
                actor=actor,
            )
        if not result.is_paid:
            if result.supplier_order.status == SupplierOrder.Status.PAYMENT_FAILED:
                _event(
                    events,
                    order=supplier_order.order,
                    supplier_order=supplier_order,
                    kind=EventKind.PAYMENT_FAILED,
                    message=f"{supplier_order.number} is on hold: payment failed. {result.message}",
                    actor=actor,
                )
            supplier_order.status = result.supplier_order.status
            return False
        supplier_order.status = result.supplier_order.status
        supplier_order.paid_at = result.supplier_order.paid_at
    if supplier_order.status != SupplierOrder.Status.PAID:
        return supplier_order.status in (
            SupplierOrder.Status.SENT,
            SupplierOrder.Status.ACCEPTED,
            SupplierOrder.Status.SHIPPED,
            SupplierOrder.Status.DELIVERED,
        )
    return dispatch_supplier_order(supplier_order=supplier_order, actor=actor, events=events)


def pay_and_dispatch_order(*, order_id: int) -> list[str]:
    """Every supplier order of the order that is waiting for payment or dispatch (safe twice).
    Called outside a transaction: each payment commits before Stripe is called."""
    order = Order.objects.select_related("retailer", "store").get(pk=order_id)
    supplier_orders = list(
        order.supplier_orders.filter(
            status__in=[SupplierOrder.Status.PENDING, SupplierOrder.Status.PAID]
        )
        .select_related("supplier")
        .order_by("pk")
    )
    for supplier_order in supplier_orders:
        supplier_order.order = order
        pay_and_dispatch_supplier_order(supplier_order=supplier_order)
    refresh_order_status(order=order)
    return [supplier_order.status for supplier_order in supplier_orders]


def sweep_undispatched_supplier_orders(*, now: datetime | None = None) -> int:
    """Re-enqueue orders whose supplier orders a dead worker or a lost message left behind:
    PAID but not SENT for a minute, or PENDING (never paid, never failed) for five."""
    from orders.tasks import pay_and_dispatch_order_task  # local: tasks.py imports the services

    now = now or timezone.now()
    order_ids = set(
        SupplierOrder.objects.filter(
            status=SupplierOrder.Status.PAID, updated_at__lt=now - PAID_GRACE
        ).values_list("order_id", flat=True)[:500]
    ) | set(
        SupplierOrder.objects.filter(
            status=SupplierOrder.Status.PENDING, created_at__lt=now - PENDING_GRACE
        ).values_list("order_id", flat=True)[:500]
    )
    for order_id in sorted(order_ids):
        transaction.on_commit(partial(pay_and_dispatch_order_task.delay, order_id))
    return len(order_ids)
