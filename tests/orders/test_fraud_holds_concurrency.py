"""Two people release the same held order at the same moment (two tabs, a double click that
reached two workers): on PostgreSQL the row lock lets one route it; the other is told it was
released already. The order is charged and sent once (issue 19, point 10)."""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Charge
from catalog.models import Variant
from integrations.shopify.mappers import order_from_webhook
from orders.models import FraudRule, Order, SupplierOrder
from orders.services.holds import OrderReviewError, release_review_hold
from orders.services.intake import receive_store_order
from tests.orders.pipeline import make_offer, numeric, shopify_order, terms_store

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_releases_at_once_route_the_order_once():
    FraudRule.objects.update_or_create(
        retailer=None,
        kind=FraudRule.Kind.ORDER_VALUE,
        defaults={"is_enabled": True, "amount": Decimal("100.00")},
    )
    store = terms_store()
    offer = make_offer(store=store, stock=5)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 2)])
    order = receive_store_order(store=store, data=order_from_webhook(payload)).order
    assert Order.objects.get(pk=order.pk).status == Order.Status.HELD_FOR_REVIEW
    barrier = threading.Barrier(2)

    def release(_: int) -> str:
        try:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=30)
            try:
                return f"routed {len(release_review_hold(order=Order(pk=order.pk)))}"
            except OrderReviewError as exc:
                return exc.message
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(release, range(2)))

    assert outcomes == [
        f"Order {order.number} is not held for review (it was released already), so there is "
        "nothing to release.",
        "routed 1",
    ]
    supplier_order = SupplierOrder.objects.get(order=order)
    assert supplier_order.status == SupplierOrder.Status.SENT
    assert Charge.objects.filter(supplier_order=supplier_order).count() == 1
    assert Variant.objects.get(pk=offer.variant_id).stock_reserved == 2
    assert Order.objects.get(pk=order.pk).status == Order.Status.CONFIRMED
