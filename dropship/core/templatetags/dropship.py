from decimal import Decimal

from django import template

from dropship.core.money import format_money, from_minor_units

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "USD") -> str:
    return format_money(amount, currency or "USD")


@register.filter
def minor_units(amount: int | None, currency: str = "USD") -> str:
    """An amount in a currency's minor units (Stripe's cents) as money."""
    return format_money(from_minor_units(int(amount or 0), currency or "USD"), currency or "USD")


@register.filter
def bar_rows(data) -> list[tuple[str, int, int]]:
    """{label: value} or [(label, value)] → [(label, value, percent of the largest)] for _bar_chart.html."""
    items = list(data.items()) if hasattr(data, "items") else list(data)
    largest = max((value for _, value in items), default=0) or 1
    return [(label, value, round(value * 100 / largest)) for label, value in items]


@register.filter
def status_label(value: str) -> str:
    return str(value).replace("_", " ").capitalize()
