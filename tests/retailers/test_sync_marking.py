"""A stock change marks every listing of the variant dirty, in one statement, whatever the source."""

import pytest
from django.utils import timezone

from catalog.models import StockMovement
from catalog.services import set_stock
from retailers.models import ListingVariant
from retailers.sync import mark_listings_dirty, mark_variants_dirty
from tests.factories import ListingFactory, ListingVariantFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _listed_in(variant, stores: int) -> list[ListingVariant]:
    return [
        ListingVariantFactory(
            listing=ListingFactory(product=variant.product),
            variant=variant,
            is_inventory_dirty=False,
            inventory_dirty_since=None,
        )
        for _ in range(stores)
    ]


def test_a_stock_change_marks_the_variant_dirty_in_every_store_that_lists_it():
    variant, other = VariantFactory(stock_on_hand=10), VariantFactory(stock_on_hand=10)
    listed = _listed_in(variant, 3)
    untouched = _listed_in(other, 1)[0]

    set_stock(variant=variant, quantity=4, source=StockMovement.Source.API, actor=None)

    for row in listed:
        row.refresh_from_db()
        assert row.is_inventory_dirty
        assert row.inventory_dirty_since is not None
    untouched.refresh_from_db()
    assert not untouched.is_inventory_dirty


def test_marking_again_keeps_the_time_the_row_first_became_dirty():
    variant = VariantFactory()
    (row,) = _listed_in(variant, 1)
    assert mark_variants_dirty(variant_ids=[variant.pk]) == 1
    row.refresh_from_db()
    first_dirty = row.inventory_dirty_since

    version = row.inventory_version

    # Marking again bumps the version (a drain in flight must not clear it) but keeps the time.
    assert mark_variants_dirty(variant_ids=[variant.pk, variant.pk]) == 1

    row.refresh_from_db()
    assert row.inventory_dirty_since == first_dirty <= timezone.now()
    assert row.inventory_version == version + 1


def test_setting_the_same_stock_marks_nothing():
    variant = VariantFactory(stock_on_hand=10)
    (row,) = _listed_in(variant, 1)

    set_stock(variant=variant, quantity=10, source=StockMovement.Source.PAGE, actor=None)

    row.refresh_from_db()
    assert not row.is_inventory_dirty


def test_marking_a_listing_marks_all_its_variants_and_nothing_else():
    listing = ListingFactory()
    rows = [
        ListingVariantFactory(listing=listing, is_inventory_dirty=False, inventory_dirty_since=None)
        for _ in range(2)
    ]
    other = ListingVariantFactory(is_inventory_dirty=False, inventory_dirty_since=None)

    assert mark_listings_dirty(listing_ids=[listing.pk]) == 2

    assert [ListingVariant.objects.get(pk=r.pk).is_inventory_dirty for r in rows] == [True, True]
    assert not ListingVariant.objects.get(pk=other.pk).is_inventory_dirty
