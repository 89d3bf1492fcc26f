"""The measured supplier scorecard: how a supplier handled the orders sent to it, from what
Dropship recorded (the supplier order's own timestamps and its timeline events), over the
trailing 30 and 90 days.

A supplier order counts in a window when it was sent to the supplier (or, for a supplier order
accepted straight from PAID, paid) inside it. Per window:

- acceptance time: sent → accepted, p50 and p90 (linear interpolation, like percentile_cont);
- shipped within handling time: of the orders that shipped or whose handling time (the
  supplier's `handling_days`, calendar days) has run out, the share shipped in time; rejected
  and cancelled orders are left to their own figures;
- rejected after order: the share the supplier rejected (a rejection is how a supplier reports
  stock it no longer has, so it covers out-of-stock after order too);
- cancelled by the supplier: the share cancelled by a member of the supplier's organisation;
- returns and disputes: not yet measured (the after-sale flow does not record them yet);
- valid tracking on first try: of the parcels shipped on these orders, the share whose tracking
  number was taken as given: the tracking provider did not refuse it (`Shipment.tracker_error`
  empty) and the store did not refuse the fulfilment for good (push not FAILED);
- stock accuracy: of the order lines for the supplier's variants received in the window, the
  share that found no stock at reservation though the store still offered the product (intake
  marks such a line EXCEPTION with an "Out of stock" reason), and the inventory feed's freshness
  (health and hours since its last good fetch; none when the supplier keeps stock by hand).
  These are shown with the figures (`AccuracyFigures`, `FeedFreshness`), not in the score yet.
- first reply time to retailers' messages (messaging.Message): for each retailer message that
  opened a question in the window (the first one of a conversation, or the first after the
  supplier last answered), the time to the supplier's next message; the median over the answered
  ones, with how many were asked and answered. Shown, not part of the score.

The reliability score (0-100) uses the 90-day window; SCORE_FORMULA is the sentence shown on
the pages. A supplier with fewer than settings.SCORECARD_MIN_ORDERS orders in that window is a
"new supplier" and has no score.

`compute_scorecards` reads a few rows per order in three queries for any number of suppliers
(no per-supplier or per-order query); `refresh_supplier_scorecards` stores the result as one
SupplierScorecard row per supplier (an upsert: running it twice writes the same rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from messaging.models import Message, Side
from orders.models import OrderEvent, OrderItem, Shipment, SupplierOrder
from orders.services.timeline import EventKind
from suppliers.models import Supplier, SupplierFeed, SupplierScorecard

WINDOWS = (30, 90)
SCORE_WINDOW = 90
# Weights of the reliability score; they add up to 100.
WEIGHT_ON_TIME = 40
WEIGHT_NOT_REJECTED = 25
WEIGHT_NOT_CANCELLED = 15
WEIGHT_ACCEPTANCE = 20
# Acceptance earns full marks when 90 % of orders are accepted within FAST hours, nothing from
# SLOW hours on, linearly in between.
ACCEPTANCE_FAST_HOURS = 24
ACCEPTANCE_SLOW_HOURS = 72

SCORE_FORMULA = (
    f"Score = {WEIGHT_ON_TIME} × share shipped within handling time"
    f" + {WEIGHT_NOT_REJECTED} × (1 − share rejected after order)"
    f" + {WEIGHT_NOT_CANCELLED} × (1 − share cancelled by the supplier)"
    f" + {WEIGHT_ACCEPTANCE} × acceptance speed, over the last {SCORE_WINDOW} days."
    f" Acceptance speed is 1 when 90 % of orders are accepted within {ACCEPTANCE_FAST_HOURS} h,"
    f" 0 at {ACCEPTANCE_SLOW_HOURS} h or more, and in between linearly."
    " A figure with nothing to measure yet counts in full."
)

S = SupplierOrder.Status


@dataclass(frozen=True)
class WindowFigures:
    days: int
    orders: int
    accepted: int
    acceptance_p50_hours: float | None
    acceptance_p90_hours: float | None
    due: int  # shipped, or past their handling time (rejected and cancelled orders aside)
    on_time: int
    on_time_percent: float | None
    rejected: int
    rejected_percent: float | None
    cancelled_by_supplier: int
    cancelled_by_supplier_percent: float | None
    # Not recorded yet: shown as "not yet measured".
    returns_disputes_percent: None = None
    questions: int = 0  # retailer messages that waited for the supplier's answer
    replied: int = 0
    first_reply_p50_hours: float | None = None


@dataclass(frozen=True)
class Scorecard:
    supplier_id: int
    computed_at: datetime
    windows: dict[int, WindowFigures]
    min_orders: int
    score: int | None
    improvements: list[str] = field(default_factory=list)
    accuracy: dict[int, AccuracyFigures] = field(default_factory=dict)  # by window (days)
    feed: FeedFreshness | None = None

    @property
    def is_new_supplier(self) -> bool:
        return self.score is None

    @property
    def last_30(self) -> WindowFigures:
        return self.windows[30]

    @property
    def last_90(self) -> WindowFigures:
        return self.windows[90]

    @property
    def accuracy_30(self) -> AccuracyFigures | None:
        return self.accuracy.get(30)

    @property
    def accuracy_90(self) -> AccuracyFigures | None:
        return self.accuracy.get(90)

    def figures(self) -> dict[str, dict[str, object]]:
        """The figures as JSON (what the nightly row stores)."""
        figures = {str(days): asdict(window) for days, window in self.windows.items()}
        for days, accuracy in self.accuracy.items():
            figures[str(days)].update(asdict(accuracy), days=days)
        return figures


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-1) of `values` with linear interpolation; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class _Row:
    pk: int
    start: datetime
    accepted_at: datetime | None
    shipped_at: datetime | None
    status: str
    handling_days: int


def compute_scorecards(
    *, supplier_ids: Iterable[int], now: datetime | None = None
) -> dict[int, Scorecard]:
    """The scorecard of each supplier in `supplier_ids` as of `now` (default: now)."""
    now = now or timezone.now()
    supplier_ids = list(supplier_ids)
    since = now - timedelta(days=max(WINDOWS))
    rows_by_supplier: dict[int, list[_Row]] = defaultdict(list)
    values = (
        SupplierOrder.objects.filter(supplier_id__in=supplier_ids)
        .annotate(start=Coalesce("sent_at", "paid_at"))
        .filter(start__gte=since, start__lte=now)
        .values_list(
            "pk",
            "supplier_id",
            "start",
            "accepted_at",
            "shipped_at",
            "status",
            "supplier__handling_days",
        )
    )
    for pk, supplier_id, start, accepted_at, shipped_at, status, handling_days in values:
        rows_by_supplier[supplier_id].append(
            _Row(pk, start, accepted_at, shipped_at, status, handling_days)
        )
    order_ids = [row.pk for rows in rows_by_supplier.values() for row in rows]
    rejected = set(
        OrderEvent.objects.filter(
            kind=EventKind.REJECTED,
            supplier_order_id__in=order_ids,
            created_at__lte=now,
        ).values_list("supplier_order_id", flat=True)
    )
    cancelled_by_supplier = set(
        OrderEvent.objects.filter(
            kind=EventKind.CANCELLED,
            supplier_order_id__in=order_ids,
            created_at__lte=now,
            actor__membership__supplier_id=F("supplier_order__supplier_id"),
        ).values_list("supplier_order_id", flat=True)
    )
    questions = _questions_by_supplier(supplier_ids=supplier_ids, since=since, now=now)
    min_orders = settings.SCORECARD_MIN_ORDERS
    accuracy = compute_accuracy(supplier_ids=supplier_ids, now=now)
    feeds = feed_freshness(supplier_ids=supplier_ids, now=now)
    result = {}
    for supplier_id in supplier_ids:
        rows = rows_by_supplier.get(supplier_id, [])
        windows = {
            days: _window(
                days=days,
                rows=[row for row in rows if row.start >= now - timedelta(days=days)],
                now=now,
                rejected=rejected,
                cancelled_by_supplier=cancelled_by_supplier,
                questions=[
                    question
                    for question in questions.get(supplier_id, [])
                    if question.asked_at >= now - timedelta(days=days)
                ],
            )
            for days in WINDOWS
        }
        scored = windows[SCORE_WINDOW]
        score = reliability_score(scored) if scored.orders >= min_orders else None
        result[supplier_id] = Scorecard(
            supplier_id=supplier_id,
            computed_at=now,
            windows=windows,
            min_orders=min_orders,
            score=score,
            improvements=_improvements(scored, rows[0].handling_days if rows else None)
            + _accuracy_improvements(accuracy.get(supplier_id, {}).get(SCORE_WINDOW)),
            accuracy=accuracy.get(supplier_id, {}),
            feed=feeds.get(supplier_id),
        )
    return result


@dataclass
class _Question:
    supplier_id: int
    asked_at: datetime
    answered_at: datetime | None = None


def _questions_by_supplier(
    *, supplier_ids: list[int], since: datetime, now: datetime
) -> dict[int, list[_Question]]:
    """{supplier id: its questions}: a question is a retailer message the supplier had not
    answered yet (the first of a run) with the supplier's next message, in one query."""
    open_questions: dict[int, _Question] = {}  # by thread id
    by_supplier: dict[int, list[_Question]] = defaultdict(list)
    messages = (
        Message.objects.filter(
            thread__supplier_id__in=supplier_ids,
            side__in=(Side.RETAILER, Side.SUPPLIER),
            created_at__gte=since,
            created_at__lte=now,
        )
        .order_by("created_at", "id")
        .values_list("thread_id", "thread__supplier_id", "side", "created_at")
    )
    for thread_id, supplier_id, side, created_at in messages:
        question = open_questions.get(thread_id)
        if side == Side.RETAILER and question is None:
            open_questions[thread_id] = question = _Question(supplier_id, created_at)
            by_supplier[supplier_id].append(question)
        elif side == Side.SUPPLIER and question is not None:
            question.answered_at = created_at
            del open_questions[thread_id]
    return by_supplier


