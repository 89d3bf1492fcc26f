from decimal import Decimal as D

import pytest

from billing.fees import supplier_order_amounts


@pytest.mark.parametrize(
    (
        "wholesale",
        "shipping",
        "fee",
        "percent",
        "commission",
        "retailer_total",
        "payout",
        "platform",
    ),
    [
        ("20.00", "5.00", "2.00", "5.00", "1.00", "27.00", "24.00", "3.00"),
        ("0.00", "4.50", "2.00", "5.00", "0.00", "6.50", "4.50", "2.00"),
        ("33.33", "0.00", "1.50", "4.00", "1.33", "34.83", "32.00", "2.83"),  # 1.3332 → 1.33
        ("10.10", "1.00", "0.00", "3.00", "0.30", "11.10", "10.80", "0.30"),  # 0.303 → 0.30
        ("0.50", "0.00", "1.00", "5.00", "0.03", "1.50", "0.47", "1.03"),  # 0.025 → 0.03 (half up)
        ("999999.99", "12.34", "1.00", "0.00", "0.00", "1000013.33", "1000012.33", "1.00"),
    ],
)
def test_supplier_order_amounts_are_exact_to_the_cent(
    wholesale, shipping, fee, percent, commission, retailer_total, payout, platform
):
    amounts = supplier_order_amounts(
        wholesale=D(wholesale),
        shipping=D(shipping),
        platform_fee=D(fee),
        commission_percent=D(percent),
    )
    assert amounts.commission == D(commission)
    assert amounts.retailer_total == D(retailer_total)
    assert amounts.supplier_payout == D(payout)
    assert amounts.platform_earnings == D(platform)
    assert amounts.supplier_payout + amounts.platform_earnings == amounts.retailer_total


@pytest.mark.parametrize(
    "kwargs",
    [
        {
            "wholesale": D("-1"),
            "shipping": D("0"),
            "platform_fee": D("0"),
            "commission_percent": D("5"),
        },
        {
            "wholesale": D("1"),
            "shipping": D("-0.01"),
            "platform_fee": D("0"),
            "commission_percent": D("5"),
        },
        {
            "wholesale": D("1"),
            "shipping": D("0"),
            "platform_fee": D("0"),
            "commission_percent": D("100"),
        },
    ],
)
def test_impossible_amounts_are_refused(kwargs):
    with pytest.raises(ValueError, match=r"negative|commission"):
        supplier_order_amounts(**kwargs)


# --- refunds split and minor units ---------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from billing.fees import RefundSplit, RefundTooLarge, split_refund  # noqa: E402
from dropship.core.money import from_minor_units, to_minor_units  # noqa: E402


@pytest.mark.parametrize(
    ("amount", "before", "supplier", "fee", "commission"),
    [
        # 20.00 wholesale + 5.00 shipping + 2.00 fee, 5 % commission (1.00)
        ("10.00", RefundSplit(), "10.00", "0.00", "0.50"),
        ("25.00", RefundSplit(), "25.00", "0.00", "1.00"),  # wholesale and shipping
        ("27.00", RefundSplit(), "25.00", "2.00", "1.00"),  # everything
        ("3.00", RefundSplit(D("24.00"), D("0"), D("1.00")), "1.00", "2.00", "0.00"),
        ("0.01", RefundSplit(), "0.01", "0.00", "0.00"),  # 0.0005 rounds to nothing …
        ("10.00", RefundSplit(D("0.01"), D("0"), D("0")), "10.00", "0.00", "0.50"),  # … until due
    ],
)
def test_a_refund_comes_from_wholesale_then_shipping_then_the_fee(
    amount, before, supplier, fee, commission
):
    amounts = supplier_order_amounts(
        wholesale=D("20.00"), shipping=D("5.00"), platform_fee=D("2.00"), commission_percent=D("5")
    )
    split = split_refund(
        amounts=amounts, commission_percent=D("5"), refunded=before, amount=D(amount)
    )
    assert (split.supplier_share, split.platform_fee_share, split.commission_returned) == (
        D(supplier),
        D(fee),
        D(commission),
    )


