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
