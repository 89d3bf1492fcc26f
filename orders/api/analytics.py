"""GET /api/v1/analytics/sales: the caller's own sales figures, the same numbers as the
/retailer/analytics/ page (orders.analytics). Retailer API key; `from`, `to` (YYYY-MM-DD),
`interval=day|week|month`, `group_by=store|supplier|product|country`."""

from __future__ import annotations

from decimal import Decimal

from ninja import Field, Query, Router, Schema

from dropship.api import ErrorOut
from dropship.api_auth import ApiRequest, organisation_auth
from dropship.core.errors import PermissionDenied
from orders import analytics as sales

router = Router(tags=["analytics"], auth=organisation_auth)


class SalesQuery(Schema):
    start: str | None = Field(None, alias="from", description="First day, YYYY-MM-DD.")
    end: str | None = Field(None, alias="to", description="Last day (included), YYYY-MM-DD.")
    interval: str | None = Field(None, description="day, week or month")
    group_by: str | None = Field(None, description="store, supplier, product or country")


class FiguresOut(Schema):
    revenue: Decimal
    cost: Decimal
    refunds: Decimal
    gross_profit: Decimal
    margin_percent: Decimal
    orders: int
    units: int
    average_order_value: Decimal


class RowOut(Schema):
    key: str
    label: str
    figures: FiguresOut


class SalesOut(Schema):
    start: str = Field(..., alias="from")
    end: str = Field(..., alias="to")
    interval: str
    group_by: str
    total: FiguresOut
    previous_period: FiguresOut
    periods: list[RowOut]
    groups: list[RowOut]


def _figures(f: sales.Figures) -> dict:
    return {
        "revenue": f.revenue,
        "cost": f.cost,
        "refunds": f.refunds,
        "gross_profit": f.profit,
        "margin_percent": f.margin_percent,
        "orders": f.orders,
        "units": f.units,
        "average_order_value": f.average_order_value,
    }


def _rows(rows: list[sales.Row]) -> list[dict]:
    return [{"key": r.key, "label": r.label, "figures": _figures(r.figures)} for r in rows]


@router.get(
    "/sales",
    operation_id="analytics_api_sales",
    response={200: SalesOut, 400: ErrorOut, 403: ErrorOut},
    by_alias=True,
)
def sales_figures(request: ApiRequest, query: Query[SalesQuery]):
    """Revenue, cost, refunds, gross profit, margin, orders, units and AOV for a range, with the
    previous period of the same length, by period and by group."""
    if request.retailer is None:
        raise PermissionDenied("Sales analytics are read with a retailer API key (drk_…).")
    start, end, interval, group_by = sales.parse_range(
        start=query.start, end=query.end, interval=query.interval, group_by=query.group_by
    )
    report = sales.get_sales_report(
        retailer=request.retailer, start=start, end=end, interval=interval, group_by=group_by
    )
    return 200, {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "interval": interval,
        "group_by": group_by,
        "total": _figures(report.total),
        "previous_period": _figures(report.previous),
        "periods": _rows(report.periods),
        "groups": _rows(report.groups),
    }
