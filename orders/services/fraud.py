"""Fraud rules: which checks hold a new order for the retailer's review, and setting them.

Rules are rows (`FraudRule`): one platform default per kind, edited by staff in the admin, and a
retailer's own row of a kind, which replaces the default for that retailer (also to switch it
off). Intake asks `review_reasons` before it inserts a new order: one query for the effective
rules and, when a velocity rule is on, one indexed count of the retailer's recent orders to the
same address and from the same shopper. A matching order is held (orders.services.holds):
its lines are reserved, nothing is charged or sent until the retailer releases it.

Amounts compare with the order's total in the order's own currency.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from dropship.accounts.models import User
from dropship.core.errors import DomainError
from integrations.base import OrderData
from orders.models import FraudRule, Order
from retailers.models import Retailer, Store

Kind = FraudRule.Kind
_SALT = "orders.fraud.fingerprint"


class FraudRuleError(DomainError):
    status_code = 422


def review_reservation() -> datetime.timedelta:
    """How long an order held for review keeps its stock (setting FRAUD_HOLD_RESERVATION_HOURS)."""
    return datetime.timedelta(hours=settings.FRAUD_HOLD_RESERVATION_HOURS)


# --- fingerprints --------------------------------------------------------------------------------
def _fingerprint(text: str) -> str:
    return salted_hmac(_SALT, text, algorithm="sha256").hexdigest() if text else ""


def address_fingerprint(address: dict[str, str]) -> str:
    """The same street address however it was typed (case, spaces), as a keyed hash; "" when
    there is no street to compare."""
    if not address.get("address1"):
        return ""
    parts = [
        " ".join(str(address.get(key) or "").lower().split())
        for key in ("address1", "address2", "zip", "city", "country_code")
    ]
    return _fingerprint("|".join(parts))


def shopper_fingerprint(email: str) -> str:
    return _fingerprint(email.strip().lower())


# --- evaluation ---------------------------------------------------------------------------------
def effective_rules(*, retailer_id: int) -> dict[str, FraudRule]:
    """Each kind's rule for this retailer: its own row, else the platform default (one query)."""
    rules: dict[str, FraudRule] = {}
    for rule in FraudRule.objects.filter(
        Q(retailer_id=retailer_id) | Q(retailer__isnull=True)
    ).order_by("retailer_id"):  # NULLs sort last on PostgreSQL, first on SQLite: pick explicitly
        if rule.retailer_id is not None or rule.kind not in rules:
            rules[rule.kind] = rule
    return {kind: rule for kind, rule in rules.items() if rule.is_enabled}


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def review_reasons(
    *,
    store: Store,
    data: OrderData,
    address_key: str,
    shopper_key: str,
    now: datetime.datetime | None = None,
) -> list[str]:
    """Why a new order of this store must wait for the retailer's review: one sentence per
    enabled rule it matches, [] when none does. `data` is the cleaned payload."""
    rules = effective_rules(retailer_id=store.retailer_id)
    if not rules:
        return []
    now = now or timezone.now()
    reasons = []
    total = data.total
    rule = rules.get(Kind.ORDER_VALUE)
    if rule is not None and rule.amount is not None and total > rule.amount:
        reasons.append(
            f"Order value {_money(total, data.currency)} is over the review threshold of "
            f"{_money(rule.amount, data.currency)}."
        )
    rule = rules.get(Kind.NEW_STORE)
    if (
        rule is not None
        and rule.amount is not None
        and rule.window_hours
        and (store.connected_at or store.created_at)
        > now - datetime.timedelta(hours=rule.window_hours)
        and total > rule.amount
    ):
        reasons.append(
            f"{_money(total, data.currency)} in {store.name}, connected less than "
            f"{rule.window_hours} hours ago (review above {_money(rule.amount, data.currency)})."
        )
    rule = rules.get(Kind.COUNTRY_MISMATCH)
    billing = data.billing_country[:2].upper()
    shipping = data.shipping_country
    if rule is not None and billing and shipping and billing != shipping:
        reasons.append(f"Billing country {billing} differs from shipping country {shipping}.")
    reasons.extend(
        _velocity_reasons(
            rules=rules,
            retailer_id=store.retailer_id,
            address_key=address_key,
            shopper_key=shopper_key,
            now=now,
        )
    )
    return reasons


