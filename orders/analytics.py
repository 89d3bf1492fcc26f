"""Retailer sales analytics: reads only, a fixed handful of aggregate queries whatever the volume.

    revenue = what shoppers paid for Dropship lines (retail unit price × quantity; lines of other
              products and cancelled lines are not counted)
    cost    = what the retailer was charged: wholesale + shipping + platform fee of the supplier
              orders (a supplier order's shipping and fee are split over its lines by wholesale)
    refunds = refunds the platform paid back to the retailer (billing.Refund, succeeded)
    profit  = revenue − cost + refunds;  margin = profit / revenue;  AOV = revenue / orders

An order counts on the day it was placed (the day it arrived when the store gave no date).
Date truncation uses Django's Trunc functions, so the same queries run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, NullIf, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from billing.models import Refund
from dropship.core.errors import DomainError
from dropship.core.money import ZERO, quantize
from orders.models import OrderItem, SupplierOrder
from retailers.models import Retailer

HUNDRED = Decimal(100)
MAX_RANGE = dt.timedelta(days=366 * 5)
INTERVALS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
# group -> (item key, item label, refund key, refund label)
GROUPS = {
    "store": ("order__store_id", "order__store__name", "order__store_id", "order__store__name"),
    "supplier": (
        "supplier_order__supplier_id",
        "supplier_order__supplier__company_name",
        "supplier_id",
        "supplier__company_name",
    ),
    "product": (
        "variant__product_id",
        "variant__product__title",
        "refunds__order_item__variant__product_id",
        "refunds__order_item__variant__product__title",
    ),
    "country": (
        "order__shipping_country",
        "order__shipping_country",
        "order__shipping_country",
        "order__shipping_country",
    ),
}
MONEY = DecimalField(max_digits=20, decimal_places=6)
CENT = Decimal("0.01")


class AnalyticsError(DomainError):
    pass


@dataclass
class Figures:
    revenue: Decimal = ZERO
    cost: Decimal = ZERO
    refunds: Decimal = ZERO
    orders: int = 0
    units: int = 0

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.cost + self.refunds

    @property
    def margin_percent(self) -> Decimal:
        return quantize(self.profit / self.revenue * HUNDRED) if self.revenue else ZERO

    @property
    def average_order_value(self) -> Decimal:
        return quantize(self.revenue / self.orders) if self.orders else ZERO

    def rounded(self) -> Figures:
        return Figures(
            quantize(self.revenue),
            quantize(self.cost),
            quantize(self.refunds),
            self.orders,
            self.units,
        )


@dataclass
class Row:
    key: str
    label: str
    figures: Figures


def previous_start(start: dt.date, end: dt.date) -> dt.date:
    """The first day of the period of the same length just before start..end."""
    return start - (end - start) - dt.timedelta(days=1)


def change_percent(now: Decimal, before: Decimal) -> Decimal | None:
    """How much `now` differs from `before`, in percent of `before`; None without a before."""
    if not before:
        return None
    return quantize((now - before) / abs(before) * HUNDRED)


@dataclass
class SalesReport:
    start: dt.date
    end: dt.date  # inclusive
    interval: str
    group_by: str
    total: Figures
    previous: Figures  # the same number of days just before `start`
    periods: list[Row] = field(default_factory=list)
    groups: list[Row] = field(default_factory=list)

    @property
    def previous_start(self) -> dt.date:
        return previous_start(self.start, self.end)

    def change_percent(self, name: str) -> Decimal | None:
        return change_percent(getattr(self.total, name), getattr(self.previous, name))

    @property
    def top_products(self) -> list[Row]:
        return sorted(self.groups, key=lambda r: r.figures.profit, reverse=True)[:5]

    @property
    def bottom_products(self) -> list[Row]:
        return sorted(self.groups, key=lambda r: r.figures.profit)[:5]


def parse_range(
    *, start: str | None, end: str | None, interval: str | None, group_by: str | None
) -> tuple[dt.date, dt.date, str, str]:
    """Validate what a page or API caller asked for; default: the last 30 days by day, by store."""
    today = timezone.localdate()
    try:
        end_date = dt.date.fromisoformat(end) if end else today
        start_date = dt.date.fromisoformat(start) if start else end_date - dt.timedelta(days=29)
    except ValueError as exc:
        raise AnalyticsError(
            "Dates must look like 2026-12-31 (year-month-day).", field="from"
        ) from exc
    interval = interval or "day"
    group_by = group_by or "store"
    if start_date > end_date:
        raise AnalyticsError(
            f"The range starts ({start_date}) after it ends ({end_date}).", field="from"
        )
    if end_date > today:
        raise AnalyticsError(f"The range ends in the future ({end_date}).", field="to")
    if end_date - start_date > MAX_RANGE:
        raise AnalyticsError("The range can be at most 5 years.", field="from")
    if interval not in INTERVALS:
        raise AnalyticsError(
            f"Unknown interval “{interval}”: use day, week or month.", field="interval"
        )
    if group_by not in GROUPS:
        raise AnalyticsError(
            f"Unknown group_by “{group_by}”: use store, supplier, product or country.",
            field="group_by",
        )
    return start_date, end_date, interval, group_by


def day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def _items(retailer: Retailer, start: dt.date, end: dt.date):
    low, high = day_bounds(start, end)
    wholesale = ExpressionWrapper(
        Coalesce(F("wholesale_unit_price"), Value(ZERO)) * F("quantity"), output_field=MONEY
    )
    # × CENT on both sides of the division: SQLite keeps whole amounts as integers and would
    # divide them as integers (8 × 10 / 160 = 0); a cent keeps it a decimal on both engines.
    share = ExpressionWrapper(
        (F("supplier_order__shipping_total") + F("supplier_order__platform_fee"))
        * wholesale
        * Value(CENT)
        / NullIf(F("supplier_order__wholesale_total") * Value(CENT), Value(ZERO)),
        output_field=MONEY,
    )
    return (
        OrderItem.objects.filter(
            order__retailer=retailer,
            variant__isnull=False,
            supplier_order__isnull=False,
        )
        .exclude(status=OrderItem.Status.CANCELLED)
        .exclude(supplier_order__status=SupplierOrder.Status.CANCELLED)
        .annotate(day=Coalesce("order__placed_at", "order__created_at"))
        .filter(day__gte=low, day__lt=high)
        .annotate(
            line_revenue=ExpressionWrapper(
                F("retail_unit_price") * F("quantity"), output_field=MONEY
            ),
            line_cost=ExpressionWrapper(
                wholesale + Coalesce(share, Value(ZERO)), output_field=MONEY
            ),
        )
    )


def _refunds(retailer: Retailer, start: dt.date, end: dt.date):
    low, high = day_bounds(start, end)
    return (
        SupplierOrder.objects.filter(order__retailer=retailer)
        .annotate(day=Coalesce("order__placed_at", "order__created_at"))
        .filter(day__gte=low, day__lt=high, refunds__status=Refund.Status.SUCCEEDED)
    )


def _sums(queryset, keys: list[str]) -> dict[tuple, Figures]:
    rows = queryset.values(*keys).annotate(
        revenue=Sum("line_revenue"),
        cost=Sum("line_cost"),
        orders=Count("order_id", distinct=True),
        units=Sum("quantity"),
    )
    return {
        tuple(row[k] for k in keys): Figures(
            revenue=row["revenue"] or ZERO,
            cost=row["cost"] or ZERO,
            orders=row["orders"],
            units=row["units"] or 0,
        )
        for row in rows
    }


def _refund_sums(queryset, keys: list[str]) -> dict[tuple, Decimal]:
    rows = queryset.values(*keys).annotate(total=Sum("refunds__amount"))
    return {tuple(row[k] for k in keys): row["total"] or ZERO for row in rows}


def _total(retailer: Retailer, start: dt.date, end: dt.date) -> Figures:
    items = _items(retailer, start, end).aggregate(
        revenue=Sum("line_revenue"),
        cost=Sum("line_cost"),
        orders=Count("order_id", distinct=True),
        units=Sum("quantity"),
    )
    refunds = _refunds(retailer, start, end).aggregate(total=Sum("refunds__amount"))["total"]
    return Figures(
        revenue=items["revenue"] or ZERO,
        cost=items["cost"] or ZERO,
        refunds=refunds or ZERO,
        orders=items["orders"],
        units=items["units"] or 0,
    ).rounded()


def period_day(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def get_sales_report(
    *, retailer: Retailer, start: dt.date, end: dt.date, interval: str, group_by: str
) -> SalesReport:
    """Totals, the previous period, a row per period and a row per group: eight queries."""
    previous_end = start - dt.timedelta(days=1)
    period_start = previous_start(start, end)
    trunc = INTERVALS[interval]
    items = _items(retailer, start, end)
    refunds = _refunds(retailer, start, end)

    by_period = _sums(items.annotate(period=trunc("day")), ["period"])
    refunds_by_period = _refund_sums(refunds.annotate(period=trunc("day")), ["period"])
    periods = []
    for key in sorted(set(by_period) | set(refunds_by_period), key=lambda k: period_day(k[0])):
        figures = by_period.get(key, Figures())
        figures.refunds = refunds_by_period.get(key, ZERO)
        day = period_day(key[0])
        periods.append(Row(key=day.isoformat(), label=day.isoformat(), figures=figures.rounded()))

    item_key, item_label, refund_key, refund_label = GROUPS[group_by]
    by_group = _sums(items, [item_key, item_label])
    refund_groups = _refund_sums(refunds, [refund_key, refund_label])
    groups = []
    for key in sorted(set(by_group) | set(refund_groups), key=lambda k: (k[0] is None, str(k[1]))):
        figures = by_group.get(key, Figures())
        figures.refunds = refund_groups.get(key, ZERO)
        label = str(key[1]) if key[0] is not None else "Refunds of whole orders"
        groups.append(Row(key=str(key[0] or ""), label=label, figures=figures.rounded()))
    return SalesReport(
        start=start,
        end=end,
        interval=interval,
        group_by=group_by,
        total=_total(retailer, start, end),
        previous=_total(retailer, period_start, previous_end),
        periods=periods,
        groups=groups,
    )


# --- CSV ---------------------------------------------------------------------------------------
CSV_HEADER = [
    "Group",
    "Revenue",
    "Cost",
    "Refunds",
    "Gross profit",
    "Margin %",
    "Orders",
    "Units",
    "Average order value",
]


def report_csv_rows(report: SalesReport) -> list[list[object]]:
    """The report as spreadsheet rows; the caller writes them through
    dropship.core.spreadsheet_export, which escapes the group labels (user-typed names)."""
    rows: list[list[object]] = [list(CSV_HEADER)]
    for row in [*report.groups, Row(key="", label="Total", figures=report.total)]:
        f = row.figures
        rows.append(
            [
                row.label,
                f.revenue,
                f.cost,
                f.refunds,
                f.profit,
                f.margin_percent,
                f.orders,
                f.units,
                f.average_order_value,
            ]
        )
    return rows
