"""Retail prices from wholesale cost under a retailer's pricing rule. Pure functions, exact Decimals.

    cost   = wholesale (+ shipping for one unit when the rule includes shipping in cost)
    markup = the tier whose [min_cost, max_cost) holds the cost, else the rule's own method:
             PERCENT  cost × (1 + value / 100)
             MULTIPLIER  cost × value
             FIXED    cost + value
    price  = rounded UP to the rule's ending (.99, .95, whole) so rounding never eats margin
    compare-at = the MSRP when the rule asks for it and it is above the price

The minimum margin (an amount and/or a percent of the price) is checked, not forced: a price that
falls below it is reported so the caller can hold the listing for the retailer's approval.
"""

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from dropship.core.errors import DomainError
from dropship.core.money import ZERO, quantize

HUNDRED = Decimal(100)
ONE = Decimal(1)

PERCENT, MULTIPLIER, FIXED = "PERCENT", "MULTIPLIER", "FIXED"
NONE, END_99, END_95, WHOLE = "NONE", "END_99", "END_95", "WHOLE"


class PricingRuleError(DomainError):
    pass


@dataclass(frozen=True)
class Tier:
    min_cost: Decimal
    max_cost: Decimal | None  # None: no upper bound
    method: str
    value: Decimal

    def holds(self, cost: Decimal) -> bool:
        return cost >= self.min_cost and (self.max_cost is None or cost < self.max_cost)


@dataclass(frozen=True)
class Rule:
    method: str
    value: Decimal
    rounding: str = END_99
    include_shipping_in_cost: bool = False
    compare_at_from_msrp: bool = True
    min_margin_amount: Decimal | None = None
    min_margin_percent: Decimal | None = None
    tiers: tuple[Tier, ...] = ()

    @classmethod
    def from_model(cls, rule, tiers: Sequence | None = None) -> "Rule":
        """Build from a retailers.PricingRule (tiers preloaded with prefetch_related("tiers"))."""
        tier_rows = tiers if tiers is not None else list(rule.tiers.all())
        return cls(
            method=rule.method,
            value=rule.value,
            rounding=rule.rounding,
            include_shipping_in_cost=rule.include_shipping_in_cost,
            compare_at_from_msrp=rule.compare_at_from_msrp,
            min_margin_amount=rule.min_margin_amount,
            min_margin_percent=rule.min_margin_percent,
            tiers=tuple(
                Tier(t.min_cost, t.max_cost, t.method, t.value)
                for t in sorted(tier_rows, key=lambda t: t.min_cost)
            ),
        )


@dataclass(frozen=True)
class PriceQuote:
    cost: Decimal
    price: Decimal
    compare_at: Decimal | None
    tier: Tier | None
    minimum_price: Decimal  # the lowest price that meets the minimum margin
    meets_minimum_margin: bool

    @property
    def margin(self) -> Decimal:
        return self.price - self.cost

    @property
    def margin_percent(self) -> Decimal:
        return quantize(self.margin / self.price * HUNDRED) if self.price else ZERO


def apply_markup(*, cost: Decimal, method: str, value: Decimal) -> Decimal:
    if method == PERCENT:
        return cost * (ONE + value / HUNDRED)
    if method == MULTIPLIER:
        return cost * value
    if method == FIXED:
        return cost + value
    raise PricingRuleError(f"Unknown markup method “{method}”.")


def round_price(price: Decimal, rounding: str) -> Decimal:
    """Round up to the ending the retailer chose; 12.30 → 12.99 (.99), 12.99 → 12.99, 13.00 → 13.99."""
    price = quantize(price)
    if rounding == NONE:
        return price
    if rounding == WHOLE:
        return price.to_integral_value(rounding=ROUND_CEILING).quantize(Decimal("0.01"))
    ending = {END_99: Decimal("0.99"), END_95: Decimal("0.95")}.get(rounding)
    if ending is None:
        raise PricingRuleError(f"Unknown rounding “{rounding}”.")
    candidate = Decimal(math.floor(price)) + ending
    if candidate < price:
        candidate += ONE
    return candidate


