"""A daily exchange-rates provider shaped like Frankfurter's v1 API. Standard library only.

What Dropship relies on (https://frankfurter.dev/v1/), modelled here:

    GET /v1/latest?base=USD&symbols=EUR,GBP
        -> {"amount": 1.0, "base": "USD", "date": "YYYY-MM-DD", "rates": {"EUR": 0.92, ...}}
        the latest published day's rates (a weekend answers the last working day's date);
        `base` defaults to EUR; `symbols` limits the answer; an unknown currency in either
        answers 404 {"message": "not found"}.

Rates are kept as EUR reference rates (like the ECB's) and crossed for another base, rounded to
5 significant places as the provider does. Control endpoints for tests (not Frankfurter's):
    POST /_sandbox/rates   {"date": "YYYY-MM-DD"?, "eur": {"USD": 1.05, ...}?}  set the day and
                           the EUR rates; {"fail": 503} makes every call answer that status
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox.server import Request, Response

DEFAULT_EUR_RATES = {
    "USD": Decimal("1.0500"),
    "GBP": Decimal("0.8300"),
    "CAD": Decimal("1.4700"),
    "AUD": Decimal("1.6100"),
    "JPY": Decimal("162.50"),
}


class RatesSandbox:
    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose
        self.lock = threading.Lock()
        self.eur_rates: dict[str, Decimal] = dict(DEFAULT_EUR_RATES)
        self.day = datetime.now(UTC).date().isoformat()
        self.fail_status = 0
        self.calls = 0

    def _rate(self, base: str, quote: str) -> Decimal:
        in_eur = {"EUR": Decimal(1), **self.eur_rates}
        cross = in_eur[quote] / in_eur[base]
        return Decimal(f"{cross:.5g}")

    def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/_sandbox/rates":
            data: dict[str, Any] = request.json() or {}
            with self.lock:
                if "date" in data:
                    self.day = str(data["date"])
                if "eur" in data:
                    self.eur_rates = {k: Decimal(str(v)) for k, v in data["eur"].items()}
                self.fail_status = int(data.get("fail", 0))
            return Response.json({"ok": True})
        if request.method != "GET" or request.path != "/v1/latest":
            return Response.json({"message": "not found"}, status=404)
        with self.lock:
            self.calls += 1
            if self.fail_status:
                return Response.json({"message": "unavailable"}, status=self.fail_status)
            query = request.query_dict
            base = query.get("base", "EUR").upper()
            known = {"EUR", *self.eur_rates}
            symbols = [s for s in query.get("symbols", "").upper().split(",") if s] or sorted(
                known - {base}
            )
            if base not in known or any(symbol not in known for symbol in symbols):
                return Response.json({"message": "not found"}, status=404)
            rates = {s: float(self._rate(base, s)) for s in symbols if s != base}
            return Response.json({"amount": 1.0, "base": base, "date": self.day, "rates": rates})
