"""Retail prices from wholesale cost under a retailer's pricing rule. Pure functions, exact Decimals.

    cost   = wholesale (+ shipping for one unit when the rule includes shipping in cost)
                       (+ platform fee + fixed processing fee when the rule includes fees in cost)
    markup = the tier whose [min_cost, max_cost) holds the cost, else the rule's own method:
             PERCENT  cost × (1 + value / 100)
             MULTIPLIER  cost × value
             FIXED    cost + value
    price  = rounded UP to the rule's ending (.99, .95, whole) so rounding never eats margin
    compare-at = the MSRP when the rule asks for it and it is above the price

The margin is the TRUE margin of selling one unit as one order (`unit_economics`):

    margin = price − wholesale − shipping (the supplier's first-item rate to the destination)
                   − platform fee (the retailer's plan) − processing (price × % + fixed, the
                   retailer's own estimate)

The minimum margin (an amount and/or a percent of the price) is checked on that margin, not
forced: a price that falls below it is reported so the caller can hold the listing for the
retailer's approval.
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
    status_code = 422


@dataclass(frozen=True)
class Tier:
    min_cost: Decimal
    max_cost: Decimal | None  # None: no upper bound
    method: str
    value: Decimal

    def holds(self, cost: Decimal) -> bool:
        return cost >= self.min_cost and (self.max_cost is None or cost < self.max_cost)


@dataclass(frozen=True)
class Overhead:
    """What selling one order costs beyond the goods and their shipping."""

    platform_fee: Decimal = ZERO
    processing_percent: Decimal = ZERO
    processing_fixed: Decimal = ZERO

    def processing(self, price: Decimal) -> Decimal:
        return quantize(price * self.processing_percent / HUNDRED + self.processing_fixed)


NO_OVERHEAD = Overhead()


@dataclass(frozen=True)
class UnitEconomics:
    """One unit sold as one order, every amount in the listing's currency, rounded to cents."""

    price: Decimal
    wholesale: Decimal
    shipping: Decimal
    platform_fee: Decimal
    processing: Decimal

    @property
    def fees(self) -> Decimal:
        return self.platform_fee + self.processing

    @property
    def total_cost(self) -> Decimal:
        return self.wholesale + self.shipping + self.platform_fee + self.processing

    @property
    def margin(self) -> Decimal:
        return self.price - self.total_cost

    @property
    def margin_percent(self) -> Decimal:
        return quantize(self.margin / self.price * HUNDRED) if self.price else ZERO


def unit_economics(
    *, price: Decimal, wholesale: Decimal, shipping: Decimal, overhead: Overhead = NO_OVERHEAD
) -> UnitEconomics:
    """The true result of selling one unit at `price`: THE function every margin shown uses."""
    price = quantize(price)
    return UnitEconomics(
        price=price,
        wholesale=quantize(wholesale),
        shipping=quantize(shipping),
        platform_fee=quantize(overhead.platform_fee),
        processing=overhead.processing(price),
    )


@dataclass(frozen=True)
class Rule:
    method: str
    value: Decimal
    rounding: str = END_99
    include_shipping_in_cost: bool = False
    include_fees_in_cost: bool = False
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
            include_fees_in_cost=rule.include_fees_in_cost,
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
    cost: Decimal  # what the markup was applied to
    price: Decimal
    compare_at: Decimal | None
    tier: Tier | None
    minimum_price: Decimal  # the lowest price whose true margin meets the minimum margin
    meets_minimum_margin: bool
    economics: UnitEconomics

    @property
    def margin(self) -> Decimal:
        return self.economics.margin

    @property
    def margin_percent(self) -> Decimal:
        return self.economics.margin_percent


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


def _meets(economics: UnitEconomics, rule: Rule) -> bool:
    if economics.margin < ZERO:
        return False
    if rule.min_margin_amount is not None and economics.margin < rule.min_margin_amount:
        return False
    return not (
        rule.min_margin_percent is not None
        and economics.margin * HUNDRED < rule.min_margin_percent * economics.price
    )


def minimum_price_for_margin(
    *,
    cost: Decimal,
    rule: Rule,
    shipping: Decimal = ZERO,
    overhead: Overhead = NO_OVERHEAD,
) -> Decimal:
    """The lowest price whose TRUE margin is not negative and meets both the amount and the
    percent minimums. `cost` is the wholesale; shipping and overhead are counted whatever the
    rule's markup base."""
    fixed = cost + shipping + overhead.platform_fee + overhead.processing_fixed
    keep = ONE - overhead.processing_percent / HUNDRED  # share of the price left after processing
    floor = fixed / keep
    if rule.min_margin_amount is not None:
        floor = max(floor, (fixed + rule.min_margin_amount) / keep)
    if rule.min_margin_percent is not None:
        # (price·keep − fixed) / price >= p  ⇔  price >= fixed / (keep − p)
        floor = max(floor, fixed / (keep - rule.min_margin_percent / HUNDRED))
    price = quantize(floor.quantize(Decimal("0.01"), rounding=ROUND_CEILING))
    # The processing fee is rounded to cents: step up the cent or two rounding may have taken.
    while not _meets(
        unit_economics(price=price, wholesale=cost, shipping=shipping, overhead=overhead), rule
    ):
        price += Decimal("0.01")
    return price


def quote_price(
    *,
    rule: Rule,
    wholesale: Decimal,
    shipping: Decimal = ZERO,
    msrp: Decimal | None = None,
    overhead: Overhead = NO_OVERHEAD,
) -> PriceQuote:
    """The rule's price for one unit; `shipping` is the supplier's first-item rate to the
    destination (always a true cost; part of the markup base when the rule says so)."""
    cost = quantize(
        wholesale
        + (shipping if rule.include_shipping_in_cost else ZERO)
        + (overhead.platform_fee + overhead.processing_fixed if rule.include_fees_in_cost else ZERO)
    )
    tier = next((t for t in rule.tiers if t.holds(cost)), None)
    method, value = (tier.method, tier.value) if tier else (rule.method, rule.value)
    price = round_price(apply_markup(cost=cost, method=method, value=value), rule.rounding)
    compare_at = msrp if (rule.compare_at_from_msrp and msrp is not None and msrp > price) else None
    economics = unit_economics(
        price=price, wholesale=wholesale, shipping=shipping, overhead=overhead
    )
    minimum = minimum_price_for_margin(
        cost=quantize(wholesale), rule=rule, shipping=quantize(shipping), overhead=overhead
    )
    return PriceQuote(
        cost=cost,
        price=price,
        compare_at=compare_at,
        tier=tier,
        minimum_price=minimum,
        meets_minimum_margin=_meets(economics, rule),
        economics=economics,
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