def compute_scorecard(*, supplier: Supplier, now: datetime | None = None) -> Scorecard:
    return compute_scorecards(supplier_ids=[supplier.pk], now=now)[supplier.pk]


def _window(
    *,
    days: int,
    rows: list[_Row],
    now: datetime,
    rejected: set[int],
    cancelled_by_supplier: set[int],
    questions: list[_Question],
) -> WindowFigures:
    acceptance = [
        (row.accepted_at - row.start).total_seconds() / 3600
        for row in rows
        if row.accepted_at is not None and row.accepted_at >= row.start
    ]
    due = on_time = 0
    for row in rows:
        if row.pk in rejected or row.pk in cancelled_by_supplier or row.status == S.CANCELLED:
            continue
        deadline = row.start + timedelta(days=row.handling_days)
        if row.shipped_at is not None:
            due += 1
            on_time += row.shipped_at <= deadline
        elif deadline < now:
            due += 1
    replies = [
        (question.answered_at - question.asked_at).total_seconds() / 3600
        for question in questions
        if question.answered_at is not None
    ]
    n_rejected = sum(row.pk in rejected for row in rows)
    n_cancelled = sum(row.pk in cancelled_by_supplier for row in rows)
    return WindowFigures(
        days=days,
        orders=len(rows),
        accepted=len(acceptance),
        acceptance_p50_hours=_hours(percentile(acceptance, 0.5)),
        acceptance_p90_hours=_hours(percentile(acceptance, 0.9)),
        due=due,
        on_time=on_time,
        on_time_percent=_percent(on_time, due),
        rejected=n_rejected,
        rejected_percent=_percent(n_rejected, len(rows)),
        cancelled_by_supplier=n_cancelled,
        cancelled_by_supplier_percent=_percent(n_cancelled, len(rows)),
        questions=len(questions),
        replied=len(replies),
        first_reply_p50_hours=_hours(percentile(replies, 0.5)),
    )


