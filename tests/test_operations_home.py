"""The admin index is the staff operations home: counts of what needs attention, each linked to
the admin list filtered the same way, platform figures with their table, grouped model links."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.roles import SUPPORT_AGENT
from dropship.operations import (
    PLATFORM_CACHE_KEY,
    STUCK_AFTER,
    cached_platform_figures,
    platform_figures,
)
from integrations.models import InboundWebhook
from orders.models import Order, SupplierOrder
from retailers.models import Store
from suppliers.models import Supplier
from tests import factories
from tests.mfa import login_with_second_factor

pytestmark = pytest.mark.django_db


def _webhook(n: int, status: str, *, age: timedelta) -> InboundWebhook:
    webhook = InboundWebhook.objects.create(
        source=InboundWebhook.Source.SHOPIFY,
        topic="orders/create",
        dedup_key=f"evt-ops-{n}",
        body=b'{"id": 1}',
        headers={},
        status=status,
    )
    InboundWebhook.objects.filter(pk=webhook.pk).update(updated_at=timezone.now() - age)
    return webhook


def _trouble(n: int = 0) -> None:
    """Two orders in exception, one held, one failed payment, one failed and one stuck webhook
    (and a fresh one that is not stuck), one store to reconnect, one supplier to review."""
    factories.OrderFactory.create_batch(2, status=Order.Status.EXCEPTION)
    factories.OrderFactory(
        status=Order.Status.HELD_FOR_REVIEW, held_since=timezone.now(), is_held_for_review=True
    )
    factories.OrderFactory(status=Order.Status.CONFIRMED)
    factories.SupplierOrderFactory(status=SupplierOrder.Status.PAYMENT_FAILED)
    _webhook(10 * n + 1, InboundWebhook.Status.FAILED, age=timedelta(0))
    _webhook(10 * n + 2, InboundWebhook.Status.RECEIVED, age=STUCK_AFTER + timedelta(minutes=1))
    _webhook(10 * n + 3, InboundWebhook.Status.RECEIVED, age=timedelta(seconds=5))
    factories.StoreFactory(status=Store.Status.NEEDS_RECONNECT)
    factories.SupplierFactory(status=Supplier.Status.PENDING, onboarding_step="SUBMITTED")
    factories.SupplierFactory(status=Supplier.Status.PENDING, onboarding_step="PROFILE")


def _tiles(response) -> dict[str, tuple[int, str]]:
    return {tile.label: (tile.count, tile.url) for tile in response.context["tiles"]}


def test_the_admin_index_counts_what_needs_attention_and_links_to_the_same_rows(admin_client):
    _trouble()

    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    tiles = _tiles(response)
    assert tiles["Orders needing attention"][0] == 2
    assert tiles["Orders on hold"][0] == 1
    assert tiles["Failed payments"][0] == 1
    assert tiles["Failed webhooks"][0] == 1
    assert tiles["Stuck webhooks"][0] == 1
    assert tiles["Stores needing reconnection"][0] == 1
    assert tiles["Suppliers waiting for review"][0] == 1
    assert tiles["Payouts held or failed"][0] == 0
    # Every link opens the admin list showing exactly the counted rows.
    for label, (count, url) in tiles.items():
        listing = admin_client.get(url)
        assert listing.status_code == 200, label
        assert listing.context["cl"].result_count == count, label
    html = response.content.decode()
    assert 'id="attention"' in html
    assert "Orders and fulfilment" in html
    assert "Money" in html


def test_the_home_costs_the_same_queries_whatever_the_number_of_rows(admin_client):
    _trouble(0)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(reverse("admin:index"))
    for n in range(1, 4):
        _trouble(n)
    cache.delete(PLATFORM_CACHE_KEY)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(reverse("admin:index"))

    assert _tiles(response)["Orders needing attention"][0] == 8
    assert len(many) == len(few)


def test_a_support_agent_sees_the_same_home(client):
    _trouble()
    login_with_second_factor(client, factories.staff_in_group(SUPPORT_AGENT, "sam@support.test"))

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert _tiles(response)["Orders needing attention"][0] == 2
    assert _tiles(response)["Stuck webhooks"][0] == 1


def test_staff_without_a_role_see_no_tile(client):
    _trouble()
    login_with_second_factor(
        client, factories.UserFactory(email="norole@staff.test", is_staff=True)
    )

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert response.context["tiles"] == []
    assert "Your role opens none of the lists" in response.content.decode()


def test_platform_figures_add_up_the_orders_of_each_day():
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    for total, placed in (
        (Decimal("30.00"), now),
        (Decimal("12.50"), now),
        (Decimal("7.25"), yesterday),
    ):
        order = factories.OrderFactory(retail_total=total, placed_at=placed, currency="USD")
        factories.SupplierOrderFactory(
            order=order,
            status=SupplierOrder.Status.SHIPPED,
            wholesale_total=Decimal("10.00"),
            platform_fee=Decimal("1.10"),
            commission_percent=Decimal("5.00"),
            currency="USD",
        )
    factories.OrderFactory(retail_total=Decimal("99.00"), status=Order.Status.CANCELLED)
    factories.OrderFactory(retail_total=Decimal("99.00"), placed_at=now - timedelta(days=40))

    figures = platform_figures(now=now)

    assert len(figures.days) == 30
    assert figures.days[-1].day == now.date()
    assert (figures.days[-1].orders, figures.days[-1].gmv) == (2, Decimal("42.50"))
    assert (figures.days[-2].orders, figures.days[-2].gmv) == (1, Decimal("7.25"))
    assert figures.orders == 3
    assert figures.gmv == Decimal("49.75")
    assert figures.platform_fees == Decimal("3.30")
    assert figures.commission == Decimal("1.50")


def test_the_home_draws_the_charts_with_their_table(admin_client):
    factories.OrderFactory(retail_total=Decimal("30.00"), currency="USD")

    html = admin_client.get(reverse("admin:index")).content.decode()

    assert 'id="gmv-chart"' in html
    assert "<polyline" in html
    assert 'id="orders-chart"' in html
    assert "<rect" in html
    assert 'id="platform-days"' in html
    assert "$30.00" in html


def test_an_empty_marketplace_says_when_the_charts_appear(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert "the charts appear with the first order" in html
    assert 'id="gmv-chart"' not in html


def test_platform_figures_are_cached_and_tiles_stay_live(admin_client, django_assert_num_queries):
    first = cached_platform_figures()
    factories.OrderFactory(retail_total=Decimal("30.00"), currency="USD")
    with django_assert_num_queries(0):
        again = cached_platform_figures()
    assert again.orders == first.orders == 0

    response = admin_client.get(reverse("admin:index"))
    assert response.context["platform"].orders == 0  # until the cache expires
    factories.OrderFactory(status=Order.Status.EXCEPTION)
    assert _tiles(admin_client.get(reverse("admin:index")))["Orders needing attention"][0] == 1
