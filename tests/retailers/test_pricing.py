from decimal import Decimal as D

import pytest

from retailers.pricing import PricingRuleError, Rule, Tier, quote_price, round_price, validate_rule


@pytest.mark.parametrize(
    ("price", "rounding", "expected"),
    [
        ("12.30", "END_99", "12.99"),
        ("12.99", "END_99", "12.99"),
        ("13.00", "END_99", "13.99"),
        ("12.995", "END_99", "13.99"),
        ("0.10", "END_99", "0.99"),
        ("12.30", "END_95", "12.95"),
        ("12.96", "END_95", "13.95"),
        ("12.01", "WHOLE", "13.00"),
        ("12.00", "WHOLE", "12.00"),
        ("12.345", "NONE", "12.35"),
    ],
)
def test_prices_round_up_to_the_chosen_ending(price, rounding, expected):
    assert round_price(D(price), rounding) == D(expected)


@pytest.mark.parametrize(
    ("method", "value", "rounding", "wholesale", "expected_price"),
    [
        ("MULTIPLIER", "2.2", "END_99", "10.00", "22.99"),
        ("MULTIPLIER", "2.5", "NONE", "3.33", "8.33"),  # 8.325 half up
        ("PERCENT", "60", "END_95", "10.00", "16.95"),
        ("PERCENT", "0", "NONE", "10.00", "10.00"),
        ("FIXED", "7.50", "WHOLE", "10.20", "18.00"),
    ],
)
def test_markup_methods(method, value, rounding, wholesale, expected_price):
    quote = quote_price(
        rule=Rule(method=method, value=D(value), rounding=rounding), wholesale=D(wholesale)
    )
    assert quote.price == D(expected_price)


TIERED = Rule(
    method="MULTIPLIER",
    value=D("1.5"),
    rounding="END_99",
    tiers=(
        Tier(D("0"), D("10"), "MULTIPLIER", D("2.5")),
        Tier(D("10"), D("50"), "MULTIPLIER", D("1.8")),
        Tier(D("50"), None, "PERCENT", D("40")),
    ),
)


@pytest.mark.parametrize(
    ("wholesale", "expected_price", "tier_start"),
    [
        ("4.00", "10.99", "0"),
        ("9.99", "24.99", "0"),
        ("10.00", "18.99", "10"),
        ("49.99", "89.99", "10"),
        ("50.00", "70.99", "50"),
    ],
)
def test_cost_tiers_choose_the_markup_by_cost_range(wholesale, expected_price, tier_start):
    quote = quote_price(rule=TIERED, wholesale=D(wholesale))
    assert quote.price == D(expected_price)
    assert quote.tier.min_cost == D(tier_start)


def test_shipping_counts_as_cost_only_when_the_rule_says_so():
    without = Rule(method="MULTIPLIER", value=D("2"), rounding="NONE")
    with_shipping = Rule(
        method="MULTIPLIER", value=D("2"), rounding="NONE", include_shipping_in_cost=True
    )
    assert quote_price(rule=without, wholesale=D("10"), shipping=D("4.50")).price == D("20.00")
    quote = quote_price(rule=with_shipping, wholesale=D("10"), shipping=D("4.50"))
    assert (quote.cost, quote.price, quote.margin) == (D("14.50"), D("29.00"), D("14.50"))


def test_compare_at_is_the_msrp_only_when_above_the_price():
    rule = Rule(method="MULTIPLIER", value=D("2"), rounding="END_99")
    assert quote_price(rule=rule, wholesale=D("10"), msrp=D("29.99")).compare_at == D("29.99")
    assert quote_price(rule=rule, wholesale=D("10"), msrp=D("19.99")).compare_at is None
    no_compare = Rule(
        method="MULTIPLIER", value=D("2"), rounding="END_99", compare_at_from_msrp=False
    )
    assert quote_price(rule=no_compare, wholesale=D("10"), msrp=D("29.99")).compare_at is None


@pytest.mark.parametrize(
    ("min_amount", "min_percent", "wholesale", "price", "minimum", "meets"),
    [
        ("5.00", None, "10.00", "12.99", "15.00", False),
        ("2.00", None, "10.00", "12.99", "12.00", True),
        (None, "30", "10.00", "12.99", "14.29", False),  # 10 / 0.7 = 14.2857 → 14.29
        (None, "20", "10.00", "12.99", "12.50", True),
        (
            "3.00",
            "25",
            "10.00",
            "12.99",
            "13.34",
            False,
        ),  # percent (13.333…) binds before amount (13.00)
    ],
)
def test_minimum_margin_is_reported_with_the_lowest_acceptable_price(
    min_amount, min_percent, wholesale, price, minimum, meets
):
    rule = Rule(
        method="FIXED",
        value=D("2.99"),
        rounding="NONE",
        min_margin_amount=D(min_amount) if min_amount else None,
        min_margin_percent=D(min_percent) if min_percent else None,
    )
    quote = quote_price(rule=rule, wholesale=D(wholesale))
    assert quote.price == D(price)
    assert quote.minimum_price == D(minimum)
    assert quote.meets_minimum_margin is meets


def test_margin_percent_is_of_the_price():
    quote = quote_price(
        rule=Rule(method="MULTIPLIER", value=D("2"), rounding="NONE"), wholesale=D("10")
    )
    assert (quote.margin, quote.margin_percent) == (D("10.00"), D("50.00"))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            Rule(method="MULTIPLIER", value=D("0.9")),
            "The rule: a multiplier below 1 (0.9) would sell below cost.",
        ),
        (Rule(method="PERCENT", value=D("-5")), "The rule: the markup cannot be negative."),
        (
            Rule(method="FIXED", value=D("1"), min_margin_percent=D("100")),
            "The minimum margin percent must be at least 0 and below 100.",
        ),
        (
            Rule(method="FIXED", value=D("1"), tiers=(Tier(D("5"), None, "FIXED", D("1")),)),
            "The tiers must start at a cost of 0; the first starts at 5.",
        ),
        (
            Rule(
                method="FIXED",
                value=D("1"),
                tiers=(
                    Tier(D("0"), D("20"), "FIXED", D("1")),
                    Tier(D("10"), None, "FIXED", D("1")),
                ),
            ),
            "Tiers 1 and 2 overlap: costs from 10 fall in both.",
        ),
        (
            Rule(
                method="FIXED",
                value=D("1"),
                tiers=(
                    Tier(D("0"), D("10"), "FIXED", D("1")),
                    Tier(D("15"), None, "FIXED", D("1")),
                ),
            ),
            "There is a gap between tier 1 (up to 10) and tier 2 (from 15): costs in between would have no price.",
        ),
        (
            Rule(method="FIXED", value=D("1"), tiers=(Tier(D("0"), D("10"), "FIXED", D("1")),)),
            "The last tier must have no upper bound; costs above 10 would have no price.",
        ),
        (
            Rule(method="FIXED", value=D("1"), tiers=(Tier(D("0"), None, "MULTIPLIER", D("0.5")),)),
            "Tier 1: a multiplier below 1 (0.5) would sell below cost.",
        ),
    ],
)
def test_rules_that_overlap_leave_gaps_or_sell_below_cost_are_refused(rule, message):
    with pytest.raises(PricingRuleError) as caught:
        validate_rule(rule)
    assert caught.value.message == message


def test_a_well_formed_tiered_rule_is_accepted():
    validate_rule(TIERED)