def acceptance_speed(p90_hours: float | None) -> float:
    """1 within ACCEPTANCE_FAST_HOURS, 0 from ACCEPTANCE_SLOW_HOURS, linear in between."""
    if p90_hours is None or p90_hours <= ACCEPTANCE_FAST_HOURS:
        return 1.0
    if p90_hours >= ACCEPTANCE_SLOW_HOURS:
        return 0.0
    return 1 - (p90_hours - ACCEPTANCE_FAST_HOURS) / (ACCEPTANCE_SLOW_HOURS - ACCEPTANCE_FAST_HOURS)


def reliability_score(figures: WindowFigures) -> int:
    """SCORE_FORMULA applied to one window's figures (a figure with nothing to measure counts
    in full)."""
    on_time = figures.on_time / figures.due if figures.due else 1.0
    rejected = figures.rejected / figures.orders if figures.orders else 0.0
    cancelled = figures.cancelled_by_supplier / figures.orders if figures.orders else 0.0
    score = (
        WEIGHT_ON_TIME * on_time
        + WEIGHT_NOT_REJECTED * (1 - rejected)
        + WEIGHT_NOT_CANCELLED * (1 - cancelled)
        + WEIGHT_ACCEPTANCE * acceptance_speed(figures.acceptance_p90_hours)
    )
    return max(0, min(100, round(score)))


