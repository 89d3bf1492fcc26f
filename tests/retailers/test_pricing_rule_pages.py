"""Pricing rule pages: saving a default and overrides, refusing bad tiers with a message naming
them, and the live preview of prices on sample products."""

from decimal import Decimal

import pytest
from django.urls import reverse

from retailers.models import PricingRule, PricingTier
from tests.factories import (
    CategoryFactory,
    ListingFactory,
    ListingVariantFactory,
    ProductFactory,
    StoreFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def _post(**overrides):
    data = {
        "name": "Default",
        "store": "",
        "category": "",
        "method": "MULTIPLIER",
        "value": "2",
        "rounding": "END_99",
        "compare_at_from_msrp": "on",
        "min_margin_amount": "",
        "min_margin_percent": "",
        "tiers-TOTAL_FORMS": "3",
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "10",
    }
    for index in range(3):
        for key in ("min_cost", "max_cost", "method", "value"):
            data[f"tiers-{index}-{key}"] = ""
    data.update(overrides)
    return data


def _tiers(*rows):
    data = {}
    for index, (low, high, method, value) in enumerate(rows):
        data.update(
            {
                f"tiers-{index}-min_cost": low,
                f"tiers-{index}-max_cost": high,
                f"tiers-{index}-method": method,
                f"tiers-{index}-value": value,
            }
        )
    return data


def test_a_retailer_saves_a_default_rule_with_tiers(retailer_client):
    response = retailer_client.post(
        reverse("retailers:pricing_rule_new"),
        _post(
            min_margin_percent="25",
            **_tiers(("0", "10", "MULTIPLIER", "2.5"), ("10", "", "MULTIPLIER", "1.8")),
        ),
    )

    assert response.status_code == 302
    rule = PricingRule.objects.get(retailer=retailer_client.retailer)
    assert (rule.store, rule.category, rule.min_margin_percent) == (None, None, Decimal("25"))
    assert list(rule.tiers.values_list("min_cost", "max_cost", "value")) == [
        (Decimal("0.00"), Decimal("10.00"), Decimal("2.5000")),
        (Decimal("10.00"), None, Decimal("1.8000")),
    ]
    page = retailer_client.get(reverse("retailers:pricing_rules"))
    assert "Default" in page.content.decode()


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        (
            (("0", "10", "MULTIPLIER", "2"), ("8", "", "MULTIPLIER", "1.5")),
            "Tiers 1 and 2 overlap: costs from 8.00 fall in both.",
        ),
        (
            (("0", "10", "MULTIPLIER", "2"), ("12", "", "MULTIPLIER", "1.5")),
            "There is a gap between tier 1 (up to 10.00) and tier 2 (from 12.00)",
        ),
        (
            (("0", "", "MULTIPLIER", "0.8"),),
            "Tier 1: a multiplier below 1 (0.8) would sell below cost.",
        ),
    ],
)
def test_bad_tiers_are_refused_with_a_message_naming_them(retailer_client, tiers, message):
    response = retailer_client.post(reverse("retailers:pricing_rule_new"), _post(**_tiers(*tiers)))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PricingRule.objects.exists()
    assert not PricingTier.objects.exists()


def test_a_rule_selling_below_cost_is_refused(retailer_client):
    response = retailer_client.post(
        reverse("retailers:pricing_rule_new"), _post(method="MULTIPLIER", value="0.9")
    )

    assert response.status_code == 400
    assert "would sell below cost" in response.content.decode()
    assert not PricingRule.objects.exists()


def test_a_store_and_category_override_sits_beside_the_default(retailer_client):
    store = StoreFactory(retailer=retailer_client.retailer)
    category = CategoryFactory(name="Kitchen")
    retailer_client.post(reverse("retailers:pricing_rule_new"), _post())

    response = retailer_client.post(
        reverse("retailers:pricing_rule_new"),
        _post(name="Kitchen in my store", store=store.pk, category=category.pk, value="3"),
    )
    again = retailer_client.post(
        reverse("retailers:pricing_rule_new"),
        _post(name="Twice", store=store.pk, category=category.pk, value="3"),
    )

    assert response.status_code == 302
    assert PricingRule.objects.filter(retailer=retailer_client.retailer).count() == 2
    assert again.status_code == 400
    assert "You already have the rule for store" in again.content.decode()


def test_another_retailers_store_cannot_be_chosen(retailer_client):
    foreign = StoreFactory()

    response = retailer_client.post(reverse("retailers:pricing_rule_new"), _post(store=foreign.pk))

    assert response.status_code == 400
    assert not PricingRule.objects.exists()


def test_the_preview_shows_prices_on_the_retailers_listed_products(retailer_client):
    store = StoreFactory(retailer=retailer_client.retailer)
    listing = ListingFactory(store=store, product=ProductFactory(title="Walnut board"))
    ListingVariantFactory(
        listing=listing,
        variant=VariantFactory(
            product=listing.product,
            sku="BOARD-1",
            wholesale_price=Decimal("8.00"),
            msrp=Decimal("40"),
        ),
    )

    response = retailer_client.post(
        reverse("retailers:pricing_rule_preview"),
        _post(
            min_margin_amount="12",
            **_tiers(("0", "10", "MULTIPLIER", "2.5"), ("10", "", "PERCENT", "50")),
        ),
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "your listed products" in html
    assert "Walnut board" in html
    assert "$20.99" in html  # 8.00 × 2.5 = 20.00 → 20.99
    assert "$40.00" in html  # compare-at from MSRP
    # The minimum margin is checked on the true margin: 8.00 + 2.00 Basic plan fee + 12 = 22.00.
    assert "Below: needs $22.00" in html
    assert not PricingRule.objects.exists()  # a preview saves nothing


def test_the_preview_explains_a_bad_rule_instead_of_showing_prices(retailer_client):
    response = retailer_client.post(
        reverse("retailers:pricing_rule_preview"),
        _post(**_tiers(("5", "", "MULTIPLIER", "2"))),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "The tiers must start at a cost of 0; the first starts at 5.00." in (
        response.content.decode()
    )


def test_the_preview_uses_catalog_samples_before_anything_is_listed(retailer_client):
    VariantFactory(product=ProductFactory(title="Catalog kettle"), wholesale_price=Decimal("30"))

    response = retailer_client.post(
        reverse("retailers:pricing_rule_preview"),
        _post(method="FIXED", value="15", rounding="WHOLE", min_margin_percent="40"),
    )

    html = response.content.decode()
    assert "products from the catalog" in html
    assert "Catalog kettle" in html
    assert "$45.00" in html  # 30 + 15, whole
    assert "Below: needs $53.34" in html  # 40 % of the price: (30 + 2.00 Basic plan fee) / 0.6


def test_the_preview_adds_the_suppliers_cheapest_domestic_shipping_when_asked(retailer_client):
    from tests.factories import ShippingRateFactory

    variant = VariantFactory(
        product=ProductFactory(title="Cast iron pan"), wholesale_price=Decimal("20"), msrp=None
    )
    ShippingRateFactory(supplier=variant.supplier, price=Decimal("7.50"))
    ShippingRateFactory(supplier=variant.supplier, price=Decimal("5.00"), carrier="USPS")

    response = retailer_client.post(
        reverse("retailers:pricing_rule_preview"),
        _post(method="PERCENT", value="50", include_shipping_in_cost="on"),
    )

    html = response.content.decode()
    assert "$25.00" in html  # cost: 20.00 + 5.00 cheapest domestic rate
    assert "$37.99" in html  # 25.00 × 1.5 = 37.50 → 37.99
