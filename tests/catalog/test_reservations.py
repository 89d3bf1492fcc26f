import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import StockMovement, Variant
from catalog.services.reservations import (
    ReservationError,
    release_stock,
    reserve_stock,
    ship_stock,
)
from retailers.models import ListingVariant, VariantChange
from tests import factories


@pytest.mark.embedded
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


@pytest.mark.embedded
@pytest.mark.django_db
def test_release_and_ship_move_reserved_and_on_hand_together():
    variant = factories.VariantFactory(stock_on_hand=10, stock_reserved=4)
    with transaction.atomic():
        assert ship_stock(lines=[(variant.pk, 3)], reference="SO-1") == [True]
        assert release_stock(lines=[(variant.pk, 1)], reference="SO-1") == [True]
        assert release_stock(lines=[(variant.pk, 1)], reference="SO-1") == [False]
    variant.refresh_from_db()
    assert (variant.stock_on_hand, variant.stock_reserved) == (7, 0)


@pytest.mark.embedded
@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -1, 1.5, "2", True])
def test_quantities_must_be_positive_whole_numbers(quantity):
    variant = factories.VariantFactory()
    with pytest.raises(ReservationError, match="whole number above 0"), transaction.atomic():
        reserve_stock(lines=[(variant.pk, quantity)], reference="x")
    variant.refresh_from_db()
    assert variant.stock_reserved == 0


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_reservations_outside_a_transaction_are_refused():
    variant = factories.VariantFactory()
    with pytest.raises(ReservationError, match="inside the order's transaction"):
        reserve_stock(lines=[(variant.pk, 1)], reference="x")


@pytest.mark.embedded
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
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    variant = Variant.objects.get(pk=variant.pk)
    assert results.count(True) == 10
    assert len(results) == 32
    assert variant.stock_reserved == 10


@pytest.mark.django_db
def test_many_lines_are_applied_each_on_its_own_condition_in_one_statement(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    plenty = factories.VariantFactory(stock_on_hand=10)
    short = factories.VariantFactory(stock_on_hand=1)
    shelved = factories.VariantFactory(stock_on_hand=4, stock_reserved=3)
    listed = factories.ListingVariantFactory(variant=plenty, is_inventory_dirty=False)
    version = listed.inventory_version
    actor = factories.UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic(), django_assert_num_queries(1):
            applied = reserve_stock(
                lines=[(short.pk, 2), (shelved.pk, 1), (plenty.pk, 4)], reference="#7", actor=actor
            )
        # Recorded in the statement, one change per variant; no store's listing touched yet.
        assert sorted(VariantChange.objects.values_list("variant_id", flat=True)) == sorted(
            [plenty.pk, shelved.pk]
        )
        assert not ListingVariant.objects.get(pk=listed.pk).is_inventory_dirty
    assert applied == [False, True, True]
    assert not VariantChange.objects.exists()  # fanned out after commit
    stock = dict(Variant.objects.values_list("pk", "stock_reserved"))
    assert (stock[plenty.pk], stock[short.pk], stock[shelved.pk]) == (4, 0, 4)
    moves = {m.variant_id: m for m in StockMovement.objects.all()}
    assert set(moves) == {plenty.pk, shelved.pk}
    assert (moves[plenty.pk].reserved_before, moves[plenty.pk].reserved_after) == (0, 4)
    assert (moves[shelved.pk].reserved_before, moves[shelved.pk].reserved_after) == (3, 4)
    assert {(m.source, m.reference, m.actor_id) for m in moves.values()} == {
        ("RESERVATION", "#7", actor.pk)
    }
    assert moves[plenty.pk].created_at is not None
    listed.refresh_from_db()
    assert listed.is_inventory_dirty
    assert listed.inventory_dirty_since is not None
    assert listed.inventory_version == version + 1


@pytest.mark.embedded
@pytest.mark.django_db
def test_shipping_and_releasing_many_lines_record_before_and_after():
    a = factories.VariantFactory(stock_on_hand=10, stock_reserved=5)
    b = factories.VariantFactory(stock_on_hand=3, stock_reserved=2)
    with transaction.atomic():
        assert ship_stock(lines=[(b.pk, 2), (a.pk, 6)], reference="SO-9") == [True, False]
        assert release_stock(lines=[(a.pk, 5), (b.pk, 1)], reference="SO-9") == [True, False]
    stock = {v.pk: (v.stock_on_hand, v.stock_reserved) for v in Variant.objects.all()}
    assert stock == {a.pk: (10, 0), b.pk: (1, 0)}
    rows = StockMovement.objects.order_by("id").values_list(
        "variant_id",
        "source",
        "on_hand_before",
        "on_hand_after",
        "reserved_before",
        "reserved_after",
    )
    assert list(rows) == [(b.pk, "SHIPMENT", 3, 1, 2, 0), (a.pk, "RELEASE", 10, 10, 5, 0)]


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_orders_naming_the_same_variants_in_opposite_order_never_deadlock():
    first = factories.VariantFactory(stock_on_hand=1000)
    second = factories.VariantFactory(stock_on_hand=1000)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def buy(lines):
        try:
            start.wait()
            for _ in range(25):
                with transaction.atomic():
                    assert reserve_stock(lines=lines, reference="race") == [True, True]
        except BaseException as exc:  # a deadlock would surface here
            errors.append(exc)
        finally:
            connection.close()

    forward, backward = [(first.pk, 1), (second.pk, 1)], [(second.pk, 1), (first.pk, 1)]
    threads = [threading.Thread(target=buy, args=(lines,)) for lines in (forward, backward) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(Variant.objects.values_list("stock_reserved", flat=True)) == [100, 100]
    assert StockMovement.objects.count() == 200


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_line_by_line_change_stamps_the_stock_change_time():
    variant = factories.VariantFactory(stock_on_hand=5, stock_updated_at=None)
    before = timezone.now()
    with transaction.atomic():
        # The same variant twice: the portable path on every engine.
        assert reserve_stock(lines=[(variant.pk, 1), (variant.pk, 1)], reference="#9") == [
            True,
            True,
        ]
    variant.refresh_from_db()
    assert variant.stock_reserved == 2
    assert before <= variant.stock_updated_at <= timezone.now()
