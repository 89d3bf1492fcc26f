"""The measured supplier scorecard over a scripted supplier history: each figure, the two
windows, the new-supplier threshold, the score formula, the nightly rows (safe to run twice) and a
fixed number of queries for any number of suppliers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Message, Side, Thread
from messaging.services import post_message
from orders.models import OrderEvent, SupplierOrder
from orders.services.scorecard import (
    acceptance_speed,
    compute_scorecard,
    compute_scorecards,
    percentile,
    refresh_supplier_scorecards,
)
from orders.services.timeline import EventKind
from orders.tasks import refresh_supplier_scorecards_task
from suppliers.models import SupplierScorecard
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

S = SupplierOrder.Status
H = timedelta(hours=1)
D = timedelta(days=1)


def _order(supplier, now, *, sent_ago, accepted=None, shipped=None, status=S.SHIPPED):
    sent_at = now - sent_ago
    return factories.SupplierOrderFactory(
        supplier=supplier,
        status=status,
        paid_at=sent_at,
        sent_at=sent_at,
        accepted_at=sent_at + accepted if accepted is not None else None,
        shipped_at=sent_at + shipped if shipped is not None else None,
    )


def _event(supplier_order, kind, actor=None):
    OrderEvent.objects.create(
        order=supplier_order.order,
        supplier_order=supplier_order,
        kind=kind,
        message=kind,
        actor=actor,
    )


@pytest.fixture
def history():
    """A supplier with a 2-day handling time and ten supplier orders:

    A  sent 10 d ago, accepted after 1 h, shipped after 1 d       on time
    B  sent 10 d ago, accepted after 2 h, shipped after 3 d       late
    C  sent 20 d ago, accepted after 3 h, shipped after exactly 2 d  on time
    D  sent  5 d ago, accepted after 4 h, not shipped             due, late
    E  sent  1 h ago, not accepted                                not due yet
    F  sent  8 d ago, accepted after 100 h, then rejected         rejected
    G  sent 40 d ago, accepted after 5 h, shipped after 1 d       on time, 90-day window only
    H  sent  6 d ago, cancelled by a member of the supplier        cancelled by the supplier
    I  sent  7 d ago, cancelled by the retailer                    not the supplier's doing
    J  sent 100 d ago                                             outside both windows
    """
    now = timezone.now()
    supplier = factories.SupplierFactory(handling_days=2)
    supplier_member = factories.SupplierMemberFactory(supplier=supplier).user
    retailer_member = factories.RetailerMemberFactory().user
    _order(supplier, now, sent_ago=10 * D, accepted=1 * H, shipped=1 * D)
    _order(supplier, now, sent_ago=10 * D, accepted=2 * H, shipped=3 * D)
    _order(supplier, now, sent_ago=20 * D, accepted=3 * H, shipped=2 * D)
    _order(supplier, now, sent_ago=5 * D, accepted=4 * H, status=S.ACCEPTED)
    _order(supplier, now, sent_ago=1 * H, status=S.SENT)
    rejected = _order(supplier, now, sent_ago=8 * D, accepted=100 * H, status=S.EXCEPTION)
    _event(rejected, EventKind.REJECTED, actor=supplier_member)
    _order(supplier, now, sent_ago=40 * D, accepted=5 * H, shipped=1 * D)
    by_supplier = _order(supplier, now, sent_ago=6 * D, status=S.CANCELLED)
    _event(by_supplier, EventKind.CANCELLED, actor=supplier_member)
    by_retailer = _order(supplier, now, sent_ago=7 * D, status=S.CANCELLED)
    _event(by_retailer, EventKind.CANCELLED, actor=retailer_member)
    _order(supplier, now, sent_ago=100 * D, accepted=1 * H, shipped=1 * D)
    # Another supplier's late, rejected order changes nothing above.
    other = _order(factories.SupplierFactory(), now, sent_ago=3 * D, accepted=90 * H)
    _event(other, EventKind.REJECTED)
    return supplier


def test_percentile_interpolates_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1, 2, 3, 4, 100], 0.5) == 3
    assert percentile([1, 2, 3, 4, 100], 0.9) == pytest.approx(61.6)


def test_last_30_days(history):
    figures = compute_scorecard(supplier=history).last_30

    assert figures.orders == 8  # A B C D E F H I
    assert figures.accepted == 5  # A B C D F: 1, 2, 3, 4, 100 hours
    assert figures.acceptance_p50_hours == 3.0
    assert figures.acceptance_p90_hours == 61.6
    assert (figures.due, figures.on_time, figures.on_time_percent) == (4, 2, 50.0)  # A C / B D
    assert (figures.rejected, figures.rejected_percent) == (1, 12.5)
    assert (figures.cancelled_by_supplier, figures.cancelled_by_supplier_percent) == (1, 12.5)
    assert figures.returns_disputes_percent is None


def test_last_90_days_and_score(history, settings):
    settings.SCORECARD_MIN_ORDERS = 9
    card = compute_scorecard(supplier=history)
    figures = card.last_90

    assert figures.orders == 9  # and G
    assert figures.acceptance_p50_hours == 3.5  # 1 2 3 4 5 100
    assert figures.acceptance_p90_hours == 52.5
    assert (figures.due, figures.on_time, figures.on_time_percent) == (5, 3, 60.0)
    assert figures.rejected_percent == figures.cancelled_by_supplier_percent == 11.1
    # 40 × 3/5 + 25 × 8/9 + 15 × 8/9 + 20 × (1 − (52.5 − 24) / 48) = 24 + 22.22 + 13.33 + 8.13
    assert acceptance_speed(52.5) == pytest.approx(0.40625)
    assert card.score == 68
    assert not card.is_new_supplier
    # Biggest loss first: shipping late costs 16 points, slow acceptance 11.9, rejections 2.8.
    assert card.improvements[0].startswith("Ship within your handling time of 2 days: 60.0 %")
    assert card.improvements[1].startswith("Accept orders faster: 90 % were accepted within 52.5 h")
    assert "rejected" in card.improvements[2]
    assert "cancelling" in card.improvements[3]


def test_fewer_orders_than_the_setting_is_a_new_supplier(history, settings):
    settings.SCORECARD_MIN_ORDERS = 10
    card = compute_scorecard(supplier=history)
    assert card.last_90.orders == 9
    assert card.score is None
    assert card.is_new_supplier


def test_a_supplier_without_orders_is_new_and_has_empty_figures():
    card = compute_scorecard(supplier=factories.SupplierFactory())
    assert card.is_new_supplier
    assert card.last_30.orders == 0
    assert card.last_30.acceptance_p50_hours is None
    assert card.last_30.on_time_percent is None
    assert card.improvements == []


def test_a_perfect_record_scores_100(settings):
    settings.SCORECARD_MIN_ORDERS = 2
    now = timezone.now()
    supplier = factories.SupplierFactory(handling_days=1)
    for _ in range(2):
        _order(supplier, now, sent_ago=3 * D, accepted=2 * H, shipped=20 * H)
    card = compute_scorecard(supplier=supplier)
    assert card.score == 100
    assert card.improvements == []


def test_nightly_rows_are_written_once_per_supplier(history, settings):
    settings.SCORECARD_MIN_ORDERS = 9
    suspended = factories.SupplierFactory(status="SUSPENDED")

    assert refresh_supplier_scorecards_task.apply().get() >= 2
    refresh_supplier_scorecards()  # a second run rewrites the same rows

    row = SupplierScorecard.objects.get(supplier=history)
    assert SupplierScorecard.objects.filter(supplier=history).count() == 1
    assert (row.score, row.orders, row.window_days) == (68, 9, 90)
    assert row.figures["30"]["acceptance_p90_hours"] == 61.6
    assert row.figures["90"]["on_time_percent"] == 60.0
    assert not SupplierScorecard.objects.filter(supplier=suspended).exists()


def test_many_suppliers_in_a_fixed_number_of_queries(history, django_assert_num_queries):
    others = [factories.SupplierFactory() for _ in range(3)]
    now = timezone.now()
    for supplier in others:
        _order(supplier, now, sent_ago=2 * D, accepted=1 * H, shipped=1 * D)
    # three for the score's figures, two for tracking and stock accuracy, one for the feeds, one
    # for the first replies to retailers' messages
    with django_assert_num_queries(7):
        cards = compute_scorecards(supplier_ids=[history.pk, *(s.pk for s in others)])
    assert len(cards) == 4
    assert cards[others[0].pk].last_30.on_time_percent == 100.0


def test_median_first_reply_time_to_retailers_messages():
    """Each retailer question (the first message of a run) is timed to the supplier's next
    message; unanswered ones are counted, not timed; support's messages are not answers."""
    now = timezone.now()
    supplier = factories.SupplierFactory()
    asked = [
        # (asked ago, supplier answers after, by support first)
        (10 * D, 2 * H),
        (5 * D, 6 * H),
        (40 * D, 20 * H),  # 90-day window only
        (2 * D, None),  # not answered yet
    ]
    for ago, answer_after in asked:
        supplier_order = factories.SupplierOrderFactory(supplier=supplier)
        thread = Thread.objects.create(
            supplier_order=supplier_order,
            retailer=supplier_order.order.retailer,
            supplier=supplier,
            created_at=now - ago,
            last_message_at=now - ago,
            last_message_side=Side.RETAILER,
        )
        Message.objects.create(thread=thread, side=Side.RETAILER, body="?", created_at=now - ago)
        # A second retailer message before the answer does not restart the clock; support's
        # message in between is no answer from the supplier.
        Message.objects.create(
            thread=thread, side=Side.RETAILER, body="??", created_at=now - ago + H / 2
        )
        Message.objects.create(thread=thread, side=Side.SUPPORT, body="!", created_at=now - ago + H)
        if answer_after is not None:
            Message.objects.create(
                thread=thread, side=Side.SUPPLIER, body="ok", created_at=now - ago + answer_after
            )
    # Another supplier's slow answer changes nothing here.
    other = factories.SupplierOrderFactory()
    post_message(supplier_order=other, side=Side.RETAILER, body="?")

    card = compute_scorecard(supplier=supplier, now=now)

    assert (card.last_30.questions, card.last_30.replied) == (3, 2)
    assert card.last_30.first_reply_p50_hours == 4.0  # 2 h and 6 h
    assert (card.last_90.questions, card.last_90.replied) == (4, 3)
    assert card.last_90.first_reply_p50_hours == 6.0  # 2, 6, 20 h
    assert card.figures()["30"]["first_reply_p50_hours"] == 4.0
