"""Two requests for the same delivered units at the same moment (PostgreSQL, real threads): the
supplier order's row lock makes one wait for the other's count, so exactly one return is opened
and the other is refused with the reason."""

import threading

import pytest
from django.db import connection

from orders.models import ReturnLine, ReturnRequest
from orders.services import returns
from orders.services.returns import ReturnError, ReturnLineRequest
from tests.orders.returns_helpers import delivered_to_members

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_returns_of_the_same_units_at_once_open_exactly_one(
    client, stripe_sandbox, carrier_sandbox, django_capture_on_commit_callbacks
):
    supplier_order, _, _ = delivered_to_members(
        client, stripe_sandbox, carrier_sandbox, django_capture_on_commit_callbacks
    )
    item = supplier_order.items.get()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def ask() -> None:
        try:
            barrier.wait()
            returns.open_return(
                order=supplier_order.order,
                lines=[ReturnLineRequest(order_item_id=item.pk, quantity=2)],
                reason_code="DEFECTIVE",
            )
            outcomes.append("opened")
        except ReturnError as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == [
        "2 of the 2 “Linen apron 1” delivered are already in a return; 0 can still be returned.",
        "opened",
    ]
    assert ReturnRequest.objects.count() == 1
    assert list(ReturnLine.objects.values_list("quantity", flat=True)) == [2]
