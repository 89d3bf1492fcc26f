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


def _clean_row(variant):
    return ListingVariantFactory(
        listing=ListingFactory(product=variant.product),
        variant=variant,
        is_inventory_dirty=False,
        inventory_dirty_since=None,
    )


def test_a_buffer_change_marks_every_listing_of_the_supplier():
    from catalog.services.stock import StockError, set_stock_buffer

    variant = VariantFactory(stock_on_hand=10)
    row = _clean_row(variant)
    other = _clean_row(VariantFactory())

    assert set_stock_buffer(supplier=variant.supplier, percent=50)
    assert not set_stock_buffer(supplier=variant.supplier, percent=50)  # unchanged: no mark

    assert ListingVariant.objects.get(pk=row.pk).is_inventory_dirty
    assert not ListingVariant.objects.get(pk=other.pk).is_inventory_dirty
    with pytest.raises(StockError):
        set_stock_buffer(supplier=variant.supplier, percent=0)


def test_product_and_supplier_status_changes_mark_their_listings(
    django_capture_on_commit_callbacks,
):
    from catalog.services.products import BulkAction, apply_bulk_action
    from suppliers.services import reinstate_supplier, suspend_supplier

    variant = VariantFactory()
    row = _clean_row(variant)
    apply_bulk_action(
        supplier=variant.supplier,
        actor=None,
        product_ids=[variant.product_id],
        action=BulkAction.DISCONTINUE,
    )
    assert ListingVariant.objects.get(pk=row.pk).is_inventory_dirty

    ListingVariant.objects.filter(pk=row.pk).update(is_inventory_dirty=False)
    suspend_supplier(supplier=variant.supplier, actor=None, reason="Late shipments")
    assert ListingVariant.objects.get(pk=row.pk).is_inventory_dirty
    ListingVariant.objects.filter(pk=row.pk).update(is_inventory_dirty=False)
    reinstate_supplier(supplier=variant.supplier, actor=None)
    assert ListingVariant.objects.get(pk=row.pk).is_inventory_dirty


def test_the_advertised_quantity_of_a_listing_is_zero_unless_everything_is_active():
    from catalog.inventory import listing_advertised_quantity

    base = {
        "on_hand": 10,
        "reserved": 3,
        "buffer_percent": 90,
        "listing_status": "ACTIVE",
        "product_status": "ACTIVE",
        "supplier_status": "ACTIVE",
    }
    assert listing_advertised_quantity(**base) == 6  # floor(7 × 0.9)
    for key, value in (
        ("listing_status", "PAUSED"),
        ("listing_status", "UNLISTED"),
        ("product_status", "DISCONTINUED"),
        ("supplier_status", "SUSPENDED"),
    ):
        assert listing_advertised_quantity(**(base | {key: value})) == 0
