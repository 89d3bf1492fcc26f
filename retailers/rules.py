"""Which pricing rule applies to a product in a store: the most specific one wins.

Specificity, most to least: store + category, store only, category only, the retailer's default
(neither). A category rule also covers the category's descendants; the nearest ancestor wins.
"""

from decimal import Decimal

from django.db.models import Q

from retailers.models import PricingRule, Retailer, Store
from retailers.pricing import Rule

# The rule a retailer gets before it has saved one of its own.
DEFAULT_RULE = Rule(method="MULTIPLIER", value=Decimal("2"))


def category_lineage(*, category) -> list[int]:
    """The category's id followed by its ancestors' ids, nearest first (empty for None)."""
    lineage: list[int] = []
    node = category
    while node is not None and node.pk not in lineage:
        lineage.append(node.pk)
        node = node.parent
    return lineage


def resolve_pricing_rule(
    *, retailer: Retailer, category=None, store: Store | None = None
) -> PricingRule | None:
    """The retailer's most specific saved rule for this category (and store), or None."""
    lineage = category_lineage(category=category)
    scope = Q(store__isnull=True) | (Q(store=store) if store is not None else Q(pk__in=[]))
    rules = list(PricingRule.objects.filter(scope, retailer=retailer))
    return pick_rule(rules=rules, lineage=lineage, store_id=store.pk if store else None)


def pick_rule(*, rules, lineage: list[int], store_id: int | None) -> PricingRule | None:
    """Choose among already-loaded rules (lets list pages load a retailer's rules once)."""

    def rank(rule) -> tuple[int, int] | None:
        if rule.store_id is not None and rule.store_id != store_id:
            return None
        if rule.category_id is not None and rule.category_id not in lineage:
            return None
        store_rank = 0 if rule.store_id is not None else 1
        category_rank = lineage.index(rule.category_id) if rule.category_id else len(lineage) + 1
        return (store_rank, category_rank)

    ranked = [(r, rule) for rule in rules if (r := rank(rule)) is not None]
    return min(ranked, key=lambda pair: pair[0])[1] if ranked else None


def rule_for(*, retailer: Retailer, category=None, store: Store | None = None) -> Rule:
    """The pricing math to apply: the resolved rule with its tiers, else DEFAULT_RULE."""
    rule = resolve_pricing_rule(retailer=retailer, category=category, store=store)
    return Rule.from_model(rule) if rule is not None else DEFAULT_RULE
