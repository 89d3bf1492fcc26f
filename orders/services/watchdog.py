"""The order watchdog: a beat job that raises a flag on supplier orders that stopped moving.

Rules (each gives the flag reason support reads in the admin and the retailer in a notification):
- not accepted within the supplier's handling time + 24 h after it was sent (or paid);
- a shipment whose tracking is still not in the store 1 h after shipping;
- a parcel without a carrier scan for TRACKING_QUIET_DAYS_DOMESTIC days (shipped within the
  supplier's country) or TRACKING_QUIET_DAYS_INTERNATIONAL days (abroad, or unknown), or one the
  carrier reports in exception or returned to sender (the retailer is told as its notice
  preferences say, kind "a parcel is in trouble");
- stuck: payment pending for 2 h, payment failed for 24 h unhandled, paid but not sent to the
  supplier for 1 h (dispatch stuck), accepted but not shipped within handling time + 3 days,
  in exception for 3 days.
A flagged order is not flagged again; support clears a flag in the admin, which snoozes the
watchdog for that order for a day. Safe to run twice: the UPDATE only takes unflagged rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Notification, User
from dropship.accounts.services import notify
from dropship.core.audit import record_audit
from orders.models import FINAL_TRACKING_STATUSES, Shipment, SupplierOrder, TrackingStatus
from orders.services.timeline import EventKind, record_event
from retailers.models import NoticeKind
from retailers.services.notices import send_retailer_notice

S = SupplierOrder.Status
TRACKING_PUSH_LIMIT = timedelta(hours=1)
PENDING_PAYMENT_LIMIT = timedelta(hours=2)
PAYMENT_FAILED_LIMIT = timedelta(hours=24)
DISPATCH_LIMIT = timedelta(hours=1)
ACCEPT_GRACE = timedelta(hours=24)
SHIP_GRACE = timedelta(days=3)
EXCEPTION_LIMIT = timedelta(days=3)
SNOOZE_AFTER_CLEAR = timedelta(days=1)


def _candidates(now: datetime) -> QuerySet[SupplierOrder]:
    return (
        SupplierOrder.objects.filter(is_flagged=False)
        .filter(Q(flag_cleared_at__isnull=True) | Q(flag_cleared_at__lt=now - SNOOZE_AFTER_CLEAR))
        .annotate(
            since_sent=Coalesce("sent_at", "paid_at", "created_at"),
            since_paid=Coalesce("paid_at", "created_at"),
            since_accepted=Coalesce("accepted_at", "created_at"),
        )
    )


def _past_handling(
    queryset: QuerySet[SupplierOrder], field: str, *, now: datetime, grace: timedelta
) -> list[int]:
    """Ids whose `field` is older than the supplier's handling days + grace (checked per row)."""
    rows = queryset.filter(**{f"{field}__lt": now - grace}).values_list(
        "pk", field, "supplier__handling_days"
    )[:2000]
    return [pk for pk, since, days in rows if since < now - grace - timedelta(days=days or 0)][:500]


def _parcel_rules(
    now: datetime, candidates: QuerySet[SupplierOrder]
) -> list[tuple[str, list[int]]]:
    """Parcels that went quiet (by destination) or that the carrier reports in trouble."""
    open_parcels = Shipment.objects.exclude(tracking_status__in=FINAL_TRACKING_STATUSES).annotate(
        last_scan=Coalesce("tracking_status_at", "shipped_at")
    )
    domestic = Q(
        supplier_order__order__shipping_country=F("supplier_order__supplier__ship_from_country")
    ) & ~Q(supplier_order__order__shipping_country="")
    domestic_days = settings.TRACKING_QUIET_DAYS_DOMESTIC
    abroad_days = settings.TRACKING_QUIET_DAYS_INTERNATIONAL
    quiet_domestic = open_parcels.filter(
        domestic, last_scan__lt=now - timedelta(days=domestic_days)
    ).values("supplier_order_id")
    quiet_abroad = (
        open_parcels.exclude(domestic)
        .filter(last_scan__lt=now - timedelta(days=abroad_days))
        .values("supplier_order_id")
    )
    trouble = Shipment.objects.filter(
        tracking_status__in=[TrackingStatus.EXCEPTION, TrackingStatus.RETURNED]
    ).values("supplier_order_id")

    def ids(subquery: QuerySet[Any, Any]) -> list[int]:
        return list(candidates.filter(pk__in=subquery).values_list("pk", flat=True)[:500])

    return [
        ("A parcel is in exception or returned to sender, says the carrier.", ids(trouble)),
        (f"A parcel has had no carrier scan for {domestic_days} days.", ids(quiet_domestic)),
        (
            f"An international parcel has had no carrier scan for {abroad_days} days.",
            ids(quiet_abroad),
        ),
    ]


