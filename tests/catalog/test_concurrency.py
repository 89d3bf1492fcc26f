"""Concurrent stock updates on PostgreSQL: the API and the catalog page racing on one variant."""

import itertools
import json
import threading

import pytest
from django.db import connection
from django.test import Client

from catalog.models import StockMovement
from dropship.accounts.services import create_api_key
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 8


def test_concurrent_api_and_page_updates_leave_a_consistent_history():
    member = factories.SupplierMemberFactory()
    variant = factories.VariantFactory(
        product__supplier=member.supplier, sku="RACE-1", stock_on_hand=50, stock_reserved=5
    )
    _, secret = create_api_key(organisation=member.supplier, name="WMS", created_by=None)
    barrier = threading.Barrier(2 * ROUNDS)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def via_api(quantity: int) -> None:
        try:
            client = Client()
            barrier.wait()
            response = client.put(
                "/api/v1/supplier/variants/RACE-1/inventory",
                data=json.dumps({"quantity": quantity}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
            )
            statuses.append(response.status_code)
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            failures.append(exc)
        finally:
            connection.close()

    def via_page(quantity: int) -> None:
        try:
            client = Client()
            client.force_login(member.user)
            barrier.wait()
            response = client.post(
                f"/supplier/catalog/variants/{variant.pk}/stock/",
                {"stock_on_hand": str(quantity)},
                HTTP_HX_REQUEST="true",
            )
            assert b"Saved" in response.content
            statuses.append(response.status_code)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=via_api, args=(100 + i,)) for i in range(ROUNDS)]
    threads += [threading.Thread(target=via_page, args=(200 + i,)) for i in range(ROUNDS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert statuses == [200] * (2 * ROUNDS)
    movements = list(StockMovement.objects.filter(variant=variant).order_by("id"))
    assert len(movements) == 2 * ROUNDS  # every request changed the quantity exactly once
    assert movements[0].on_hand_before == 50
    for previous, current in itertools.pairwise(movements):
        assert current.on_hand_before == previous.on_hand_after
    assert {m.source for m in movements} == {"API", "PAGE"}
    assert all(m.reserved_before == m.reserved_after == 5 for m in movements)
    assert sorted(m.on_hand_after for m in movements) == sorted(
        [100 + i for i in range(ROUNDS)] + [200 + i for i in range(ROUNDS)]
    )
    variant.refresh_from_db()
    assert variant.stock_on_hand == movements[-1].on_hand_after


def test_concurrent_bulk_upserts_of_the_same_new_skus_create_each_once_and_never_500():
    supplier = factories.SupplierFactory()
    _, secret = create_api_key(organisation=supplier, name="PIM", created_by=None)
    items = [
        {
            "sku": f"RACE-{n:02}",
            "handle": f"race-{n // 10}",
            "title": f"Race {n // 10}",
            "option_names": ["Size"],
            "option_values": [f"S{n % 10}"],
            "wholesale_price": "3.00",
            "stock": 5,
        }
        for n in range(50)
    ]
    callers = 4
    barrier = threading.Barrier(callers)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def upsert() -> None:
        try:
            client = Client()
            barrier.wait()
            response = client.post(
                "/api/v1/supplier/variants/bulk-upsert",
                data=json.dumps({"items": items}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
            )
            statuses.append(response.status_code)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upsert) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert set(statuses) <= {200, 409}  # a loser answers 409 "send the batch again"
    assert 200 in statuses
    assert supplier.variants.count() == 50
    assert supplier.products.count() == 5
    assert sorted(set(supplier.variants.values_list("stock_on_hand", flat=True))) == [5]