def _improvements(figures: WindowFigures, handling_days: int | None) -> list[str]:
    """What the supplier can do to raise its score, the biggest loss first."""
    tips: list[tuple[float, str]] = []
    if figures.due and figures.on_time < figures.due:
        loss = WEIGHT_ON_TIME * (1 - figures.on_time / figures.due)
        tips.append(
            (
                loss,
                f"Ship within your handling time of {handling_days} day"
                f"{'s' if handling_days != 1 else ''}: {figures.on_time_percent} % of orders "
                f"were on time in the last {figures.days} days.",
            )
        )
    if figures.rejected:
        loss = WEIGHT_NOT_REJECTED * figures.rejected / figures.orders
        tips.append(
            (
                loss,
                f"Keep your stock accurate: {figures.rejected_percent} % of orders were rejected "
                "after they were placed.",
            )
        )
    if figures.cancelled_by_supplier:
        loss = WEIGHT_NOT_CANCELLED * figures.cancelled_by_supplier / figures.orders
        tips.append(
            (
                loss,
                f"Avoid cancelling orders: you cancelled {figures.cancelled_by_supplier_percent} %.",
            )
        )
    speed = acceptance_speed(figures.acceptance_p90_hours)
    if speed < 1:
        tips.append(
            (
                WEIGHT_ACCEPTANCE * (1 - speed),
                f"Accept orders faster: 90 % were accepted within "
                f"{figures.acceptance_p90_hours} h; aim for {ACCEPTANCE_FAST_HOURS} h.",
            )
        )
    return [text for _, text in sorted(tips, key=lambda tip: -tip[0])]


# --- tracking and stock accuracy -----------------------------------------------------------------
@dataclass(frozen=True)
class AccuracyFigures:
    days: int
    parcels: int
    tracking_first_try: int
    tracking_first_try_percent: float | None
    lines: int
    stock_outs: int
    stock_out_percent: float | None


@dataclass(frozen=True)
class FeedFreshness:
    health: str
    last_success_at: datetime | None
    hours_since_success: float | None


# The reason intake writes on a line it could not reserve (orders/services/intake.py).
OUT_OF_STOCK_REASON = "Out of stock"


