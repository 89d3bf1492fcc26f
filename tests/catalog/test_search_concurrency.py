"""The search triggers must not make order transactions queue on each other: reserving stock on
two variants of one product at the same time does not wait on the product's search row unless
the in-stock flag actually flips."""

import threading

import pytest
from django.db import connection, transaction

from catalog.models import ProductSearch, Variant
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_stock_changes_on_sibling_variants_do_not_block_each_other():
    product = factories.ProductFactory(title="Shared product")
    first = factories.VariantFactory(product=product, stock_on_hand=10)
    second = factories.VariantFactory(product=product, stock_on_hand=10)
    holding = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def hold_a_reservation() -> None:
        try:
            with transaction.atomic():
                Variant.objects.filter(pk=first.pk).update(stock_reserved=3)
                holding.set()
                release.wait(timeout=10)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            holding.set()
            connection.close()

    holder = threading.Thread(target=hold_a_reservation)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            # Would raise "canceling statement due to lock timeout" if it waited on the row.
            Variant.objects.filter(pk=second.pk).update(stock_reserved=4)
    finally:
        release.set()
        holder.join(timeout=10)
    assert errors == []
    assert list(
        Variant.objects.filter(product=product)
        .order_by("pk")
        .values_list("stock_reserved", flat=True)
    ) == [3, 4]
    assert ProductSearch.objects.get(product=product).in_stock is True


def test_in_stock_flag_flips_when_the_last_units_are_reserved_and_back():
    variant = factories.VariantFactory(stock_on_hand=2)
    Variant.objects.filter(pk=variant.pk).update(stock_reserved=2)
    assert ProductSearch.objects.get(product=variant.product).in_stock is False
    Variant.objects.filter(pk=variant.pk).update(stock_reserved=0)
    assert ProductSearch.objects.get(product=variant.product).in_stock is True
