"""True unit economics: price − wholesale − shipping to the destination − platform fee − processing,
the one computation behind every margin a retailer sees and behind the minimum-margin guardrail."""

from decimal import Decimal as D

import pytest

from retailers.pricing import Overhead, Rule, quote_price, unit_economics
from retailers.services.quoting import PriceBook
from suppliers.models import ShippingRate
from tests.factories import RetailerFactory, ShippingRateFactory, SupplierFactory, VariantFactory


def test_unit_economics_subtracts_every_cost_of_one_order_to_the_cent():
    # 37.98 − 17.40 − 12.50 − 2.00 − (2.9 % of 37.98 = 1.10142 → 1.10, + 0.30) = 4.68
    economics = unit_economics(
        price=D("37.98"),
        wholesale=D("17.40"),
        shipping=D("12.50"),
        overhead=Overhead(
            platform_fee=D("2.00"), processing_percent=D("2.9"), processing_fixed=D("0.30")
        ),
    )
    assert (economics.processing, economics.fees, economics.total_cost) == (
        D("1.40"),
        D("3.40"),
        D("33.30"),
    )
    assert (economics.margin, economics.margin_percent) == (D("4.68"), D("12.32"))


def test_the_minimum_price_counts_shipping_fees_and_the_processing_percent():
    rule = Rule(method="MULTIPLIER", value=D("2"), min_margin_percent=D("20"))
    overhead = Overhead(
        platform_fee=D("2.00"), processing_percent=D("3"), processing_fixed=D("0.30")
    )
    quote = quote_price(rule=rule, wholesale=D("10.00"), shipping=D("5.00"), overhead=overhead)
    # fixed costs 17.30; price × (1 − 0.03 − 0.20) >= 17.30 → 22.4675… → 22.47
    assert quote.minimum_price == D("22.47")
    at_minimum = unit_economics(
        price=quote.minimum_price, wholesale=D("10.00"), shipping=D("5.00"), overhead=overhead
    )
    assert at_minimum.margin * 100 >= D("20") * at_minimum.price
    below = unit_economics(
        price=quote.minimum_price - D("0.01"),
        wholesale=D("10.00"),
        shipping=D("5.00"),
        overhead=overhead,
    )
    assert below.margin * 100 < D("20") * below.price
    assert quote.price == D("20.99")
    assert not quote.meets_minimum_margin


def test_the_guardrail_refuses_a_price_whose_old_margin_was_fine_but_true_margin_is_not():
    rule = Rule(method="FIXED", value=D("5"), min_margin_percent=D("30"))
    old = quote_price(rule=rule, wholesale=D("10.00"))  # 15.99: 37 % on wholesale alone
    true = quote_price(
        rule=rule, wholesale=D("10.00"), shipping=D("2.50"), overhead=Overhead(D("2.00"))
    )
    assert old.meets_minimum_margin
    assert (true.price, true.margin, true.meets_minimum_margin) == (D("15.99"), D("1.49"), False)


def test_a_rule_can_mark_up_shipping_and_fees_too():
    overhead = Overhead(platform_fee=D("2.00"), processing_fixed=D("0.30"))
    plain = Rule(method="PERCENT", value=D("50"), rounding="NONE")
    both = Rule(
        method="PERCENT",
        value=D("50"),
        rounding="NONE",
        include_shipping_in_cost=True,
        include_fees_in_cost=True,
    )
    assert quote_price(rule=plain, wholesale=D("10"), shipping=D("4"), overhead=overhead).price == (
        D("15.00")
    )
    quote = quote_price(rule=both, wholesale=D("10"), shipping=D("4"), overhead=overhead)
    assert (quote.cost, quote.price, quote.margin) == (D("16.30"), D("24.45"), D("8.15"))


@pytest.mark.django_db
def test_the_price_book_uses_the_rate_for_the_retailers_home_country_and_its_plan_fee():
    supplier = SupplierFactory(ship_from_country="US")
    ShippingRateFactory(supplier=supplier, price=D("4.00"))
    ShippingRateFactory(supplier=supplier, price=D("6.50"), service="Express")
    ShippingRateFactory(supplier=supplier, price=D("14.00"), zone=ShippingRate.Zone.INTERNATIONAL)
    variant = VariantFactory(product__supplier=supplier, wholesale_price=D("10.00"))
    domestic = RetailerFactory(plan="PRO", home_country="US", processing_fee_percent=D("2.9"))
    abroad = RetailerFactory(plan="BASIC", home_country="CA", processing_fee_fixed=D("0.30"))

    at_home = PriceBook(retailer=domestic).economics(variant=variant, price=D("29.99"))
    overseas = PriceBook(retailer=abroad).economics(variant=variant, price=D("29.99"))
    to_us = PriceBook(retailer=abroad).economics(
        variant=variant, price=D("29.99"), destination_country="us"
    )

    # PRO fee 1.50, 2.9 % of 29.99 = 0.87: 29.99 − 10 − 4 − 1.50 − 0.87
    assert (at_home.shipping, at_home.fees, at_home.margin) == (D("4.00"), D("2.37"), D("13.62"))
    # BASIC fee 2.00 + 0.30 fixed, international 14.00: 29.99 − 10 − 14 − 2.30
    assert (overseas.shipping, overseas.fees, overseas.margin) == (D("14.00"), D("2.30"), D("3.69"))
    assert to_us.shipping == D("4.00")
