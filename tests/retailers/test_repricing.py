"""A supplier's cost change re-prices every listing of the variant by its rule and pushes it; below
the retailer's minimum margin the listing is paused (quantity 0) and waits in the approval queue."""

from decimal import Decimal

import pytest
from django.core import mail

from billing.models import FeeSchedule
from catalog.services.products import update_variant_price
from dropship.core.errors import DomainError
from retailers.models import Listing, PriceChange, PriceDigest, PricingRule
from retailers.services import (
    accept_listing_prices,
    send_price_digests,
    start_store_imports,
    unlist_listing,
)
from tests.factories import ProductFactory, RetailerFactory, RetailerMemberFactory, VariantFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listed(shopify_sandbox):
    """A mug (cost 10.00, stock 20) listed in a Shopify sandbox store under a +5.00 rule with a
    30 % minimum margin: 10.00 + 5 = 15.00 → 15.99 (margin 37 %)."""
    member = RetailerMemberFactory()
    retailer = member.retailer
    # These tests follow the supplier's cost alone: its plan charges no per-order fee (whatever
    # an earlier transaction=True test left in the fee schedules).
    FeeSchedule.objects.update_or_create(
        plan=retailer.plan, defaults={"order_fee": Decimal("0"), "currency": "USD"}
    )
    PricingRule.objects.create(
        retailer=retailer,
        name="Default",
        method="FIXED",
        value=Decimal("5"),
        rounding="END_99",
        min_margin_percent=Decimal("30"),
    )
    store = shopify_sandbox.connect_store(retailer=retailer)
    product = ProductFactory(title="Stoneware mug")
    variant = VariantFactory(
        product=product, sku="MUG-1", wholesale_price=Decimal("10.00"), msrp=None, stock_on_hand=20
    )
    start_store_imports(retailer=retailer, stores=[store], product_ids=[product.pk])
    listing = Listing.objects.get(store=store, product=product)
    assert listing.variants.get().retail_price == Decimal("15.99")
    shop = shopify_sandbox.app.shop(store.domain)
    return listing, variant, shop


def _store_price(shop, listing) -> Decimal:
    lv = listing.variants.get()
    return Decimal(str(shop.variants[lv.store_variant_id]["price"]))


def test_a_cost_change_reprices_the_listing_and_pushes_the_new_price(listed):
    listing, variant, shop = listed

    update_variant_price(variant=variant, actor=None, wholesale_price="11.50")

    lv = listing.variants.get()
    assert lv.retail_price == Decimal("16.99")  # 11.50 + 5 = 16.50 → 16.99
    assert lv.last_cost == Decimal("11.50")
    assert _store_price(shop, listing) == Decimal("16.99")
    listing.refresh_from_db()
    assert (listing.status, listing.sync_status) == ("ACTIVE", "SYNCED")
    change = PriceChange.objects.get()
    assert (change.outcome, change.old_price, change.new_price) == (
        "REPRICED",
        Decimal("15.99"),
        Decimal("16.99"),
    )


def test_repricing_twice_for_the_same_cost_changes_nothing(listed):
    from retailers.services import reprice_variants

    _listing, variant, _ = listed
    update_variant_price(variant=variant, actor=None, wholesale_price="11.50")

    assert reprice_variants(variant_ids=[variant.pk]) == {}
    assert PriceChange.objects.count() == 1


def test_a_cost_below_the_minimum_margin_pauses_the_listing_at_quantity_zero(listed):
    listing, variant, shop = listed
    lv = listing.variants.get()
    assert shop.quantity(lv.inventory_item_id) == 18

    update_variant_price(variant=variant, actor=None, wholesale_price="20.00")

    listing.refresh_from_db()
    lv.refresh_from_db()
    assert listing.status == Listing.Status.PAUSED
    assert listing.paused_at is not None
    assert shop.quantity(lv.inventory_item_id) == 0  # nothing can be sold at a loss meanwhile
    assert lv.last_pushed_quantity == 0
    assert lv.is_inventory_dirty
    assert lv.retail_price == Decimal("15.99")  # unchanged until the retailer decides
    change = PriceChange.objects.get()
    # the rule would give 25.99 (margin 23 %); 30 % needs at least 20 / 0.7 = 28.58
    assert (change.outcome, change.new_price, change.minimum_price) == (
        "PAUSED",
        Decimal("25.99"),
        Decimal("28.58"),
    )
    assert change.suggested_price == Decimal("28.99")  # the minimum, with the rule's ending