def test_a_refund_beyond_what_is_left_is_refused():
    amounts = supplier_order_amounts(
        wholesale=D("20.00"), shipping=D("5.00"), platform_fee=D("2.00"), commission_percent=D("5")
    )
    with pytest.raises(RefundTooLarge, match=r"27\.01 is more than the 27\.00 still refundable"):
        split_refund(
            amounts=amounts, commission_percent=D("5"), refunded=RefundSplit(), amount=D("27.01")
        )


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("27.00", "USD", 2700),
        ("0.01", "EUR", 1),
        ("1000013.33", "USD", 100001333),
        ("19.999", "GBP", 2000),
        ("1500", "JPY", 1500),
    ],
)
def test_amounts_go_to_stripe_in_minor_units_and_come_back_exactly(amount, currency, minor):
    assert to_minor_units(D(amount), currency) == minor
    assert to_minor_units(from_minor_units(minor, currency), currency) == minor


cents = st.integers(min_value=0, max_value=5_000_000).map(lambda n: D(n) / 100)
percents = st.integers(min_value=0, max_value=9999).map(lambda n: D(n) / 100)


@settings(max_examples=300, deadline=None)
@given(
    wholesale=cents,
    shipping=cents,
    fee=cents,
    percent=percents,
    fractions=st.lists(st.integers(min_value=1, max_value=1000), max_size=6),
    refund_rest=st.booleans(),
    payout_after=st.integers(min_value=0, max_value=6),
)
def test_payouts_fees_and_refunds_always_add_up_to_what_was_captured(
    wholesale, shipping, fee, percent, fractions, refund_rest, payout_after
):
    """For any order, fee schedule and sequence of partial refunds (the supplier paid out at
    any point, reversals after that): payouts + platform fees + refunds == captured, in cents."""
    amounts = supplier_order_amounts(
        wholesale=wholesale, shipping=shipping, platform_fee=fee, commission_percent=percent
    )
    captured = amounts.retailer_total
    refunded = RefundSplit()
    transferred = reversed_ = D("0.00")
    paid_out = False

    def supplier_owed() -> D:
        return amounts.supplier_payout - refunded.supplier_net

    steps = [min(f, 1000) for f in fractions] + ([1000] if refund_rest else [])
    for index, per_mille in enumerate(steps):
        if index == payout_after and not paid_out:
            transferred, paid_out = supplier_owed(), True
        left = captured - refunded.total
        amount = (left * per_mille / 1000).quantize(D("0.01"))
        if amount <= 0:
            continue
        split = split_refund(
            amounts=amounts, commission_percent=percent, refunded=refunded, amount=amount
        )
        refunded = refunded + split
        assert supplier_owed() >= 0  # the supplier never owes more than it was paid
        if paid_out:
            reversed_ += split.supplier_net
    if not paid_out:
        transferred = supplier_owed()
    payouts = transferred - reversed_
    platform = (amounts.platform_fee - refunded.platform_fee_share) + (
        amounts.commission - refunded.commission_returned
    )
    assert payouts == supplier_owed()
    assert payouts + platform + refunded.total == captured
    assert to_minor_units(payouts, "USD") + to_minor_units(platform, "USD") + to_minor_units(
        refunded.total, "USD"
    ) == to_minor_units(captured, "USD")
    assert platform >= 0
    if refunded.total == captured:
        assert (payouts, platform) == (D("0.00"), D("0.00"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("plan", "fee", "percent"),
    [("BASIC", "2.00", "5.00"), ("PRO", "1.50", "4.00"), ("ENTERPRISE", "1.00", "3.00")],
)
def test_the_fees_to_freeze_on_a_supplier_order_come_from_the_retailers_plan(plan, fee, percent):
    from billing.selectors import get_fees_for_retailer
    from tests.factories import RetailerFactory

    fees = get_fees_for_retailer(retailer=RetailerFactory(plan=plan))

    assert (fees.platform_fee, fees.commission_percent, fees.currency) == (
        D(fee),
        D(percent),
        "USD",
    )
