"""Money is a Decimal with an explicit currency; never a float. Helpers for the few conversions."""

from decimal import ROUND_HALF_UP, Decimal

from django.core.validators import MinValueValidator
from django.db import models

ZERO = Decimal("0.00")
CENTS = Decimal("0.01")

# ISO 4217 currencies whose minor unit is not 1/100 (Stripe's list of zero-decimal currencies).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)

CURRENCY_CHOICES = [
    ("USD", "US dollar"),
    ("EUR", "Euro"),
    ("GBP", "Pound sterling"),
    ("CAD", "Canadian dollar"),
    ("AUD", "Australian dollar"),
]


def quantize(amount: Decimal) -> Decimal:
    """Round to cents, half up, the way invoices and card statements do."""
    return Decimal(amount).quantize(CENTS, rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Decimal amount to the integer Stripe expects (cents, or whole units for zero-decimal currencies)."""
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return int(Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return int(quantize(amount) * 100)


def from_minor_units(amount: int, currency: str) -> Decimal:
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return Decimal(amount)
    return quantize(Decimal(amount) / 100)


def format_money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "—"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$"}.get(currency, "")
    value = f"{quantize(amount):,.2f}"
    return f"{symbol}{value}" if symbol else f"{value} {currency}"


class MoneyField(models.DecimalField):
    """A non-negative amount in the currency stored beside it on the same row."""

    def __init__(self, *args, allow_negative: bool = False, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        self.allow_negative = allow_negative
        if not allow_negative:
            kwargs.setdefault("validators", [MinValueValidator(ZERO)])
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("validators", None)
        if self.allow_negative:
            kwargs["allow_negative"] = True
        return name, path, args, kwargs


class CurrencyField(models.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("default", "USD")
        kwargs.setdefault("choices", CURRENCY_CHOICES)
        super().__init__(*args, **kwargs)
