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


# --- refunds -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RefundSplit:
    """Where refunded money comes from. Also used for the running total of settled refunds."""

    supplier_share: Decimal = ZERO  # from wholesale, then shipping
    platform_fee_share: Decimal = ZERO
    commission_returned: Decimal = ZERO  # commission the platform no longer keeps

    @property
    def total(self) -> Decimal:
        return self.supplier_share + self.platform_fee_share

    @property
    def supplier_net(self) -> Decimal:
        """What the supplier gives back: its share less the commission returned to it."""
        return self.supplier_share - self.commission_returned

    def __add__(self, other: "RefundSplit") -> "RefundSplit":
        return RefundSplit(
            self.supplier_share + other.supplier_share,
            self.platform_fee_share + other.platform_fee_share,
            self.commission_returned + other.commission_returned,
        )


class RefundTooLarge(ValueError):
    pass


def split_refund(
    *,
    amounts: SupplierOrderAmounts,
    commission_percent: Decimal,
    refunded: RefundSplit,
    amount: Decimal,
) -> RefundSplit:
    """Split a refund of `amount` given what was refunded before (`refunded`).

    The refund comes out of the supplier's gross first (wholesale, then shipping), then out of
    the platform fee. The commission returned is computed on the running total of refunded
    wholesale, so that however a supplier order is refunded in parts, once all of it is
    refunded exactly the commission charged has been returned, and

        supplier payout + platform earnings + refunds == what the retailer paid   (to the cent)

    with the supplier's remaining share never below zero.
    """
    amount = quantize(amount)
    remaining = amounts.retailer_total - refunded.total
    if amount <= ZERO:
        raise ValueError("A refund must be more than zero.")
    if amount > remaining:
        raise RefundTooLarge(f"{amount} is more than the {remaining} still refundable.")
    gross = amounts.wholesale + amounts.shipping
    supplier_share = min(amount, gross - refunded.supplier_share)
    platform_fee_share = amount - supplier_share
    refunded_wholesale = min(refunded.supplier_share + supplier_share, amounts.wholesale)
    commission_so_far = commission_for(
        wholesale=refunded_wholesale, commission_percent=commission_percent
    )
    return RefundSplit(
        supplier_share=supplier_share,
        platform_fee_share=platform_fee_share,
        commission_returned=commission_so_far - refunded.commission_returned,
    )