def compute_accuracy(
    *, supplier_ids: Iterable[int], now: datetime
) -> dict[int, dict[int, AccuracyFigures]]:
    """Valid tracking on first try and stock-outs at reservation per supplier and window: two
    aggregate queries (one row per supplier each), whatever the number of orders."""
    supplier_ids = list(supplier_ids)
    since = {days: now - timedelta(days=days) for days in WINDOWS}
    refused = Q(push_status=Shipment.PushStatus.FAILED) | ~Q(tracker_error="")
    parcels = (
        Shipment.objects.filter(supplier_order__supplier_id__in=supplier_ids)
        .annotate(start=Coalesce("supplier_order__sent_at", "supplier_order__paid_at"))
        .filter(start__gte=since[max(WINDOWS)], start__lte=now)
        .values("supplier_order__supplier_id")
        .annotate(
            **{
                f"parcels_{days}": Count("pk", filter=Q(start__gte=since[days])) for days in WINDOWS
            },
            **{
                f"valid_{days}": Count("pk", filter=Q(start__gte=since[days]) & ~refused)
                for days in WINDOWS
            },
        )
    )
    by_parcels = _counts_by(parcels, "supplier_order__supplier_id")
    out_of_stock = Q(
        status=OrderItem.Status.EXCEPTION, status_reason__startswith=OUT_OF_STOCK_REASON
    )
    lines = (
        OrderItem.objects.filter(
            variant__supplier_id__in=supplier_ids,
            order__created_at__gte=since[max(WINDOWS)],
            order__created_at__lte=now,
        )
        .values("variant__supplier_id")
        .annotate(
            **{
                f"lines_{days}": Count("pk", filter=Q(order__created_at__gte=since[days]))
                for days in WINDOWS
            },
            **{
                f"outs_{days}": Count(
                    "pk", filter=Q(order__created_at__gte=since[days]) & out_of_stock
                )
                for days in WINDOWS
            },
        )
    )
    by_lines = _counts_by(lines, "variant__supplier_id")
    result: dict[int, dict[int, AccuracyFigures]] = {}
    for supplier_id in supplier_ids:
        parcel_row = by_parcels.get(supplier_id, {})
        line_row = by_lines.get(supplier_id, {})
        result[supplier_id] = {}
        for days in WINDOWS:
            n_parcels = parcel_row.get(f"parcels_{days}", 0)
            valid = parcel_row.get(f"valid_{days}", 0)
            n_lines = line_row.get(f"lines_{days}", 0)
            outs = line_row.get(f"outs_{days}", 0)
            result[supplier_id][days] = AccuracyFigures(
                days=days,
                parcels=n_parcels,
                tracking_first_try=valid,
                tracking_first_try_percent=_percent(valid, n_parcels),
                lines=n_lines,
                stock_outs=outs,
                stock_out_percent=_percent(outs, n_lines),
            )
    return result


def _counts_by(rows: Iterable[Any], key: str) -> dict[int, dict[str, int]]:
    return {int(row[key]): {k: int(v) for k, v in row.items() if k != key} for row in rows}


def feed_freshness(*, supplier_ids: Iterable[int], now: datetime) -> dict[int, FeedFreshness]:
    """The inventory feed's health and age of its last good fetch, for suppliers with a feed."""
    result = {}
    for supplier_id, health, last_success_at in SupplierFeed.objects.filter(
        supplier_id__in=list(supplier_ids), is_enabled=True
    ).values_list("supplier_id", "health", "last_success_at"):
        hours = (
            round((now - last_success_at).total_seconds() / 3600, 1)
            if last_success_at is not None
            else None
        )
        result[supplier_id] = FeedFreshness(health, last_success_at, hours)
    return result


def _accuracy_improvements(figures: AccuracyFigures | None) -> list[str]:
    """Tips on tracking and stock accuracy (after the score's own, which cost points)."""
    if figures is None:
        return []
    tips = []
    if figures.parcels and figures.tracking_first_try < figures.parcels:
        tips.append(
            f"Check tracking numbers before you ship: {figures.tracking_first_try_percent} % "
            f"of parcels had a valid tracking number on the first try in the last "
            f"{figures.days} days."
        )
    if figures.stock_outs:
        tips.append(
            f"Update your stock sooner: {figures.stock_out_percent} % of order lines found no "
            "stock though stores still offered the product."
        )
    return tips


# --- nightly rows --------------------------------------------------------------------------------
BATCH = 200


def refresh_supplier_scorecards(
    *, supplier_ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """Store the scorecard of every active supplier (or of `supplier_ids`) as its
    SupplierScorecard row; returns how many rows were written. Safe to run twice: each
    supplier's row is updated in place."""
    now = now or timezone.now()
    if supplier_ids is None:
        supplier_ids = Supplier.objects.filter(status=Supplier.Status.ACTIVE).values_list(
            "pk", flat=True
        )
    ids = sorted(set(supplier_ids))
    written = 0
    for start in range(0, len(ids), BATCH):
        cards = compute_scorecards(supplier_ids=ids[start : start + BATCH], now=now)
        with transaction.atomic():
            for supplier_id, card in cards.items():
                SupplierScorecard.objects.update_or_create(
                    supplier_id=supplier_id,
                    defaults={
                        "computed_at": card.computed_at,
                        "window_days": SCORE_WINDOW,
                        "orders": card.last_90.orders,
                        "score": card.score,
                        "figures": card.figures(),
                    },
                )
                written += 1
    return written
