"""GET /api/v1/suppliers/{supplier_id}/scorecard: the public part of an active supplier's
measured scorecard (orders/services/scorecard.py), computed on demand; anyone may read it, like
the supplier directory. The supplier's own tips on what to improve stay on its analytics page."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from dropship.api import ErrorOut
from orders.services import scorecard
from retailers.priced_catalog import get_active_supplier

router = Router(tags=["catalog"])


class WindowOut(Schema):
    days: int
    orders: int
    acceptance_p50_hours: float | None
    acceptance_p90_hours: float | None
    shipped_within_handling_time_percent: float | None
    rejected_after_order_percent: float | None
    cancelled_by_supplier_percent: float | None
    returns_disputes_percent: float | None
    valid_tracking_first_try_percent: float | None
    stock_out_at_order_percent: float | None
    messages_awaiting_first_reply: int
    first_reply_p50_hours: float | None


class ScorecardOut(Schema):
    supplier_id: int
    computed_at: str
    is_new_supplier: bool
    min_orders: int
    reliability_score: int | None
    score_formula: str
    last_30_days: WindowOut
    last_90_days: WindowOut


def _window(figures: scorecard.WindowFigures, accuracy: scorecard.AccuracyFigures | None) -> dict:
    return {
        "valid_tracking_first_try_percent": accuracy and accuracy.tracking_first_try_percent,
        "stock_out_at_order_percent": accuracy and accuracy.stock_out_percent,
        "days": figures.days,
        "orders": figures.orders,
        "acceptance_p50_hours": figures.acceptance_p50_hours,
        "acceptance_p90_hours": figures.acceptance_p90_hours,
        "shipped_within_handling_time_percent": figures.on_time_percent,
        "rejected_after_order_percent": figures.rejected_percent,
        "cancelled_by_supplier_percent": figures.cancelled_by_supplier_percent,
        "returns_disputes_percent": figures.returns_disputes_percent,
        "messages_awaiting_first_reply": figures.questions - figures.replied,
        "first_reply_p50_hours": figures.first_reply_p50_hours,
    }


@router.get(
    "/suppliers/{int:supplier_id}/scorecard",
    response={200: ScorecardOut, 404: ErrorOut},
    auth=None,
    operation_id="orders_api_supplier_scorecard",
)
def supplier_scorecard(request: HttpRequest, supplier_id: int):
    """An active supplier's reliability score (null for a new supplier, with fewer orders than
    `min_orders` in 90 days) and the figures behind it over the last 30 and 90 days. Returns and
    disputes are not measured yet (null)."""
    card = scorecard.compute_scorecard(supplier=get_active_supplier(supplier_id=supplier_id))
    return {
        "supplier_id": supplier_id,
        "computed_at": card.computed_at.isoformat(),
        "is_new_supplier": card.is_new_supplier,
        "min_orders": card.min_orders,
        "reliability_score": card.score,
        "score_formula": scorecard.SCORE_FORMULA,
        "last_30_days": _window(card.last_30, card.accuracy_30),
        "last_90_days": _window(card.last_90, card.accuracy_90),
    }
