from decimal import Decimal

from django import template

from dropship.core.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "USD") -> str:
    return format_money(amount, currency or "USD")


@register.filter
def bar_rows(data) -> list[tuple[str, int, int]]:
    """{label: value} or [(label, value)] → [(label, value, percent of the largest)] for _bar_chart.html."""
    items = list(data.items()) if hasattr(data, "items") else list(data)
    largest = max((value for _, value in items), default=0) or 1
    return [(label, value, round(value * 100 / largest)) for label, value in items]


@register.filter
def status_label(value: str) -> str:
    return str(value).replace("_", " ").capitalize()
