"""Tracking propagation (DESIGN flow 4): each shipment becomes one fulfilment in the store.

A shipment is pushed through a durable `OutboundPush` (kind STORE_FULFILLMENT, one per shipment):
it survives a crash, is retried with exponential backoff by the outbound-push sweeper (beat,
every minute) while the store is down, and shows its state on the shipment (push_status PENDING /
PUSHED / FAILED with the last error) on the supplier's and retailer's pages and in the admin.

Shopify gets a fulfillment for exactly the shipped lines and quantities with the tracking number
and URL, customer notified; WooCommerce gets a customer note and the shipment in the order meta,
and the order is completed once every line has shipped. Idempotent: the store's fulfilment id is
recorded on the shipment and a shipment that has one is never sent again; a retry first looks in
the store for the fulfilment an earlier attempt may have created (by tracking number), and the
clients never resend a write whose answer was lost without looking first (StoreAnswerLostError,
`integrations.base.write_once`). A WooCommerce shipment half-written by a killed worker (the note
sent, the meta-data not) is completed by the next attempt, never e-mailed twice.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from dropship.accounts.models import User
from dropship.core.errors import DomainError, PermanentError, TemporaryError
from integrations.base import (
    FulfillmentData,
    FulfillmentLine,
    FulfillmentResult,
    StoreFulfillmentHeldError,
)
from integrations.models import OutboundPush
from integrations.registry import get_store_client
from integrations.services import (
    PushDeferredError,
    create_outbound_push,
    register_sender,
    resume_deferred_pushes,
    send_outbound_push,
)
from orders.carriers import CARRIERS
from orders.models import OrderItem, Shipment
from orders.services.timeline import EventKind, record_event
from retailers.models import Store
from retailers.services.stores import reconnect_on_auth_error

KIND = OutboundPush.Kind.STORE_FULFILLMENT


def push_key(shipment_id: int) -> str:
    return f"store-fulfillment:shipment:{shipment_id}"


def queue_tracking_push(*, shipment: Shipment) -> OutboundPush | None:
    """Record the push for a new shipment; it is sent after the caller's transaction commits.

    A CUSTOM store is not called by Dropship: its retailer reads the tracking from the API
    (`GET /api/v1/orders/{id}/status`), so the shipment is marked delivered to it at once.
    """
    supplier_order = shipment.supplier_order
    store = supplier_order.order.store
    if store.platform == store.Platform.CUSTOM:
        now = timezone.now()
        Shipment.objects.filter(pk=shipment.pk).update(
            push_status=Shipment.PushStatus.PUSHED, push_error="", pushed_at=now, updated_at=now
        )
        record_event(
            order=supplier_order.order,
            supplier_order=supplier_order,
            kind=EventKind.TRACKING_PUSHED,
            message=f"Tracking {shipment.tracking_number} is available to {store.name} "
            "through the API.",
        )
        return None
    return create_outbound_push(
        kind=KIND,
        idempotency_key=push_key(shipment.pk),
        store=supplier_order.order.store,
        supplier=supplier_order.supplier,
        supplier_order=supplier_order,
        shipment=shipment,
    )


class TrackingPushError(DomainError):
    pass


def retry_tracking_push(*, shipment: Shipment, actor: User | None = None) -> OutboundPush | None:
    """Send a pending or failed push again now (the "Retry now" button and the admin action)."""
    if shipment.push_status == Shipment.PushStatus.PUSHED:
        raise TrackingPushError(f"Tracking {shipment.tracking_number} is already in the store.")
    with transaction.atomic():
        push = queue_tracking_push(shipment=shipment)
        if push is None:
            return None
        push = OutboundPush.objects.select_for_update().get(pk=push.pk)
        if push.status == OutboundPush.Status.SENDING:
            raise TrackingPushError("The push is being sent right now.")
        push.status = OutboundPush.Status.PENDING
        push.next_attempt_at = timezone.now()
        if push.attempts >= push.max_attempts:
            push.max_attempts = push.attempts + 6  # a manual retry earns a few more attempts
        push.save(update_fields=["status", "next_attempt_at", "max_attempts", "updated_at"])
        Shipment.objects.filter(pk=shipment.pk).update(push_status=Shipment.PushStatus.PENDING)
    return push


def push_shipment_now(*, shipment_id: int) -> Shipment:
    """Send the shipment's push if it is due (what the task runs); returns the shipment."""
    shipment = Shipment.objects.select_related("supplier_order__order__store").get(pk=shipment_id)
    if not shipment.store_fulfillment_id:
        push = OutboundPush.objects.filter(idempotency_key=push_key(shipment.pk)).first()
        if push is None:
            with transaction.atomic():
                push = queue_tracking_push(shipment=shipment)
        if push is not None:
            send_outbound_push(push_id=push.pk)
        shipment.refresh_from_db()
    return shipment


