"""After the parcel leaves: carrier tracking, delivery, and what delivery sets off.

- Every shipment with a tracking number gets a tracker at the tracking provider
  (`register_tracker`, a task after the shipping transaction commits; a shipment that has one is
  never registered again, and the provider answers the same tracker for the same code).
- The provider's signed `tracker.updated` webhooks come through the inbox
  (orders/webhooks/carrier.py) and carry the parcel's whole history; parcels that go quiet are
  read back by a beat job (`poll_quiet_parcels`, batched, each call with a timeout).
- Each carrier scan is one `TrackingEvent`, unique per (shipment, status, carrier time), and lands
  on the order's timeline once. The parcel's status is computed from those rows alone: the latest
  by the carrier's own time, and DELIVERED once any scan says delivered (never backwards). So
  repeated and out-of-order deliveries end in the same state.
- Suppliers may report a parcel delivered (API, their webhook): the same path, source SUPPLIER.
- A delivered parcel moves its supplier order to DELIVERED once every parcel of a fully shipped
  supplier order is delivered, the order to PARTIALLY_DELIVERED / DELIVERED with `delivered_at`
  (the start of the return window), shortens the supplier's payout holdback where configured
  (billing.services.payouts.shorten_holdback_after_delivery) and tells the retailer. A parcel in
  exception or returned to sender raises the watchdog flag and tells the retailer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from billing.services.payouts import shorten_holdback_after_delivery
from dropship.accounts.models import Notification, User
from dropship.core.errors import Conflict, DomainError, NotFound, PermanentError, TemporaryError
from integrations.registry import get_tracking_client, is_tracking_enabled
from integrations.tracking import ParcelEvent, ParcelStatus, TrackerData
from orders.carriers import CARRIERS, normalise_tracking_number
from orders.models import (
    FINAL_TRACKING_STATUSES,
    Order,
    Shipment,
    SupplierOrder,
    TrackingEvent,
    TrackingStatus,
)
from orders.services.timeline import EventKind, record_event, refresh_order_status
from orders.services.watchdog import flag_supplier_order
from retailers.models import NoticeKind
from retailers.services.notices import send_retailer_notice

logger = logging.getLogger(__name__)

# Progress order: breaks ties between scans with the same carrier time.
RANK = {
    TrackingStatus.UNKNOWN: 0,
    TrackingStatus.PRE_TRANSIT: 1,
    TrackingStatus.IN_TRANSIT: 2,
    TrackingStatus.AVAILABLE_FOR_PICKUP: 3,
    TrackingStatus.OUT_FOR_DELIVERY: 4,
    TrackingStatus.EXCEPTION: 5,
    TrackingStatus.RETURNED: 6,
    TrackingStatus.DELIVERED: 7,
}
TROUBLE = (TrackingStatus.EXCEPTION, TrackingStatus.RETURNED)
REGISTER_RETRY_AFTER = timedelta(minutes=10)


class DeliveryReportError(DomainError):
    pass


class DeliveryConflict(Conflict):
    pass


# --- registering trackers -----------------------------------------------------------------------
def queue_tracker_registration(*, shipment: Shipment) -> None:
    """Register the shipment's tracker after the caller's transaction commits (tracking on)."""
    # local: tasks.py imports the services
    from orders.tasks import register_tracker_task

    if is_tracking_enabled():
        transaction.on_commit(partial(register_tracker_task.delay, shipment.pk))


def register_tracker(*, shipment_id: int) -> Shipment:
    """Create the provider's tracker for the parcel once and take in what it already knows.
    A temporary failure raises (the task retries); a refusal is kept on the shipment."""
    shipment = Shipment.objects.get(pk=shipment_id)
    if shipment.tracker_id or not is_tracking_enabled():
        return shipment
    try:
        tracker = get_tracking_client().create_tracker(
            tracking_code=shipment.tracking_number, carrier=shipment.carrier
        )
    except TemporaryError:
        raise
    except PermanentError as exc:
        Shipment.objects.filter(pk=shipment.pk, tracker_id="").update(
            tracker_error=str(exc)[:500], updated_at=timezone.now()
        )
        shipment.refresh_from_db()
        return shipment
    Shipment.objects.filter(pk=shipment.pk, tracker_id="").update(
        tracker_id=tracker.tracker_id[:64], tracker_error="", updated_at=timezone.now()
    )
    shipment.refresh_from_db()
    if tracker.events:
        record_parcel_events(shipment=shipment, events=tracker.events)
    return shipment


# --- taking in what the carrier says --------------------------------------------------------------
def apply_tracker_update(*, tracker: TrackerData) -> Shipment | None:
    """A provider's tracker (webhook or poll) applied to its shipment; None for a parcel we do
    not know (the caller logs it)."""
    shipment = (
        Shipment.objects.filter(tracker_id=tracker.tracker_id).first()
        if tracker.tracker_id
        else None
    )
    if shipment is None and tracker.tracking_code and tracker.carrier:
        # Our own registration may not have recorded the id yet (its answer was lost).
        shipment = Shipment.objects.filter(
            tracking_number=tracker.tracking_code, carrier=tracker.carrier, tracker_id=""
        ).first()
        if shipment is not None:
            Shipment.objects.filter(pk=shipment.pk, tracker_id="").update(
                tracker_id=tracker.tracker_id[:64]
            )
    if shipment is None:
        return None
    events = tracker.events
    if not events and tracker.updated_at is not None and tracker.status != ParcelStatus.UNKNOWN:
        events = (ParcelEvent(status=tracker.status, occurred_at=tracker.updated_at),)
    return record_parcel_events(shipment=shipment, events=events)


def _status(value: str) -> TrackingStatus:
    return TrackingStatus(value) if value in TrackingStatus.values else TrackingStatus.UNKNOWN


@transaction.atomic
def record_parcel_events(
    *,
    shipment: Shipment,
    events: Iterable[ParcelEvent],
    source: str = TrackingEvent.Source.CARRIER,
    actor: User | None = None,
) -> Shipment:
    """Insert the scans not seen yet (each on the timeline once), recompute the parcel's state
    from all its scans, and act on a change (delivered, exception)."""
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("supplier_order__order__retailer", "supplier_order__supplier")
        .get(pk=shipment.pk)
    )
    now = timezone.now()
    seen = set(shipment.tracking_events.values_list("status", "occurred_at"))
    new = []
    for event in events:
        status = _status(str(event.status))
        if (status, event.occurred_at) in seen:
            continue
        seen.add((status, event.occurred_at))
        new.append(
            TrackingEvent(
                shipment=shipment,
                status=status,
                occurred_at=event.occurred_at,
                message=event.message[:300],
                location=event.location[:200],
                source=source,
            )
        )
    TrackingEvent.objects.bulk_create(new)
    supplier_order = shipment.supplier_order
    order = supplier_order.order
    carrier = CARRIERS.get(shipment.carrier)
    carrier_name = carrier.name if carrier else shipment.carrier
    for scan in sorted(new, key=lambda e: (e.occurred_at, RANK[_status(e.status)])):
        where = f" ({scan.location})" if scan.location else ""
        said = f": {scan.message}" if scan.message else ""
        by = " (reported by the supplier)" if source == TrackingEvent.Source.SUPPLIER else ""
        record_event(
            order=order,
            supplier_order=supplier_order,
            kind=EventKind.CARRIER_SCAN,
            message=f"{carrier_name} {shipment.tracking_number}: "
            f"{TrackingStatus(scan.status).label}{said}{where}, "
            f"{timezone.localtime(scan.occurred_at, UTC):%Y-%m-%d %H:%M} UTC{by}.",
            actor=actor,
        )
    before = shipment.tracking_status
    _recompute(shipment, now=now)
    if shipment.tracking_status != before:
        _after_status_change(shipment, before=before)
    return shipment


def _recompute(shipment: Shipment, *, now: datetime) -> None:
    scans = list(shipment.tracking_events.values_list("status", "occurred_at", "message"))
    fields = ["tracking_checked_at", "updated_at"]
    shipment.tracking_checked_at = now
    if scans:
        delivered = [scan for scan in scans if scan[0] == TrackingStatus.DELIVERED]
        latest = max(scans, key=lambda scan: (scan[1], RANK[_status(scan[0])]))
        current = min(delivered, key=lambda scan: scan[1]) if delivered else latest
        shipment.tracking_status = current[0]
        shipment.tracking_detail = current[2][:300]
        shipment.tracking_status_at = latest[1]
        shipment.delivered_at = current[1] if delivered else None
        fields += ["tracking_status", "tracking_detail", "tracking_status_at", "delivered_at"]
    shipment.save(update_fields=fields)


def _after_status_change(shipment: Shipment, *, before: str) -> None:
    supplier_order = shipment.supplier_order
    order = supplier_order.order
    url = reverse("orders:retailer_detail", args=[order.pk])
    if shipment.tracking_status == TrackingStatus.DELIVERED:
        _maybe_deliver_supplier_order(supplier_order)
    status_before = order.status
    refresh_order_status(order=order)
    if order.status == Order.Status.DELIVERED and status_before != Order.Status.DELIVERED:
        send_retailer_notice(
            retailer=order.retailer,
            kind=NoticeKind.ORDER_DELIVERED,
            event="order_delivered",
            subject=f"Order {order.number} was delivered",
            message=f"Order {order.number} was delivered to the shopper.",
            url=url,
            level=Notification.Level.SUCCESS,
        )
    if shipment.tracking_status in TROUBLE and before not in TROUBLE:
        label = TrackingStatus(shipment.tracking_status).label.lower()
        detail = f" ({shipment.tracking_detail})" if shipment.tracking_detail else ""
        reason = f"The carrier reports a {label} for {shipment.tracking_number}{detail}."
        flag_supplier_order(supplier_order_id=supplier_order.pk, reason=reason, tell_retailer=False)
        send_retailer_notice(
            retailer=order.retailer,
            kind=NoticeKind.DELIVERY_EXCEPTION,
            event="delivery_exception",
            subject=f"A parcel of order {order.number} needs attention",
            message=f"Order {order.number}: {reason} Our support team is looking at it.",
            url=url,
            level=Notification.Level.WARNING,
        )


def _maybe_deliver_supplier_order(supplier_order: SupplierOrder) -> None:
    """A fully shipped supplier order whose parcels are all delivered is DELIVERED."""
    locked = SupplierOrder.objects.select_for_update(of=("self",)).get(pk=supplier_order.pk)
    if locked.status != SupplierOrder.Status.SHIPPED:
        return
    parcels = locked.shipments.aggregate(
        open=Max("pk", filter=~Q(tracking_status=TrackingStatus.DELIVERED)),
        delivered_at=Max("delivered_at"),
    )
    if parcels["open"] is not None or parcels["delivered_at"] is None:
        return
    locked.status = SupplierOrder.Status.DELIVERED
    locked.delivered_at = parcels["delivered_at"]
    locked.save(update_fields=["status", "delivered_at", "updated_at"])
    supplier_order.status, supplier_order.delivered_at = locked.status, locked.delivered_at
    record_event(
        order=supplier_order.order,
        supplier_order=supplier_order,
        kind=EventKind.DELIVERED,
        message=f"{supplier_order.number} delivered ({locked.delivered_at:%Y-%m-%d %H:%M} UTC).",
    )
    shorten_holdback_after_delivery(supplier_order=locked)


# --- the supplier says it was delivered -----------------------------------------------------------
def report_delivered(
    *,
    supplier_order: SupplierOrder,
    tracking_number: str = "",
    delivered_at: datetime | None = None,
    actor: User | None = None,
) -> list[Shipment]:
    """The supplier reports its parcels (or the one with this tracking number) delivered."""
    now = timezone.now()
    when = delivered_at or now
    if timezone.is_naive(when):
        raise DeliveryReportError(
            "Give the delivery time with its time zone.", field="delivered_at"
        )
    if when > now + timedelta(minutes=5):
        raise DeliveryReportError("The delivery time is in the future.", field="delivered_at")
    shipments = list(supplier_order.shipments.order_by("pk"))
    if tracking_number:
        wanted = normalise_tracking_number(tracking_number)
        shipments = [s for s in shipments if s.tracking_number == wanted]
        if not shipments:
            raise NotFound(
                f"Order {supplier_order.number} has no parcel with tracking number "
                f"{tracking_number}.",
                field="tracking_number",
            )
    if not shipments:
        raise DeliveryConflict(
            f"Order {supplier_order.number} has not shipped yet, so it cannot be delivered."
        )
    early = [s for s in shipments if when < s.shipped_at]
    if early:
        raise DeliveryReportError(
            f"The delivery time is before {early[0].tracking_number} was shipped.",
            field="delivered_at",
        )
    company = supplier_order.supplier.company_name
    return [
        record_parcel_events(
            shipment=shipment,
            events=[
                ParcelEvent(
                    status=ParcelStatus.DELIVERED,
                    occurred_at=when,
                    message=f"Reported delivered by {company}",
                )
            ],
            source=TrackingEvent.Source.SUPPLIER,
            actor=actor,
        )
        for shipment in shipments
        if shipment.tracking_status != TrackingStatus.DELIVERED
    ]


# --- polling parcels that went quiet ----------------------------------------------------------------
def poll_quiet_parcels(*, now: datetime | None = None, batch: int | None = None) -> dict[str, int]:
    """Read back, from the provider, parcels not heard of for TRACKING_POLL_QUIET_HOURS (oldest
    first, at most `batch`), and register trackers that failed to register. Each parcel is
    claimed by moving its `tracking_checked_at` first, so two runs never poll it twice."""
    if not is_tracking_enabled():
        return {"polled": 0, "registered": 0, "failed": 0}
    now = now or timezone.now()
    batch = batch or settings.TRACKING_POLL_BATCH
    quiet_since = now - timedelta(hours=settings.TRACKING_POLL_QUIET_HOURS)
    open_parcels = Shipment.objects.exclude(tracking_status__in=FINAL_TRACKING_STATUSES)
    unregistered = list(
        open_parcels.filter(
            tracker_id="", tracker_error="", shipped_at__lt=now - REGISTER_RETRY_AFTER
        )
        .order_by("shipped_at")
        .values_list("pk", flat=True)[:batch]
    )
    registered = failed = polled = 0
    for shipment_id in unregistered:
        try:
            registered += bool(register_tracker(shipment_id=shipment_id).tracker_id)
        except TemporaryError as exc:
            failed += 1
            logger.warning("Tracker registration for shipment %s failed: %s", shipment_id, exc)
    quiet = list(
        open_parcels.exclude(tracker_id="")
        .filter(Q(tracking_checked_at__isnull=True) | Q(tracking_checked_at__lt=quiet_since))
        .order_by("tracking_checked_at", "pk")
        .values_list("pk", "tracker_id")[:batch]
    )
    client = get_tracking_client()
    for shipment_id, tracker_id in quiet:
        claimed = (
            Shipment.objects.filter(pk=shipment_id)
            .filter(Q(tracking_checked_at__isnull=True) | Q(tracking_checked_at__lt=quiet_since))
            .update(tracking_checked_at=now)
        )
        if not claimed:
            continue
        try:
            tracker = client.get_tracker(tracker_id=tracker_id)
        except TemporaryError as exc:
            failed += 1
            logger.warning("Polling tracker %s failed: %s", tracker_id, exc)
            continue
        except PermanentError as exc:
            failed += 1
            Shipment.objects.filter(pk=shipment_id).update(tracker_error=str(exc)[:500])
            continue
        apply_tracker_update(tracker=tracker)
        polled += 1
    return {"polled": polled, "registered": registered, "failed": failed}
