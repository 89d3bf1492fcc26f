"""Supplier sales analytics: reads only, a fixed handful of aggregate queries whatever the volume.

    sales      = what the supplier billed: wholesale + shipping of its paid supplier orders (a
                 supplier order's shipping is split over its lines by wholesale)
    commission = the platform's commission on the wholesale (commission_percent frozen on each
                 supplier order)
    net payout = sales − commission (before refunds, which billing settles per payout)

A supplier order counts from when it was paid (PAID, SENT, ACCEPTED, SHIPPED or DELIVERED), on
the day its order was placed; cancelled lines and rejected or cancelled supplier orders do not.
Retailers are named as the supplier sees them on its orders: by their brand. Ranges, intervals
and the previous period follow orders/analytics.py (the retailer's analytics).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from catalog.models import StockMovement, Variant
from dropship.core.money import ZERO, quantize
from orders.analytics import (
    CENT,
    INTERVALS,
    AnalyticsError,
    change_percent,
    day_bounds,
    period_day,
    previous_start,
)
from orders.models import OrderItem, SupplierOrder
from suppliers.models import Supplier

MONEY = DecimalField(max_digits=20, decimal_places=6)
S = SupplierOrder.Status
SOLD = (S.PAID, S.SENT, S.ACCEPTED, S.SHIPPED, S.DELIVERED)
# group -> (key, label fields: the first non-empty one names the row)
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "product": ("variant__product_id", ("variant__product__title",)),
    "retailer": (
        "order__retailer_id",
        ("order__retailer__brand_name", "order__retailer__business_name"),
    ),
}


def parse_group(group_by: str | None) -> str:
    group_by = group_by or "product"
    if group_by not in GROUPS:
        raise AnalyticsError(
            f"Unknown group_by “{group_by}”: use product or retailer.", field="group_by"
        )
    return group_by


@dataclass
class SupplierFigures:
    wholesale: Decimal = ZERO
    shipping: Decimal = ZERO
    commission: Decimal = ZERO
    orders: int = 0
    units: int = 0

    @property
    def sales(self) -> Decimal:
        return self.wholesale + self.shipping

    @property
    def net_payout(self) -> Decimal:
        return self.sales - self.commission

    def rounded(self) -> SupplierFigures:
        return SupplierFigures(
            quantize(self.wholesale),
            quantize(self.shipping),
            quantize(self.commission),
            self.orders,
            self.units,
        )


@dataclass
class SupplierRow:
    key: str
    label: str
    figures: SupplierFigures


@dataclass
class SupplierSalesReport:
    start: dt.date
    end: dt.date  # inclusive
    interval: str
    group_by: str
    total: SupplierFigures
    previous: SupplierFigures
    periods: list[SupplierRow] = field(default_factory=list)
    groups: list[SupplierRow] = field(default_factory=list)

    @property
    def previous_start(self) -> dt.date:
        return previous_start(self.start, self.end)

    @property
    def sales_change_percent(self) -> Decimal | None:
        return change_percent(self.total.sales, self.previous.sales)

    @property
    def top(self) -> list[SupplierRow]:
        return sorted(self.groups, key=lambda row: row.figures.sales, reverse=True)[:5]


def _items(supplier: Supplier, start: dt.date, end: dt.date):
    low, high = day_bounds(start, end)
    wholesale = ExpressionWrapper(
        Coalesce(F("wholesale_unit_price"), Value(ZERO)) * F("quantity"), output_field=MONEY
    )
    # × CENT on both sides of a division: SQLite stores whole amounts as integers and would
    # divide them as integers (10 × 150 / 160 = 9); a cent keeps it a decimal on both engines.
    shipping = ExpressionWrapper(
        F("supplier_order__shipping_total")
        * wholesale
        * Value(CENT)
        / NullIf(F("supplier_order__wholesale_total") * Value(CENT), Value(ZERO)),
        output_field=MONEY,
    )
    return (
        OrderItem.objects.filter(
            supplier_order__supplier=supplier,
            supplier_order__status__in=SOLD,
            variant__isnull=False,
        )
        .exclude(status=OrderItem.Status.CANCELLED)
        .annotate(day=Coalesce("order__placed_at", "order__created_at"))
        .filter(day__gte=low, day__lt=high)
        .annotate(
            line_wholesale=wholesale,
            line_shipping=Coalesce(shipping, Value(ZERO), output_field=MONEY),
            line_commission=ExpressionWrapper(
                wholesale * F("supplier_order__commission_percent") * Value(CENT),
                output_field=MONEY,
            ),
        )
    )


AGGREGATES = {
    "wholesale": Sum("line_wholesale"),
    "shipping": Sum("line_shipping"),
    "commission": Sum("line_commission"),
    "orders": Count("supplier_order_id", distinct=True),
    "units": Sum("quantity"),
}


def _figures(row: dict) -> SupplierFigures:
    return SupplierFigures(
        wholesale=row["wholesale"] or ZERO,
        shipping=row["shipping"] or ZERO,
        commission=row["commission"] or ZERO,
        orders=row["orders"] or 0,
        units=row["units"] or 0,
    ).rounded()


def get_supplier_sales_report(
    *, supplier: Supplier, start: dt.date, end: dt.date, interval: str, group_by: str
) -> SupplierSalesReport:
    """Totals, the previous period, a row per period and a row per group: four queries."""
    previous_end = start - dt.timedelta(days=1)
    items = _items(supplier, start, end)
    trunc = INTERVALS[interval]
    periods = [
        SupplierRow(
            key=period_day(row["period"]).isoformat(),
            label=period_day(row["period"]).isoformat(),
            figures=_figures(row),
        )
        for row in items.annotate(period=trunc("day"))
        .values("period")
        .annotate(**AGGREGATES)
        .order_by("period")
    ]
    key, labels = GROUPS[group_by]
    groups = [
        SupplierRow(
            key=str(row[key]),
            label=next((str(row[name]) for name in labels if row[name]), "—"),
            figures=_figures(row),
        )
        for row in items.values(key, *labels).annotate(**AGGREGATES).order_by(*labels, key)
    ]
    return SupplierSalesReport(
        start=start,
        end=end,
        interval=interval,
        group_by=group_by,
        total=_figures(items.aggregate(**AGGREGATES)),
        previous=_figures(
            _items(supplier, previous_start(start, end), previous_end).aggregate(**AGGREGATES)
        ),
        periods=periods,
        groups=groups,
    )


# --- CSV ---------------------------------------------------------------------------------------
CSV_HEADER = [
    "Group",
    "Wholesale",
    "Shipping",
    "Sales",
    "Commission",
    "Net payout",
    "Orders",
    "Units",
]


def report_csv_rows(report: SupplierSalesReport) -> list[list[object]]:
    """The report as spreadsheet rows; the caller writes them through
    dropship.core.spreadsheet_export, which escapes the labels (user-typed names)."""
    rows: list[list[object]] = [list(CSV_HEADER)]
    for row in [*report.groups, SupplierRow(key="", label="Total", figures=report.total)]:
        f = row.figures
        rows.append(
            [
                row.label,
                f.wholesale,
                f.shipping,
                f.sales,
                f.commission,
                f.net_payout,
                f.orders,
                f.units,
            ]
        )
    return rows


# --- stock turnover ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TurnoverRow:
    product_id: int
    title: str
    units_sold: int
    average_on_hand: Decimal
    turnover: Decimal | None  # units sold / average on hand; None when nothing was on hand


def _average_on_hand(
    *,
    current: int,
    changes: list[tuple[dt.datetime, int, int]],
    low: dt.datetime,
    high: dt.datetime,
) -> Decimal:
    """The time-weighted on-hand quantity of one variant over [low, high): `changes` are its
    on-hand changes since `low` (time, before, after) in time order, `current` its on-hand now.
    Before the first change the level was that change's `before`; with no change, `current`."""
    if high <= low:
        return Decimal(0)
    level = changes[0][1] if changes else current
    weighted = Decimal(0)
    cursor = low
    for at, _before, after in changes:
        if at >= high:
            break
        weighted += Decimal(level) * Decimal((at - cursor).total_seconds())
        level, cursor = after, at
    weighted += Decimal(level) * Decimal((high - cursor).total_seconds())
    return weighted / Decimal((high - low).total_seconds())


