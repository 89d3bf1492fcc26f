"""Fulfilment racing itself on PostgreSQL: retried ship calls, ship against reject, two parcels
for the last units. Nothing ships twice, stock never goes negative, the losers hear why."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from catalog.models import Variant
from dropship.accounts.services import create_api_key
from orders.models import Shipment, SupplierOrder
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
UPS = "1Z999AA10123456784"


@pytest.fixture(autouse=True)
def _store_unreachable(settings, client_sleeps):
    # The tracking push after commit finds no store (port 9 refuses at once) and stays PENDING;
    # the client's quick retries are recorded in client_sleeps instead of slept.
    settings.SHOPIFY_BASE_URL = "http://127.0.0.1:9"


def _race(calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index, call):
        try:
            client = Client()
            barrier.wait()
            results[index] = call(client)
        except BaseException as exc:  # surfaced below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return results


def _setup():
    supplier_order = factories.make_supplier_order(lines=[(2, None)])
    _, secret = create_api_key(organisation=supplier_order.supplier, name="ERP", created_by=None)
    return supplier_order, {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _ship(supplier_order, auth, number=UPS, carrier="UPS"):
    def call(client):
        return client.post(
            f"/api/v1/supplier/orders/{supplier_order.pk}/ship",
            data=json.dumps({"carrier": carrier, "tracking_number": number}),
            content_type="application/json",
            **auth,
        ).status_code

    return call


def test_the_same_ship_call_retried_in_parallel_ships_once():
    supplier_order, auth = _setup()

    statuses = _race([_ship(supplier_order, auth) for _ in range(4)])

    assert statuses == [200, 200, 200, 200]
    assert Shipment.objects.count() == 1
    variant = Variant.objects.get(pk=supplier_order.items.get().variant_id)
    assert (variant.stock_on_hand, variant.stock_reserved) == (8, 0)


def test_two_parcels_for_the_same_units_one_wins():
    supplier_order, auth = _setup()

    statuses = _race(
        [_ship(supplier_order, auth), _ship(supplier_order, auth, "1234567890", "DHL")]
    )

    assert sorted(statuses) == [200, 409]
    assert Shipment.objects.count() == 1
    variant = Variant.objects.get(pk=supplier_order.items.get().variant_id)
    assert (variant.stock_on_hand, variant.stock_reserved) == (8, 0)


def test_ship_racing_reject_leaves_consistent_stock():
    supplier_order, auth = _setup()

    def reject(client):
        return client.post(
            f"/api/v1/supplier/orders/{supplier_order.pk}/reject",
            data=json.dumps({"reason": "Out of stock"}),
            content_type="application/json",
            **auth,
        ).status_code

    shipped, rejected = _race([_ship(supplier_order, auth), reject])

    assert sorted([shipped, rejected]) == [200, 409]
    supplier_order.refresh_from_db()
    variant = Variant.objects.get(pk=supplier_order.items.get().variant_id)
    if shipped == 200:
        assert supplier_order.status == SupplierOrder.Status.SHIPPED
        assert (variant.stock_on_hand, variant.stock_reserved) == (8, 0)
    else:
        assert supplier_order.status == SupplierOrder.Status.EXCEPTION
        assert (variant.stock_on_hand, variant.stock_reserved) == (10, 0)
        assert Shipment.objects.count() == 0