def test_the_approval_page_offers_the_lowest_price_that_keeps_the_margin(listed, client):
    listing, variant, _ = listed
    update_variant_price(variant=variant, actor=None, wholesale_price="20.00")
    member = listing.store.retailer.memberships.first()
    client.force_login(member.user)

    html = client.get("/retailer/approvals/").content.decode()

    lv = listing.variants.get()
    assert f'name="price_{lv.pk}" value="28.99"' in html
    assert "$28.58" in html


def test_accepting_a_new_price_resumes_the_listing_and_pushes_the_price(listed):
    listing, variant, shop = listed
    update_variant_price(variant=variant, actor=None, wholesale_price="20.00")
    lv = listing.variants.get()

    accept_listing_prices(listing=listing, prices={lv.pk: Decimal("29.99")})

    listing.refresh_from_db()
    lv.refresh_from_db()
    assert (listing.status, listing.sync_status, listing.paused_at) == ("ACTIVE", "SYNCED", None)
    assert lv.retail_price == Decimal("29.99")
    assert _store_price(shop, listing) == Decimal("29.99")
    assert lv.is_inventory_dirty  # the inventory sync restores the quantity


def test_accepting_a_price_below_cost_is_refused_and_the_listing_stays_paused(listed):
    listing, variant, _ = listed
    update_variant_price(variant=variant, actor=None, wholesale_price="20.00")
    lv = listing.variants.get()

    with pytest.raises(DomainError) as refused:
        accept_listing_prices(listing=listing, prices={lv.pk: Decimal("19.00")})

    assert "below its wholesale cost 20.00" in refused.value.message
    listing.refresh_from_db()
    lv.refresh_from_db()
    assert listing.status == Listing.Status.PAUSED
    assert lv.retail_price == Decimal("15.99")


def test_unlisting_from_the_queue_unpublishes_the_product_in_the_store(listed):
    listing, variant, shop = listed
    update_variant_price(variant=variant, actor=None, wholesale_price="20.00")

    unlist_listing(listing=listing)

    listing.refresh_from_db()
    assert (listing.status, listing.is_published) == ("UNLISTED", False)
    assert shop.products[listing.store_product_id]["status"] == "DRAFT"


def test_the_daily_digest_is_sent_once_per_retailer_per_day(listed):
    _listing, variant, _ = listed
    update_variant_price(variant=variant, actor=None, wholesale_price="11.50")
    mail.outbox.clear()

    assert send_price_digests() == 1
    assert send_price_digests() == 0

    assert len(mail.outbox) == 1
    assert "1 re-priced, 0 paused" in mail.outbox[0].subject
    assert "MUG-1" in mail.outbox[0].body
    assert PriceDigest.objects.get().change_count == 1
    assert not PriceChange.objects.filter(digest__isnull=True).exists()


def test_a_listing_of_another_retailer_is_repriced_by_its_own_rule(listed, shopify_sandbox):
    listing, variant, _ = listed
    other = RetailerFactory()
    PricingRule.objects.create(retailer=other, name="Double", method="MULTIPLIER", value=2)
    other_store = shopify_sandbox.connect_store(retailer=other, domain="other.myshopify.com")
    start_store_imports(retailer=other, stores=[other_store], product_ids=[variant.product_id])

    update_variant_price(variant=variant, actor=None, wholesale_price="11.50")

    prices = dict(
        Listing.objects.filter(product=variant.product).values_list(
            "store__retailer_id", "variants__retail_price"
        )
    )
    assert prices == {listing.store.retailer_id: Decimal("16.99"), other.pk: Decimal("23.99")}


def test_a_cost_rise_pauses_a_listing_whose_true_margin_falls_below_the_minimum(listed):
    from tests.factories import ShippingRateFactory

    listing, variant, _shop = listed
    ShippingRateFactory(supplier=variant.supplier, price=Decimal("4.00"))

    update_variant_price(variant=variant, actor=None, wholesale_price="10.50")

    # 10.50 + 5 → 15.99: 34 % over wholesale alone (the old check passed), but after the
    # supplier's 4.00 shipping the true margin is 1.49, 9 % — below the rule's 30 %.
    listing.refresh_from_db()
    change = PriceChange.objects.get()
    assert listing.status == Listing.Status.PAUSED
    assert (change.outcome, change.new_price, change.minimum_price) == (
        "PAUSED",
        Decimal("15.99"),
        Decimal("20.72"),  # (10.50 + 4.00) / 0.7
    )