def get_stock_turnover(
    *, supplier: Supplier, start: dt.date, end: dt.date, now: dt.datetime | None = None
) -> list[TurnoverRow]:
    """Per product of the supplier: units sold over the range (as in the sales report) divided by
    the time-weighted average quantity on hand over it, rebuilt from the stock movements (the
    level between two on-hand changes is the first one's `after`). Three queries: units sold,
    the variants, their on-hand changes since the range began. Highest turnover first; products
    without sales or stock in the range are left out."""
    now = now or timezone.now()
    low, high = day_bounds(start, end)
    high = min(high, now)
    sold = dict(
        _items(supplier, start, end)
        .values("variant__product_id")
        .annotate(units=Sum("quantity"))
        .values_list("variant__product_id", "units")
    )
    variants = list(
        Variant.objects.filter(supplier=supplier).values_list(
            "pk", "product_id", "product__title", "stock_on_hand"
        )
    )
    changes: dict[int, list[tuple[dt.datetime, int, int]]] = defaultdict(list)
    for variant_id, at, before, after in (
        StockMovement.objects.filter(variant__supplier=supplier, created_at__gte=low)
        .exclude(on_hand_before=F("on_hand_after"))  # reservations move only the reserved count
        .order_by("variant_id", "created_at", "id")
        .values_list("variant_id", "created_at", "on_hand_before", "on_hand_after")
    ):
        changes[variant_id].append((at, before, after))
    on_hand: dict[int, Decimal] = defaultdict(Decimal)
    titles: dict[int, str] = {}
    for variant_id, product_id, title, current in variants:
        titles[product_id] = title
        on_hand[product_id] += _average_on_hand(
            current=current, changes=changes.get(variant_id, []), low=low, high=high
        )
    rows = []
    for product_id, title in titles.items():
        units = int(sold.get(product_id) or 0)
        average = on_hand[product_id].quantize(Decimal("0.1"))
        if not units and not average:
            continue
        turnover = (
            (Decimal(units) / on_hand[product_id]).quantize(Decimal("0.01"))
            if on_hand[product_id]
            else None
        )
        rows.append(TurnoverRow(product_id, title, units, average, turnover))
    return sorted(rows, key=lambda row: (row.turnover is None, -(row.turnover or 0), row.title))