def _rules(now: datetime) -> list[tuple[str, list[int]]]:
    candidates = _candidates(now)
    late_push = (
        Shipment.objects.filter(shipped_at__lt=now - TRACKING_PUSH_LIMIT)
        # a shipment the store holds is waiting on the merchant, with its reason shown
        .exclude(push_status__in=[Shipment.PushStatus.PUSHED, Shipment.PushStatus.HELD])
        .values("supplier_order_id")
    )

    def ids(condition: Q) -> list[int]:
        return list(candidates.filter(condition).values_list("pk", flat=True)[:500])

    return [
        (
            "Not accepted within the supplier's handling time + 24 h.",
            _past_handling(
                candidates.filter(status__in=[S.PAID, S.SENT]),
                "since_sent",
                now=now,
                grace=ACCEPT_GRACE,
            ),
        ),
        (
            "Shipped, but the tracking number is not in the store after 1 hour.",
            ids(Q(pk__in=late_push)),
        ),
        (
            "Stuck: payment pending for over 2 hours.",
            ids(Q(status=S.PENDING, created_at__lt=now - PENDING_PAYMENT_LIMIT)),
        ),
        (
            "Stuck: payment failed over 24 hours ago and nobody acted.",
            ids(Q(status=S.PAYMENT_FAILED, updated_at__lt=now - PAYMENT_FAILED_LIMIT)),
        ),
        (
            "Stuck: paid but not sent to the supplier after 1 hour.",
            ids(Q(status=S.PAID, since_paid__lt=now - DISPATCH_LIMIT)),
        ),
        (
            "Stuck: accepted but not shipped within the handling time + 3 days.",
            _past_handling(
                candidates.filter(status=S.ACCEPTED), "since_accepted", now=now, grace=SHIP_GRACE
            ),
        ),
        (
            "Stuck: in exception for over 3 days.",
            ids(Q(status=S.EXCEPTION, updated_at__lt=now - EXCEPTION_LIMIT)),
        ),
    ]


def run_watchdog(*, now: datetime | None = None) -> int:
    """Flag every supplier order that matches a rule (first rule wins); returns how many."""
    now = now or timezone.now()
    flagged = 0
    for reason, ids in _rules(now):
        for supplier_order_id in ids:
            flagged += flag_supplier_order(supplier_order_id=supplier_order_id, reason=reason)
    for reason, ids in _parcel_rules(now, _candidates(now)):
        for supplier_order_id in ids:
            if flag_supplier_order(
                supplier_order_id=supplier_order_id, reason=reason, tell_retailer=False
            ):
                flagged += 1
                _tell_retailer_parcel_flag(supplier_order_id=supplier_order_id, reason=reason)
    return flagged


def _tell_retailer_parcel_flag(*, supplier_order_id: int, reason: str) -> None:
    supplier_order = SupplierOrder.objects.select_related("order__retailer").get(
        pk=supplier_order_id
    )
    order = supplier_order.order
    send_retailer_notice(
        retailer=order.retailer,
        kind=NoticeKind.DELIVERY_EXCEPTION,
        event="order_flagged",
        subject=f"A parcel of order {order.number} needs attention",
        message=f"Order {order.number} ({supplier_order.number}): {reason} "
        "Our support team is looking at it.",
        url=reverse("orders:retailer_detail", args=[order.pk]),
        level=Notification.Level.WARNING,
    )


@transaction.atomic
def flag_supplier_order(*, supplier_order_id: int, reason: str, tell_retailer: bool = True) -> int:
    """Raise the flag once (1), or nothing if another run got there first (0). A caller that
    tells the retailer itself (a delivery exception, as its notice preferences say) passes
    `tell_retailer=False`."""
    if not SupplierOrder.objects.filter(pk=supplier_order_id, is_flagged=False).update(
        is_flagged=True, flag_reason=reason[:300], updated_at=timezone.now()
    ):
        return 0
    supplier_order = SupplierOrder.objects.select_related("order__retailer", "supplier").get(
        pk=supplier_order_id
    )
    order = supplier_order.order
    record_event(
        order=order,
        supplier_order=supplier_order,
        kind=EventKind.FLAGGED,
        message=f"Flagged for support: {reason}",
    )
    if not tell_retailer:
        return 1
    notify(
        organisation=order.retailer,
        kind="order_flagged",
        message=(
            f"Order {order.number} ({supplier_order.supplier.company_name}) is delayed: {reason} "
            "Our support team is looking at it."
        ),
        level=Notification.Level.WARNING,
    )
    return 1


@transaction.atomic
def clear_flag(*, supplier_order: SupplierOrder, actor: User | None = None) -> bool:
    """Support has looked at it: clear the flag; the watchdog leaves the order alone for a day."""
    now = timezone.now()
    if not SupplierOrder.objects.filter(pk=supplier_order.pk, is_flagged=True).update(
        is_flagged=False, flag_reason="", flag_cleared_at=now, updated_at=now
    ):
        return False
    record_event(
        order=supplier_order.order,
        supplier_order=supplier_order,
        kind=EventKind.FLAGGED,
        message="Flag cleared by support.",
        actor=actor,
    )
    record_audit(
        actor=actor,
        action="supplier_order.clear_flag",
        target=supplier_order,
        summary=f"Cleared the watchdog flag on {supplier_order.number}",
        data={"reason": supplier_order.flag_reason},
    )
    return True
