"""The monthly routed-order limit: a soft limit, counted, never refused.

Each order routed for the first time bumps its retailer's `PlanUsage` row for the month with one
UPSERT (INSERT ... ON CONFLICT DO UPDATE ... RETURNING, on PostgreSQL and SQLite alike), in the
routing transaction: no COUNT(*) over orders on the hot path. Over the plan's limit the order is
still routed, and the plan's overage fee is added to its platform fee (so it is charged and
booked with the order). The retailer is told once a month at 80 % and once at 100 % (a
notification and an e-mail): a conditional UPDATE claims each warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from billing.models import PlanUsage
from billing.selectors import FrozenFees
from dropship.accounts.models import Notification
from dropship.accounts.services import email_organisation, notify
from dropship.core.money import ZERO
from retailers.models import Retailer

NEAR_LIMIT = 0.8


@dataclass(frozen=True)
class UsageCount:
    routed_orders: int
    overage_fee: Decimal  # what this order adds to its platform fee (0 under the limit)


def month_of(when: datetime) -> date:
    return when.date().replace(day=1)


# One statement per routed order: the month's row is created or bumped, and the order is counted
# as overage when it is past the limit (NO_LIMIT for an unlimited plan).
_UPSERT = (
    "INSERT INTO billing_planusage (retailer_id, month, routed_orders, overage_orders) "
    "VALUES (%s, %s, 1, CASE WHEN 1 > %s THEN 1 ELSE 0 END) "
    "ON CONFLICT (retailer_id, month) DO UPDATE SET "
    "routed_orders = billing_planusage.routed_orders + 1, "
    "overage_orders = billing_planusage.overage_orders "
    "+ CASE WHEN billing_planusage.routed_orders + 1 > %s THEN 1 ELSE 0 END "
    "RETURNING id, routed_orders"
)
NO_LIMIT = 2**31 - 1


def count_routed_order(
    *, retailer: Retailer, fees: FrozenFees, now: datetime | None = None
) -> UsageCount:
    """Count one routed order against the retailer's month; returns the overage fee to add."""
    month = month_of(now or timezone.now())
    limit = fees.monthly_order_limit
    bound = NO_LIMIT if limit is None else limit
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [retailer.pk, month, bound, bound])
        usage_id, count = cursor.fetchone()
    if limit is None:
        return UsageCount(routed_orders=count, overage_fee=ZERO)
    if count >= math.ceil(limit * NEAR_LIMIT):
        _warn_once(retailer=retailer, usage_id=usage_id, count=count, limit=limit)
    if count <= limit:
        return UsageCount(routed_orders=count, overage_fee=ZERO)
    return UsageCount(routed_orders=count, overage_fee=fees.overage_order_fee)


def _warn_once(*, retailer: Retailer, usage_id: int, count: int, limit: int) -> None:
    at_limit = count >= limit
    field = "warned_at_limit_at" if at_limit else "warned_near_limit_at"
    claimed = PlanUsage.objects.filter(pk=usage_id, **{f"{field}__isnull": True}).update(
        **{field: timezone.now()}
    )
    if not claimed:
        return
    message = (
        f"You have routed {count} orders this month: your plan's limit of {limit}. Orders keep "
        "being routed; each one over the limit adds your plan's overage fee. Upgrade for a "
        "higher limit."
        if at_limit
        else f"You have routed {count} of the {limit} orders your plan includes this month "
        f"({round(100 * count / limit)} %). Upgrade before you reach the limit to avoid "
        "overage fees."
    )
    notify(
        organisation=retailer,
        kind="billing.order_limit",
        message=message,
        level=Notification.Level.WARNING,
        url=reverse("billing:pricing"),
    )
    email_organisation(
        organisation=retailer,
        subject="You reached your monthly order limit"
        if at_limit
        else "You are close to your monthly order limit",
        message=message,
    )


def usage_for(*, retailer: Retailer, now: datetime | None = None) -> PlanUsage:
    """The month's counter (unsaved zero row when nothing was routed yet)."""
    month = month_of(now or timezone.now())
    return PlanUsage.objects.filter(retailer=retailer, month=month).first() or PlanUsage(
        retailer=retailer, month=month
    )