def _velocity_reasons(
    *,
    rules: dict[str, FraudRule],
    retailer_id: int,
    address_key: str,
    shopper_key: str,
    now: datetime.datetime,
) -> list[str]:
    """The velocity rules in one aggregate over the retailer's recent orders (each count uses
    its own partial index: retailer, fingerprint, created_at)."""
    checks = [
        (kind, key, field, noun)
        for kind, key, field, noun in (
            (Kind.ADDRESS_VELOCITY, address_key, "address_fingerprint", "to this shipping address"),
            (Kind.SHOPPER_VELOCITY, shopper_key, "shopper_fingerprint", "from this shopper"),
        )
        if kind in rules and key
    ]
    if not checks:
        return []
    aggregates = {}
    matches = Q()
    for kind, key, field, _noun in checks:
        since = now - datetime.timedelta(hours=rules[kind].window_hours or 0)
        condition = Q(**{field: key, "created_at__gte": since})
        aggregates[kind] = Count("pk", filter=condition)
        matches |= condition
    counts = Order.objects.filter(matches, retailer_id=retailer_id).aggregate(**aggregates)
    reasons = []
    for kind, _key, _field, noun in checks:
        rule = rules[kind]
        placed = counts[kind] + 1  # this order too
        if rule.max_orders is not None and placed > rule.max_orders:
            reasons.append(
                f"{placed} orders {noun} within {rule.window_hours} hours "
                f"(review above {rule.max_orders})."
            )
    return reasons


# --- settings -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleRow:
    """What the settings page shows of one kind: the platform default and the retailer's own."""

    kind: str
    label: str
    default: FraudRule | None
    own: FraudRule | None

    @property
    def effective(self) -> FraudRule | None:
        return self.own or self.default


def list_rule_rows(*, retailer: Retailer) -> list[RuleRow]:
    rules = list(
        FraudRule.objects.filter(Q(retailer=retailer) | Q(retailer__isnull=True)).order_by("pk")
    )
    defaults = {rule.kind: rule for rule in rules if rule.retailer_id is None}
    own = {rule.kind: rule for rule in rules if rule.retailer_id is not None}
    return [
        RuleRow(kind=kind, label=label, default=defaults.get(kind), own=own.get(kind))
        for kind, label in Kind.choices
    ]


def _parse_amount(raw: str) -> Decimal:
    try:
        amount = Decimal(raw.strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise FraudRuleError(f"“{raw[:30]}” is not an amount.", field="amount") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("10000000000"):
        raise FraudRuleError("Enter an amount between 0 and 9,999,999,999.", field="amount")
    return amount.quantize(Decimal("0.01"))


def _parse_whole(raw: str, *, field: str, label: str, most: int) -> int:
    text = raw.strip()
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise FraudRuleError(f"{label} must be a whole number from 1 to {most}.", field=field)
    return int(text)


@transaction.atomic
def set_retailer_fraud_rule(
    *,
    retailer: Retailer,
    kind: str,
    mode: str,
    amount: str = "",
    max_orders: str = "",
    window_hours: str = "",
    actor: User | None = None,
) -> FraudRule | None:
    """The retailer's setting of one check: mode "default" (follow the platform), "off", or
    "on" with its numbers. FraudRuleError naming the field, with nothing written, for bad input.
    Returns the retailer's row (None when it follows the default)."""
    if kind not in Kind.values:
        raise FraudRuleError(f"“{kind[:40]}” is not a fraud check.", field="kind")
    if mode not in ("default", "on", "off"):
        raise FraudRuleError("Choose default, on or off.", field="mode")
    if mode == "default":
        FraudRule.objects.filter(retailer=retailer, kind=kind).delete()
        return None
    values: dict[str, object] = {
        "is_enabled": mode == "on",
        "amount": None,
        "max_orders": None,
        "window_hours": None,
    }
    if mode == "on":
        if kind in FraudRule.AMOUNT_KINDS:
            values["amount"] = _parse_amount(amount)
        if kind in FraudRule.VELOCITY_KINDS:
            values["max_orders"] = _parse_whole(
                max_orders, field="max_orders", label="The number of orders", most=10_000
            )
        if kind in (*FraudRule.VELOCITY_KINDS, Kind.NEW_STORE):
            values["window_hours"] = _parse_whole(
                window_hours, field="window_hours", label="The number of hours", most=24 * 365
            )
    rule, _created = FraudRule.objects.update_or_create(
        retailer=retailer, kind=kind, defaults=values
    )
    return rule
