"""Writes for pricing rules: validated by retailers.pricing.validate_rule before anything is saved,
and a preview of the prices a rule would give on sample products."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction

from catalog.models import Category, Product, Variant
from dropship.accounts.models import User
from dropship.core.audit import pair_changes, record_audit, snapshot
from dropship.core.errors import Conflict, NotFound
from dropship.core.exchange import NoExchangeRate
from retailers.models import Listing, PricingRule, PricingTier, Retailer, Store
from retailers.pricing import PriceQuote, PricingRuleError, Rule, Tier, validate_rule
from retailers.services.quoting import PriceBook
from suppliers.models import Supplier


@dataclass(frozen=True)
class TierInput:
    min_cost: Decimal
    max_cost: Decimal | None
    method: str
    value: Decimal


@dataclass(frozen=True)
class RuleInput:
    name: str
    method: str
    value: Decimal
    rounding: str = PricingRule.Rounding.END_99
    include_shipping_in_cost: bool = False
    include_fees_in_cost: bool = False
    compare_at_from_msrp: bool = True
    min_margin_amount: Decimal | None = None
    min_margin_percent: Decimal | None = None
    store: Store | None = None
    category: Category | None = None
    tiers: tuple[TierInput, ...] = ()

    def to_rule(self) -> Rule:
        return Rule(
            method=self.method,
            value=self.value,
            rounding=self.rounding,
            include_shipping_in_cost=self.include_shipping_in_cost,
            include_fees_in_cost=self.include_fees_in_cost,
            compare_at_from_msrp=self.compare_at_from_msrp,
            min_margin_amount=self.min_margin_amount,
            min_margin_percent=self.min_margin_percent,
            tiers=tuple(
                Tier(t.min_cost, t.max_cost, t.method, t.value)
                for t in sorted(self.tiers, key=lambda t: t.min_cost)
            ),
        )


def scope_label(*, store: Store | None, category: Category | None) -> str:
    if store is None and category is None:
        return "your default rule"
    parts = []
    if store is not None:
        parts.append(f"store {store.name}")
    if category is not None:
        parts.append(f"category {category.name}")
    return "the rule for " + " and ".join(parts)


def _check_input(*, retailer: Retailer, data: RuleInput) -> Rule:
    if not data.name.strip():
        raise PricingRuleError("Give the rule a name.", field="name")
    if data.store is not None and data.store.retailer_id != retailer.pk:
        raise NotFound("That store is not one of yours.", field="store")
    rule = data.to_rule()
    validate_rule(rule)
    return rule


@transaction.atomic
def save_pricing_rule(
    *,
    retailer: Retailer,
    data: RuleInput,
    rule: PricingRule | None = None,
    actor: User | None = None,
) -> PricingRule:
    """Create or replace a rule and its tiers. A rule that would sell below cost, or whose tiers
    overlap or leave gaps, is refused with a message naming the tiers; nothing is written."""
    _check_input(retailer=retailer, data=data)
    if rule is not None and rule.retailer_id != retailer.pk:
        raise NotFound("That pricing rule is not one of yours.")
    clash = PricingRule.objects.filter(retailer=retailer, store=data.store, category=data.category)
    if rule is not None:
        clash = clash.exclude(pk=rule.pk)
    if clash.exists():
        raise Conflict(
            f"You already have {scope_label(store=data.store, category=data.category)}; "
            "edit that one instead.",
            field="store",
        )
    rule = rule or PricingRule(retailer=retailer)
    before = snapshot(rule, _AUDITED_RULE_FIELDS) if rule.pk else {}
    rule.name = data.name.strip()[:100]
    rule.store = data.store
    rule.category = data.category
    rule.method = data.method
    rule.value = data.value
    rule.rounding = data.rounding
    rule.include_shipping_in_cost = data.include_shipping_in_cost
    rule.include_fees_in_cost = data.include_fees_in_cost
    rule.compare_at_from_msrp = data.compare_at_from_msrp
    rule.min_margin_amount = data.min_margin_amount
    rule.min_margin_percent = data.min_margin_percent
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:  # a concurrent save of the same scope
        raise Conflict(
            f"You already have {scope_label(store=data.store, category=data.category)}."
        ) from exc
    PricingTier.objects.filter(rule=rule).delete()
    PricingTier.objects.bulk_create(
        PricingTier(
            rule=rule, min_cost=t.min_cost, max_cost=t.max_cost, method=t.method, value=t.value
        )
        for t in data.tiers
    )
    record_audit(
        actor=actor,
        action="pricing_rule.saved",
        target=rule,
        summary=rule.name,
        changes=pair_changes(before, snapshot(rule, _AUDITED_RULE_FIELDS)),
    )
    return rule


_AUDITED_RULE_FIELDS = [
    "name",
    "store_id",
    "category_id",
    "method",
    "value",
    "rounding",
    "include_shipping_in_cost",
    "include_fees_in_cost",
    "compare_at_from_msrp",
    "min_margin_amount",
    "min_margin_percent",
]


@transaction.atomic
def delete_pricing_rule(*, rule: PricingRule, actor: User | None = None) -> None:
    record_audit(actor=actor, action="pricing_rule.deleted", target=rule, summary=rule.name)
    rule.delete()


@dataclass(frozen=True)
class PreviewRow:
    title: str
    sku: str
    options: str
    wholesale: Decimal
    quote: PriceQuote


def preview_pricing_rule(
    *, retailer: Retailer, data: RuleInput, limit: int = 8
) -> tuple[list[PreviewRow], str]:
    """The prices this (unsaved) rule gives on sample products: the retailer's listed products,
    else active catalog products (of the rule's category when it has one). Returns (rows, source
    label). Raises PricingRuleError for a rule that cannot be saved."""
    rule = _check_input(retailer=retailer, data=data)
    variants = sample_variants(retailer=retailer, category=data.category, limit=limit)
    book = PriceBook(retailer=retailer)
    book.load_shipping(variants)
    rows = []
    for v in variants:
        try:
            quote = book.quote(variant=v, category_id=v.product.category_id, store=None, rule=rule)
        except NoExchangeRate:
            continue  # no rate today into the retailer's currency: left out, never mispriced
        rows.append(
            PreviewRow(
                title=v.product.title,
                sku=v.sku,
                options=v.options_label,
                wholesale=v.wholesale_price,
                quote=quote,
            )
        )
    listed = Listing.objects.filter(store__retailer=retailer).exists()
    return rows, ("your listed products" if listed else "products from the catalog")


def sample_variants(*, retailer: Retailer, category: Category | None, limit: int) -> list[Variant]:
    base = Variant.objects.select_related("product").order_by("wholesale_price", "id")
    listed = list(
        base.filter(listing_variants__listing__store__retailer=retailer).distinct()[:limit]
    )
    if listed:
        return listed
    catalog = base.filter(
        product__status=Product.Status.ACTIVE, product__supplier__status=Supplier.Status.ACTIVE
    )
    if category is not None:
        catalog = catalog.filter(product__category=category)
    rows = list(catalog[: limit * 5])
    if len(rows) <= limit:
        return rows
    # Spread the sample over the price range so tiers show.
    step = len(rows) / limit
    return [rows[int(i * step)] for i in range(limit)]
