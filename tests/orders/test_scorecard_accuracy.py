"""Tracking and stock accuracy on the scorecard (orders/services/scorecard.py) over a scripted
supplier history: valid tracking on first try, stock-outs at reservation, feed freshness, the
tips they give, and what the nightly row stores."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import OrderItem, Shipment, SupplierOrder
from orders.services.scorecard import compute_scorecard, refresh_supplier_scorecards
from suppliers.models import SupplierFeed, SupplierScorecard
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

D = timedelta(days=1)


def _parcel(supplier, now, *, sent_ago, n, tracker_error="", push=Shipment.PushStatus.PUSHED):
    sent_at = now - sent_ago
    supplier_order = factories.SupplierOrderFactory(
        supplier=supplier,
        status=SupplierOrder.Status.SHIPPED,
        paid_at=sent_at,
        sent_at=sent_at,
        shipped_at=sent_at + D,
    )
    Shipment.objects.create(
        supplier_order=supplier_order,
        carrier="usps",
        tracking_number=f"9400100000000000000{n:03d}",
        shipped_at=sent_at + D,
        tracker_error=tracker_error,
        push_status=push,
    )


def _line(variant, now, *, ago, status=OrderItem.Status.RESERVED, reason=""):
    order = factories.OrderFactory()
    factories.OrderItemFactory(order=order, variant=variant, status=status, status_reason=reason)
    # created_at is set on insert; the history places the order in the past
    type(order).objects.filter(pk=order.pk).update(created_at=now - ago)


@pytest.fixture
def history():
    """Parcels: P1 fine, P2 refused by the tracking provider, P3 refused by the store for good
    (all within 30 days), P4 fine 60 days ago. Lines: four within 30 days, one of them out of
    stock at reservation and one refused for the minimum order value (not a stock-out); one out
    of stock 60 days ago; another supplier's stock-out."""
    now = timezone.now()
    supplier = factories.SupplierFactory()
    _parcel(supplier, now, sent_ago=3 * D, n=1)
    _parcel(supplier, now, sent_ago=4 * D, n=2, tracker_error="Invalid tracking number")
    _parcel(supplier, now, sent_ago=5 * D, n=3, push=Shipment.PushStatus.FAILED)
    _parcel(supplier, now, sent_ago=60 * D, n=4)
    variant = factories.VariantFactory(product__supplier=supplier)
    _line(variant, now, ago=2 * D)
    _line(variant, now, ago=2 * D)
    _line(
        variant,
        now,
        ago=3 * D,
        status=OrderItem.Status.EXCEPTION,
        reason="Out of stock: Acme had fewer than 2 of SKU-1 available.",
    )
    _line(
        variant,
        now,
        ago=3 * D,
        status=OrderItem.Status.EXCEPTION,
        reason="Below Acme's minimum order value of $50.00.",
    )
    _line(
        variant,
        now,
        ago=60 * D,
        status=OrderItem.Status.EXCEPTION,
        reason="Out of stock: Acme had fewer than 1 of SKU-1 available.",
    )
    other = factories.VariantFactory()
    _line(other, now, ago=D, status=OrderItem.Status.EXCEPTION, reason="Out of stock: other")
    return supplier


def test_valid_tracking_on_first_try_and_stock_outs_per_window(history):
    card = compute_scorecard(supplier=history)

    last_30, last_90 = card.accuracy_30, card.accuracy_90
    assert (last_30.parcels, last_30.tracking_first_try) == (3, 1)
    assert last_30.tracking_first_try_percent == 33.3
    assert (last_90.parcels, last_90.tracking_first_try) == (4, 2)
    assert last_90.tracking_first_try_percent == 50.0
    assert (last_30.lines, last_30.stock_outs, last_30.stock_out_percent) == (4, 1, 25.0)
    assert (last_90.lines, last_90.stock_outs, last_90.stock_out_percent) == (5, 2, 40.0)
    assert any(
        tip.startswith("Check tracking numbers before you ship: 50.0 %")
        for tip in card.improvements
    )
    assert any(tip.startswith("Update your stock sooner: 40.0 %") for tip in card.improvements)


def test_a_supplier_with_nothing_shipped_has_no_accuracy_figures_and_no_tips():
    card = compute_scorecard(supplier=factories.SupplierFactory())

    assert card.accuracy_30.parcels == 0
    assert card.accuracy_30.tracking_first_try_percent is None
    assert card.accuracy_90.stock_out_percent is None
    assert card.feed is None
    assert card.improvements == []


def test_feed_freshness_is_the_age_of_the_last_good_fetch(history):
    now = timezone.now()
    SupplierFeed.objects.create(
        supplier=history,
        url="https://feeds.example.com/stock.csv",
        health=SupplierFeed.Health.STALE,
        last_success_at=now - timedelta(hours=5),
    )

    card = compute_scorecard(supplier=history, now=now)

    assert card.feed.health == "STALE"
    assert card.feed.hours_since_success == 5.0


def test_the_nightly_row_keeps_the_accuracy_figures(history):
    refresh_supplier_scorecards(supplier_ids=[history.pk])
    refresh_supplier_scorecards(supplier_ids=[history.pk])  # safe to run twice

    row = SupplierScorecard.objects.get(supplier=history)
    assert row.figures["30"]["tracking_first_try_percent"] == 33.3
    assert row.figures["90"]["stock_out_percent"] == 40.0
    assert row.figures["30"]["orders"] == 3


def test_the_supplier_page_and_the_api_show_the_accuracy_figures(client, history):
    member = factories.SupplierMemberFactory(supplier=history)
    client.force_login(member.user)

    body = client.get("/supplier/analytics/").content.decode()

    assert "Valid tracking on first try" in body
    assert "33.3 %" in body
    assert "Order lines out of stock at order" in body
    assert "Check tracking numbers before you ship" in body

    client.logout()
    api = client.get(f"/api/v1/suppliers/{history.pk}/scorecard").json()
    assert api["last_30_days"]["valid_tracking_first_try_percent"] == 33.3
    assert api["last_90_days"]["stock_out_at_order_percent"] == 40.0