def minimum_price_for_margin(*, cost: Decimal, rule: Rule) -> Decimal:
    """The lowest price whose margin meets both the amount and the percent minimums."""
    floor = cost
    if rule.min_margin_amount is not None:
        floor = max(floor, cost + rule.min_margin_amount)
    if rule.min_margin_percent is not None:
        # margin / price >= p  ⇔  price >= cost / (1 − p)
        floor = max(floor, cost / (ONE - rule.min_margin_percent / HUNDRED))
    return quantize(floor.quantize(Decimal("0.01"), rounding=ROUND_CEILING))


def quote_price(
    *, rule: Rule, wholesale: Decimal, shipping: Decimal = ZERO, msrp: Decimal | None = None
) -> PriceQuote:
    cost = quantize(wholesale + (shipping if rule.include_shipping_in_cost else ZERO))
    tier = next((t for t in rule.tiers if t.holds(cost)), None)
    method, value = (tier.method, tier.value) if tier else (rule.method, rule.value)
    price = round_price(apply_markup(cost=cost, method=method, value=value), rule.rounding)
    compare_at = msrp if (rule.compare_at_from_msrp and msrp is not None and msrp > price) else None
    minimum = minimum_price_for_margin(cost=cost, rule=rule)
    return PriceQuote(
        cost=cost,
        price=price,
        compare_at=compare_at,
        tier=tier,
        minimum_price=minimum,
        meets_minimum_margin=price >= minimum,
    )


def validate_rule(rule: Rule) -> None:
    """Refuse a rule that would sell below cost or whose tiers overlap or leave gaps."""
    _validate_markup(rule.method, rule.value, where="The rule")
    if rule.min_margin_percent is not None and not (ZERO <= rule.min_margin_percent < HUNDRED):
        raise PricingRuleError(
            "The minimum margin percent must be at least 0 and below 100.",
            field="min_margin_percent",
        )
    if rule.min_margin_amount is not None and rule.min_margin_amount < ZERO:
        raise PricingRuleError(
            "The minimum margin amount cannot be negative.", field="min_margin_amount"
        )
    tiers = sorted(rule.tiers, key=lambda t: t.min_cost)
    if not tiers:
        return
    if tiers[0].min_cost != ZERO:
        raise PricingRuleError(
            f"The tiers must start at a cost of 0; the first starts at {tiers[0].min_cost}.",
            field="tiers",
        )
    for index, tier in enumerate(tiers, start=1):
        _validate_markup(tier.method, tier.value, where=f"Tier {index}")
        if tier.max_cost is not None and tier.max_cost <= tier.min_cost:
            raise PricingRuleError(
                f"Tier {index} ends ({tier.max_cost}) before it starts ({tier.min_cost}).",
                field="tiers",
            )
    for index, (current, following) in enumerate(itertools.pairwise(tiers), start=1):
        if current.max_cost is None or current.max_cost > following.min_cost:
            raise PricingRuleError(
                f"Tiers {index} and {index + 1} overlap: costs from {following.min_cost} fall in both.",
                field="tiers",
            )
        if current.max_cost < following.min_cost:
            raise PricingRuleError(
                f"There is a gap between tier {index} (up to {current.max_cost}) and tier {index + 1} "
                f"(from {following.min_cost}): costs in between would have no price.",
                field="tiers",
            )
    if tiers[-1].max_cost is not None:
        raise PricingRuleError(
            f"The last tier must have no upper bound; costs above {tiers[-1].max_cost} would have no price.",
            field="tiers",
        )


def _validate_markup(method: str, value: Decimal, *, where: str) -> None:
    if method not in (PERCENT, MULTIPLIER, FIXED):
        raise PricingRuleError(f"{where}: unknown markup method “{method}”.", field="method")
    if value < ZERO:
        raise PricingRuleError(f"{where}: the markup cannot be negative.", field="value")
    if method == MULTIPLIER and value < ONE:
        raise PricingRuleError(
            f"{where}: a multiplier below 1 ({value}) would sell below cost.", field="value"
        )
