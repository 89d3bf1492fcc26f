"""With server-side binding every value is a bound parameter and PostgreSQL takes 65,535 per
statement: long `__in` lists travel as one array, bulk writes are batched to fit."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product, Variant
from dropship.core.lookups import ARRAY_IN_THRESHOLD
from retailers.models import ListingVariant
from tests import factories

pytestmark = pytest.mark.django_db

MANY = 70_000  # more than 65,535 parameters if each value were one


def test_the_suite_runs_with_server_side_binding():
    assert connection.features.uses_server_side_binding


def test_a_long_list_of_ids_filters_and_updates_exactly_the_rows_named():
    wanted = [factories.VariantFactory(stock_on_hand=5) for _ in range(2)]
    other = factories.VariantFactory(stock_on_hand=5)
    ids = [*range(10_000_000, 10_000_000 + MANY), *(v.pk for v in wanted), None]

    with CaptureQueriesContext(connection) as queries:
        found = set(Variant.objects.filter(pk__in=ids).values_list("pk", flat=True))
        changed = Variant.objects.filter(pk__in=ids).update(stock_on_hand=0)

    assert found == {v.pk for v in wanted}
    assert changed == 2
    assert Variant.objects.get(pk=other.pk).stock_on_hand == 5
    assert all("= ANY(" in query["sql"] for query in queries.captured_queries)


def test_a_long_list_through_a_foreign_key_and_of_strings():
    listed = factories.ListingVariantFactory()
    factories.ListingVariantFactory()
    variant_ids = [*range(20_000_000, 20_000_000 + MANY), listed.variant_id]
    skus = [f"NOPE-{n}" for n in range(MANY)] + [listed.variant.sku]

    assert list(
        ListingVariant.objects.filter(variant_id__in=variant_ids).values_list("pk", flat=True)
    ) == [listed.pk]
    assert list(
        ListingVariant.objects.filter(variant__in=variant_ids).values_list("pk", flat=True)
    ) == [listed.pk]
    assert list(Variant.objects.filter(sku__in=skus).values_list("pk", flat=True)) == [
        listed.variant_id
    ]


def test_short_lists_keep_a_plain_in():
    variant = factories.VariantFactory()
    ids = [variant.pk, *range(30_000_000, 30_000_000 + ARRAY_IN_THRESHOLD - 1)]
    with CaptureQueriesContext(connection) as queries:
        assert Variant.objects.filter(pk__in=ids).count() == 1
    assert " IN (" in queries.captured_queries[0]["sql"]
    assert "ANY(" not in queries.captured_queries[0]["sql"]


def test_bulk_update_of_more_rows_than_parameters_allow_is_batched():
    product = factories.ProductFactory()
    Variant.objects.bulk_create(
        Variant(
            product=product,
            supplier=product.supplier,
            sku=f"BULK-{n}",
            stock_on_hand=1,
            wholesale_price=Decimal("4.00"),
        )
        for n in range(12_000)
    )
    variants = list(Variant.objects.filter(product=product))
    for variant in variants:
        variant.stock_on_hand = 7
        variant.shipping_class = "bulky"
    # 12,000 rows x 3 fields x 2 parameters: far more than one statement may carry
    Variant.objects.bulk_update(variants, ["stock_on_hand", "shipping_class", "wholesale_price"])
    changed = Variant.objects.filter(product=product, stock_on_hand=7, shipping_class="bulky")
    assert changed.count() == 12_000
    assert Product.objects.get(pk=product.pk).variants.count() == 12_000
