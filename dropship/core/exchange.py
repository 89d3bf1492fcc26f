"""Exchange rates between the marketplace's currencies (dropship.core.models.ExchangeRate).

A supplier prices in its own currency (Variant.currency); a store sells in its own
(Store.currency). Wherever a supplier's money is shown or used in another currency it goes
through here: the latest daily rate for the pair no older than EXCHANGE_RATE_MAX_AGE_DAYS, or
`NoExchangeRate` with a message naming the pair — never the supplier's number under the store's
currency. Only direct pairs count (no inverse or cross rates: the loader stores every pair).
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dropship.core.errors import DomainError
from dropship.core.models import ExchangeRate
from dropship.core.money import CURRENCY_CHOICES, quantize

CURRENCIES = tuple(code for code, _ in CURRENCY_CHOICES)


class NoExchangeRate(DomainError):
    status_code = 422

    def __init__(self, *, base: str, quote: str) -> None:
        days = settings.EXCHANGE_RATE_MAX_AGE_DAYS
        super().__init__(
            f"We have no exchange rate from {base} to {quote} (none in the last {days} days), "
            f"so {base} prices cannot be shown or charged as {quote}. Support adds rates daily; "
            "try again later or contact support.",
            field="currency",
        )
        self.base, self.quote = base, quote


@dataclass(frozen=True)
class Rate:
    """One unit of `base` is `rate` units of `quote`, the reference rate of `day`."""

    base: str
    quote: str
    rate: Decimal
    day: datetime.date

    def convert(self, amount: Decimal) -> Decimal:
        return quantize(amount * self.rate)


def get_rate(*, base: str, quote: str, on: datetime.date | None = None) -> Rate:
    """The latest rate for the pair on or before `on` (today), at most
    EXCHANGE_RATE_MAX_AGE_DAYS old (one query; none for one currency)."""
    on = on or timezone.localdate()
    if base == quote:
        return Rate(base=base, quote=quote, rate=Decimal(1), day=on)
    oldest = on - datetime.timedelta(days=settings.EXCHANGE_RATE_MAX_AGE_DAYS)
    row = (
        ExchangeRate.objects.filter(base=base, quote=quote, day__lte=on, day__gte=oldest)
        .order_by("-day")
        .values_list("rate", "day")
        .first()
    )
    if row is None:
        raise NoExchangeRate(base=base, quote=quote)
    return Rate(base=base, quote=quote, rate=row[0], day=row[1])


class RateBook:
    """The rates one page, quote batch or order needs, each pair looked up once."""

    def __init__(self) -> None:
        self._rates: dict[tuple[str, str], Rate | NoExchangeRate] = {}

    def rate(self, *, base: str, quote: str) -> Rate:
        """The pair's rate; raises NoExchangeRate (remembered, not asked again)."""
        key = (base, quote)
        if key not in self._rates:
            try:
                self._rates[key] = get_rate(base=base, quote=quote)
            except NoExchangeRate as exc:
                self._rates[key] = exc
        found = self._rates[key]
        if isinstance(found, NoExchangeRate):
            raise found
        return found

    def convert(self, amount: Decimal, *, base: str, quote: str) -> Decimal:
        if base == quote:
            return amount
        return self.rate(base=base, quote=quote).convert(amount)


@transaction.atomic
def record_exchange_rates(
    *,
    base: str,
    day: datetime.date,
    rates: Mapping[str, Decimal],
    source: str = ExchangeRate.Source.PROVIDER,
) -> int:
    """Store `base`'s rates of `day` into every other currency we handle (others are ignored);
    a rerun for the same day updates the rows. Returns how many rows were written."""
    if base not in CURRENCIES:
        return 0
    written = 0
    for quote, rate in rates.items():
        if quote not in CURRENCIES or quote == base or not rate or rate <= 0:
            continue
        ExchangeRate.objects.update_or_create(
            base=base, quote=quote, day=day, defaults={"rate": rate, "source": source}
        )
        written += 1
    return written
