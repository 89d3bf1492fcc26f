import threading

import pytest
from django.db import close_old_connections, transaction

from catalog.models import StockMovement, Variant
from catalog.services.reservations import (
    ReservationError,
    release_stock,
    reserve_stock,
    ship_stock,
)
from tests import factories


@pytest.mark.django_db
def test_reserve_holds_what_is_available_and_refuses_the_rest():
    variant = factories.VariantFactory(stock_on_hand=5)
    other = factories.VariantFactory(stock_on_hand=1)
    with transaction.atomic():
        applied = reserve_stock(
            lines=[(variant.pk, 3), (other.pk, 2), (variant.pk, 2), (variant.pk, 1)],
            reference="#1001",
        )
    assert applied == [True, False, True, False]
    variant.refresh_from_db()
    other.refresh_from_db()
    assert (variant.stock_on_hand, variant.stock_reserved) == (5, 5)
    assert other.stock_reserved == 0
    movements = StockMovement.objects.filter(variant=variant).order_by("id")
    assert [(m.reserved_before, m.reserved_after) for m in movements] == [(0, 3), (3, 5)]
    assert {m.source for m in movements} == {"RESERVATION"}


@pytest.mark.django_db
def test_release_and_ship_move_reserved_and_on_hand_together():
    variant = factories.VariantFactory(stock_on_hand=10, stock_reserved=4)
    with transaction.atomic():
        assert ship_stock(lines=[(variant.pk, 3)], reference="SO-1") == [True]
        assert release_stock(lines=[(variant.pk, 1)], reference="SO-1") == [True]
        assert release_stock(lines=[(variant.pk, 1)], reference="SO-1") == [False]
    variant.refresh_from_db()
    assert (variant.stock_on_hand, variant.stock_reserved) == (7, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -1, 1.5, "2", True])
def test_quantities_must_be_positive_whole_numbers(quantity):
    variant = factories.VariantFactory()
    with pytest.raises(ReservationError, match="whole number above 0"), transaction.atomic():
        reserve_stock(lines=[(variant.pk, quantity)], reference="x")
    variant.refresh_from_db()
    assert variant.stock_reserved == 0


@pytest.mark.django_db(transaction=True)
def test_reservations_outside_a_transaction_are_refused():
    variant = factories.VariantFactory()
    with pytest.raises(ReservationError, match="inside the order's transaction"):
        reserve_stock(lines=[(variant.pk, 1)], reference="x")


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_oversell():
    variant = factories.VariantFactory(stock_on_hand=10)
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def buy():
        try:
            start.wait()
            for _ in range(4):
                with transaction.atomic():
                    [ok] = reserve_stock(lines=[(variant.pk, 1)], reference="race")
                with lock:
                    results.append(ok)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=buy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    variant = Variant.objects.get(pk=variant.pk)
    assert results.count(True) == 10
    assert len(results) == 32
    assert variant.stock_reserved == 10
