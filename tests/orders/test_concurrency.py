"""Concurrent orders against PostgreSQL: never oversold, never doubled."""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from catalog.models import Variant
from integrations.shopify.mappers import order_from_webhook
from orders.models import Order, OrderItem, SupplierOrder
from orders.services.intake import receive_store_order
from tests.orders.pipeline import make_offer, make_supplier, numeric, shopify_order, terms_store

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(function, *args):
    try:
        return function(*args)
    finally:
        connection.close()


def test_200_orders_from_10_stores_for_the_last_50_units_reserve_exactly_50():
    supplier = make_supplier()
    stores, offers = [], []
    first = None
    for _ in range(10):
        store = terms_store()
        if first is None:
            first = make_offer(store=store, supplier=supplier, stock=50)
            offer = first
        else:
            offer = make_offer(store=store, supplier=supplier, stock=0)
            offer.variant = first.variant
            offer.save()  # every store lists the same supplier variant
        stores.append(store)
        offers.append(offer)
    jobs = []
    for index in range(200):
        store, offer = stores[index % 10], offers[index % 10]
        payload = shopify_order(
            order_id=10_000 + index,
            lines=[(numeric(offer.store_variant_id), first.variant.sku, 1)],
        )
        jobs.append((store, order_from_webhook(payload)))
    start = threading.Barrier(16)

    def place(store, data):
        with contextlib.suppress(threading.BrokenBarrierError):
            start.wait(timeout=30)
        return receive_store_order(store=store, data=data).created

    with ThreadPoolExecutor(max_workers=16) as pool:
        created = list(pool.map(lambda job: _in_thread(place, *job), jobs))
    assert all(created)
    variant = Variant.objects.get(pk=first.variant_id)
    assert variant.stock_on_hand == 50
    assert variant.stock_reserved == 50
    assert Order.objects.count() == 200
    items = OrderItem.objects.filter(variant=variant)
    assert items.filter(status=OrderItem.Status.RESERVED).count() == 50
    assert items.filter(status=OrderItem.Status.EXCEPTION).count() == 150
    assert items.count() == 200
    assert SupplierOrder.objects.count() == 50
    assert set(SupplierOrder.objects.values_list("status", flat=True)) == {"SENT"}
    assert Order.objects.filter(status=Order.Status.EXCEPTION).count() == 150


def test_same_order_delivered_three_times_concurrently_creates_one_order():
    store = terms_store()
    offer = make_offer(store=store, stock=5)
    data = order_from_webhook(
        shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 2)])
    )
    barrier = threading.Barrier(3)

    def deliver():
        barrier.wait(timeout=30)
        return receive_store_order(store=store, data=data).created

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = [pool.submit(_in_thread, deliver) for _ in range(3)]
        created = sorted(result.result() for result in results)
    assert created == [False, False, True]
    assert Order.objects.count() == 1
    assert SupplierOrder.objects.count() == 1
    assert OrderItem.objects.count() == 1
    assert Variant.objects.get(pk=offer.variant_id).stock_reserved == 2
