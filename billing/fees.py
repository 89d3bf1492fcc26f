"""The money of one supplier order, in exact Decimals. Pure functions: no database, no rounding drift.

    retailer pays   = wholesale + shipping + platform fee
    commission      = wholesale × commission %          (kept by the platform from the supplier)
    supplier payout = wholesale + shipping − commission
    platform earns  = platform fee + commission

Each amount is rounded to cents once, half up, so that
    retailer pays == supplier payout + platform earns      (to the cent, always)
"""

from dataclasses import dataclass
from decimal import Decimal

from dropship.core.money import ZERO, quantize

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class SupplierOrderAmounts:
    wholesale: Decimal
    shipping: Decimal
    platform_fee: Decimal
    commission: Decimal

    @property
    def retailer_total(self) -> Decimal:
        return self.wholesale + self.shipping + self.platform_fee

    @property
    def supplier_payout(self) -> Decimal:
        return self.wholesale + self.shipping - self.commission

    @property
    def platform_earnings(self) -> Decimal:
        return self.platform_fee + self.commission


def commission_for(*, wholesale: Decimal, commission_percent: Decimal) -> Decimal:
    if wholesale < ZERO or not (ZERO <= commission_percent < HUNDRED):
        raise ValueError("wholesale must be >= 0 and commission percent in [0, 100)")
    return quantize(wholesale * commission_percent / HUNDRED)


def supplier_order_amounts(
    *, wholesale: Decimal, shipping: Decimal, platform_fee: Decimal, commission_percent: Decimal
) -> SupplierOrderAmounts:
    for name, value in (
        ("wholesale", wholesale),
        ("shipping", shipping),
        ("platform fee", platform_fee),
    ):
        if value < ZERO:
            raise ValueError(f"{name} cannot be negative")
    wholesale, shipping, platform_fee = (
        quantize(wholesale),
        quantize(shipping),
        quantize(platform_fee),
    )
    return SupplierOrderAmounts(
        wholesale=wholesale,
        shipping=shipping,
        platform_fee=platform_fee,
        commission=commission_for(wholesale=wholesale, commission_percent=commission_percent),
    )
