"""Retail prices for many variants at once, with a handful of queries whatever their number.

A `PriceBook` loads a retailer's rules (with tiers), the category tree, its plan's platform fee
and the suppliers' cheapest first-item rates once, then quotes any variant for a store: the most
specific rule (retailers.rules) applied by the pure math in retailers.pricing, with the true unit
economics (wholesale, shipping to the destination, platform fee, processing estimate).

Every figure of a quote is in the store's currency (the retailer's without a store): a supplier
pricing in another currency has its wholesale, shipping and MSRP converted at the day's rate
(dropship.core.exchange, one query per currency pair per book), and with no rate the quote
raises NoExchangeRate — a USD wholesale is never priced as if it were CAD.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import F, Min

from billing.models import FeeSchedule
from catalog.models import Category, Variant
from dropship.core.exchange import RateBook
from dropship.core.money import ZERO
from retailers.models import PricingRule, Retailer, Store
from retailers.pricing import (
    Overhead,
    PriceQuote,
    Rule,
    UnitEconomics,
    quote_price,
    unit_economics,
)
from retailers.rules import DEFAULT_RULE, pick_rule
from suppliers.models import ShippingRate

DOMESTIC, INTERNATIONAL = ShippingRate.Zone.DOMESTIC, ShippingRate.Zone.INTERNATIONAL


class PriceBook:
    def __init__(self, *, retailer: Retailer, forced_rule: PricingRule | None = None) -> None:
        self.retailer = retailer
        self.rules = list(
            PricingRule.objects.filter(retailer=retailer).prefetch_related("tiers")
            if forced_rule is None
            else PricingRule.objects.filter(pk=forced_rule.pk).prefetch_related("tiers")
        )
        self.forced = self.rules[0] if forced_rule is not None and self.rules else None
        self._parents: dict[int, int | None] | None = None
        # (supplier, shipping class, zone) -> cheapest first-item rate; supplier -> ship-from
        self._shipping: dict[tuple[int, str, str], Decimal] = {}
        self._ship_from: dict[int, str] = {}
        self._math: dict[int, Rule] = {}
        self._overhead: Overhead | None = None
        self.rates = RateBook()

    # --- currency -----------------------------------------------------------------------------
    def currency_for(self, store: Store | None) -> str:
        """What the figures are in: the store's currency, else the retailer's."""
        return store.currency if store is not None else self.retailer.currency

    def in_currency(self, amount: Decimal, *, variant: Variant, currency: str) -> Decimal:
        """A supplier amount of `variant` (in the variant's currency) in `currency`."""
        return self.rates.convert(amount, base=variant.currency, quote=currency)

    # --- overhead -----------------------------------------------------------------------------
    @property
    def overhead(self) -> Overhead:
        """The retailer's plan fee per order and its own processing estimate (one query)."""
        if self._overhead is None:
            fee = (
                FeeSchedule.objects.filter(plan=self.retailer.plan)
                .values_list("order_fee", flat=True)
                .first()
            )
            self._overhead = Overhead(
                platform_fee=fee if fee is not None else ZERO,
                processing_percent=self.retailer.processing_fee_percent,
                processing_fixed=self.retailer.processing_fee_fixed,
            )
        return self._overhead

    # --- rule resolution ----------------------------------------------------------------------
    def _lineage(self, category_id: int | None) -> list[int]:
        if category_id is None:
            return []
        if self._parents is None:
            self._parents = dict(Category.objects.values_list("id", "parent_id"))
        lineage: list[int] = []
        node: int | None = category_id
        while node is not None and node not in lineage:
            lineage.append(node)
            node = self._parents.get(node)
        return lineage

    def rule_row(self, *, category_id: int | None, store: Store | None) -> PricingRule | None:
        if self.forced is not None:
            return self.forced
        return pick_rule(
            rules=self.rules,
            lineage=self._lineage(category_id),
            store_id=store.pk if store is not None else None,
        )

    def rule_for(self, *, category_id: int | None, store: Store | None) -> Rule:
        row = self.rule_row(category_id=category_id, store=store)
        if row is None:
            return DEFAULT_RULE
        if row.pk not in self._math:
            self._math[row.pk] = Rule.from_model(row)
        return self._math[row.pk]

    # --- shipping -----------------------------------------------------------------------------
    def load_shipping(self, variants: Iterable[Variant]) -> None:
        """Cheapest first-item rate per (supplier, shipping class, zone), in one query."""
        wanted = {v.supplier_id for v in variants} - set(self._ship_from)
        if not wanted:
            return
        rows = (
            ShippingRate.objects.filter(supplier_id__in=wanted)
            .values("supplier_id", "shipping_class", "zone")
            .annotate(cheapest=Min("price"), ship_from=F("supplier__ship_from_country"))
        )
        for row in rows:
            key = (row["supplier_id"], row["shipping_class"], row["zone"])
            self._shipping[key] = row["cheapest"]
            self._ship_from[row["supplier_id"]] = row["ship_from"] or ""
        for supplier_id in wanted:
            self._ship_from.setdefault(supplier_id, "")

    def zone_for(self, *, supplier_id: int, destination_country: str | None = None) -> str:
        """DOMESTIC when the destination (default: the retailer's home country; none set: the
        supplier's own country) is where the supplier ships from, else INTERNATIONAL."""
        country = (destination_country or self.retailer.home_country or "").upper()
        ship_from = self._ship_from.get(supplier_id, "").upper()
        return DOMESTIC if not country or not ship_from or country == ship_from else INTERNATIONAL

    def shipping_for(self, variant: Variant, *, destination_country: str | None = None) -> Decimal:
        """The supplier's cheapest rate for the first unit to the destination; 0 if it has none."""
        self.load_shipping([variant])
        zone = self.zone_for(
            supplier_id=variant.supplier_id, destination_country=destination_country
        )
        return self._shipping.get((variant.supplier_id, variant.shipping_class, zone), ZERO)

    def economics(
        self,
        *,
        variant: Variant,
        price: Decimal,
        destination_country: str | None = None,
        store: Store | None = None,
    ) -> UnitEconomics:
        """True unit economics of selling this variant at `price` (e.g. a listing's own price,
        in the store's currency)."""
        currency = self.currency_for(store)
        return unit_economics(
            price=price,
            wholesale=self.in_currency(variant.wholesale_price, variant=variant, currency=currency),
            shipping=self.in_currency(
                self.shipping_for(variant, destination_country=destination_country),
                variant=variant,
                currency=currency,
            ),
            overhead=self.overhead,
        )

    # --- quotes -------------------------------------------------------------------------------
    def quote(
        self,
        *,
        variant: Variant,
        category_id: int | None,
        store: Store | None,
        rule: Rule | None = None,
        destination_country: str | None = None,
    ) -> PriceQuote:
        rule = rule or self.rule_for(category_id=category_id, store=store)
        currency = self.currency_for(store)
        return quote_price(
            rule=rule,
            wholesale=self.in_currency(variant.wholesale_price, variant=variant, currency=currency),
            shipping=self.in_currency(
                self.shipping_for(variant, destination_country=destination_country),
                variant=variant,
                currency=currency,
            ),
            msrp=(
                self.in_currency(variant.msrp, variant=variant, currency=currency)
                if variant.msrp is not None
                else None
            ),
            overhead=self.overhead,
        )
