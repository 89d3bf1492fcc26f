"""The daily reference rates provider: Frankfurter's v1 API (https://frankfurter.dev/v1/), HTTP
and JSON only. `GET {base}/latest?base=USD&symbols=EUR,GBP` answers
`{"amount": 1.0, "base": "USD", "date": "2026-12-07", "rates": {"EUR": 0.92, ...}}` — the last
working day's ECB rates (weekends and holidays answer the previous date, not an error); an
unknown currency is a 404 with `{"message": "not found"}`.

`load_exchange_rates` fetches every currency we handle as a base and stores the rows through
dropship.core.exchange.record_exchange_rates (an upsert per pair and day: safe to run twice).
`settings.EXCHANGE_RATES_API_BASE` points it at the provider or the sandbox (sandbox/rates.py);
empty = nothing is loaded (staff enter rates in the admin).
"""

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings

from dropship.core.errors import PermanentError, TemporaryError
from dropship.core.exchange import CURRENCIES, record_exchange_rates
from dropship.core.models import ExchangeRate
from integrations.safe_http import OutboundTemporaryError, safe_request

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DailyRates:
    base: str
    day: datetime.date
    rates: dict[str, Decimal]


def fetch_latest_rates(*, base_url: str, base: str, symbols: list[str]) -> DailyRates:
    """One call: `base`'s latest rates into `symbols`. Timeout, 429 and 5xx are TemporaryError;
    another refusal or a body that is not the documented shape is a PermanentError."""
    try:
        response = safe_request(
            "GET",
            f"{base_url.rstrip('/')}/latest",
            params={"base": base, "symbols": ",".join(symbols)},
            headers={"Accept": "application/json"},
            timeout=settings.EXCHANGE_RATES_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except OutboundTemporaryError as exc:
        raise TemporaryError(f"The rates provider did not answer: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TemporaryError(f"The rates provider answered {response.status_code}.")
    if not response.ok:
        raise PermanentError(
            f"The rates provider refused {base} ({response.status_code}): {response.text[:200]}"
        )
    try:
        data = response.json()
        day = datetime.date.fromisoformat(data["date"])
        rates = {str(code): Decimal(str(value)) for code, value in data["rates"].items()}
    except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation) as exc:
        raise PermanentError(f"The rates provider answered an unexpected body for {base}.") from exc
    if data.get("base") != base:
        raise PermanentError(
            f"The rates provider answered rates of {data.get('base')}, not {base}."
        )
    return DailyRates(base=base, day=day, rates=rates)


def load_exchange_rates() -> int:
    """Every pair of the currencies we handle, from the provider; returns rows written. A base
    the provider refuses is logged and skipped (the others still load); a timeout raises."""
    base_url = settings.EXCHANGE_RATES_API_BASE
    if not base_url:
        return 0
    written = 0
    for base in CURRENCIES:
        symbols = [code for code in CURRENCIES if code != base]
        try:
            daily = fetch_latest_rates(base_url=base_url, base=base, symbols=symbols)
        except PermanentError as exc:
            logger.error("Exchange rates for %s not loaded: %s", base, exc)
            continue
        written += record_exchange_rates(
            base=daily.base, day=daily.day, rates=daily.rates, source=ExchangeRate.Source.PROVIDER
        )
    return written
