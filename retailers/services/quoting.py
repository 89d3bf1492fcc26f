"""Retail prices for many variants at once, with a handful of queries whatever their number.

A `PriceBook` loads a retailer's rules (with tiers), the category tree and the suppliers' cheapest
domestic rates once, then quotes any variant for a store: the most specific rule (retailers.rules)
applied by the pure math in retailers.pricing.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Min

from catalog.models import Category, Variant
from dropship.core.money import ZERO
from retailers.models import PricingRule, Retailer, Store
from retailers.pricing import PriceQuote, Rule, quote_price
from retailers.rules import DEFAULT_RULE, pick_rule
from suppliers.models import ShippingRate


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
        self._shipping: dict[tuple[int, str], Decimal] = {}
        self._math: dict[int, Rule] = {}

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
        """Cheapest domestic rate for one unit, per (supplier, shipping class), in one query."""
        wanted = {(v.supplier_id, v.shipping_class) for v in variants} - set(self._shipping)
        if not wanted:
            return
        rows = (
            ShippingRate.objects.filter(
                supplier_id__in={s for s, _ in wanted}, zone=ShippingRate.Zone.DOMESTIC
            )
            .values("supplier_id", "shipping_class")
            .annotate(cheapest=Min("price"))
        )
        for row in rows:
            self._shipping[(row["supplier_id"], row["shipping_class"])] = row["cheapest"]
        for key in wanted:
            self._shipping.setdefault(key, ZERO)

    def shipping_for(self, variant: Variant) -> Decimal:
        key = (variant.supplier_id, variant.shipping_class)
        if key not in self._shipping:
            self.load_shipping([variant])
        return self._shipping[key]

    # --- quotes -------------------------------------------------------------------------------
    def quote(
        self,
        *,
        variant: Variant,
        category_id: int | None,
        store: Store | None,
        rule: Rule | None = None,
    ) -> PriceQuote:
        rule = rule or self.rule_for(category_id=category_id, store=store)
        return quote_price(
            rule=rule,
            wholesale=variant.wholesale_price,
            shipping=self.shipping_for(variant) if rule.include_shipping_in_cost else ZERO,
            msrp=variant.msrp,
        )