def build_fulfillment(shipment: Shipment) -> FulfillmentData:
    supplier_order = shipment.supplier_order
    order = supplier_order.order
    lines = tuple(
        FulfillmentLine(store_line_id=item.order_item.store_line_id, quantity=item.quantity)
        for item in shipment.items.select_related("order_item").order_by("order_item_id")
    )
    live = order.items.exclude(status=OrderItem.Status.CANCELLED)
    is_complete = not live.exclude(status=OrderItem.Status.SHIPPED).exists()
    carrier = CARRIERS.get(shipment.carrier)
    return FulfillmentData(
        store_order_id=order.store_order_id,
        lines=lines,
        carrier=carrier.name if carrier else shipment.carrier,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        notify_customer=True,
        is_order_complete=is_complete,
    )


@register_sender(KIND)
def send_store_fulfillment(push: OutboundPush) -> None:
    """The OutboundPush sender: create the store fulfilment once, record its id and state."""
    if push.shipment_id is None:
        raise PermanentError("This push names no shipment to send to the store.")
    shipment = Shipment.objects.select_related(
        "supplier_order__order__store", "supplier_order__supplier"
    ).get(pk=push.shipment_id)
    if shipment.store_fulfillment_id:
        return  # already in the store: never a second fulfilment
    supplier_order = shipment.supplier_order
    order = supplier_order.order
    try:
        client = get_store_client(store=order.store)
        with reconnect_on_auth_error(store=order.store):
            existing = ""
            if push.attempts > 1:  # an earlier attempt may have landed before we could record it
                existing = client.find_fulfillment(
                    store_order_id=order.store_order_id, tracking_number=shipment.tracking_number
                )
            result = (
                FulfillmentResult(store_fulfillment_id=existing)
                if existing
                else client.create_fulfillment(fulfillment=build_fulfillment(shipment))
            )
    except StoreFulfillmentHeldError as exc:
        _record_hold(shipment, exc.reason)
        raise PushDeferredError(str(exc), retry_after=exc.retry_after or 0) from exc
    except TemporaryError as exc:
        gave_up = push.attempts >= push.max_attempts
        _record_failure(shipment, f"Attempt {push.attempts}: {exc}", gave_up=gave_up)
        raise
    except (PermanentError, DomainError) as exc:
        _record_failure(shipment, str(exc) or type(exc).__name__, gave_up=True)
        raise PermanentError(str(exc)) from exc
    now = timezone.now()
    with transaction.atomic():
        Shipment.objects.filter(pk=shipment.pk).update(
            store_fulfillment_id=result.store_fulfillment_id[:100],
            push_status=Shipment.PushStatus.PUSHED,
            push_error="",
            pushed_at=now,
            updated_at=now,
        )
        record_event(
            order=order,
            supplier_order=supplier_order,
            kind=EventKind.TRACKING_PUSHED,
            message=(
                f"Tracking {shipment.tracking_number} sent to {order.store.name} "
                f"({order.store.get_platform_display()})."
            ),
        )


def _record_hold(shipment: Shipment, reason: str) -> None:
    """The store holds the shipped lines: the shipment says so (HELD, with the reason) and the
    timeline records it once per hold, for the retailer and support to act on."""
    supplier_order = shipment.supplier_order
    with transaction.atomic():
        changed = (
            Shipment.objects.filter(pk=shipment.pk)
            .exclude(push_status=Shipment.PushStatus.HELD, push_error=reason[:2000])
            .update(
                push_status=Shipment.PushStatus.HELD,
                push_error=reason[:2000],
                updated_at=timezone.now(),
            )
        )
        if changed:
            record_event(
                order=supplier_order.order,
                supplier_order=supplier_order,
                kind=EventKind.TRACKING_HELD,
                message=f"Tracking {shipment.tracking_number} waits: {reason} It is sent to "
                "the store once the hold is released.",
            )


def resume_held_pushes(*, store: Store) -> int:
    """The store released a hold (or a scheduled fulfilment opened): send the store's held
    tracking pushes now. Those still held go back to waiting, with their reason."""
    push_ids = list(
        OutboundPush.objects.filter(
            kind=KIND, store=store, shipment__push_status=Shipment.PushStatus.HELD
        ).values_list("pk", flat=True)
    )
    return resume_deferred_pushes(push_ids=push_ids)


def _record_failure(shipment: Shipment, error: str, *, gave_up: bool) -> None:
    supplier_order = shipment.supplier_order
    status = Shipment.PushStatus.FAILED if gave_up else Shipment.PushStatus.PENDING
    with transaction.atomic():
        Shipment.objects.filter(pk=shipment.pk).update(
            push_status=status, push_error=error[:2000], updated_at=timezone.now()
        )
        if gave_up:
            record_event(
                order=supplier_order.order,
                supplier_order=supplier_order,
                kind=EventKind.TRACKING_FAILED,
                message=f"Tracking {shipment.tracking_number} could not be sent to the store: "
                f"{error}",
            )
