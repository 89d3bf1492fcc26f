"""The daily rates loader against the rates sandbox (Frankfurter's v1 shape,
https://frankfurter.dev/v1/): every pair of our currencies stored once per day, a rerun updates
rather than duplicates, a provider that fails writes nothing, and without a provider the command
says so."""

import datetime
from decimal import Decimal

import pytest
from celery.exceptions import Retry
from django.core.management import call_command
from django.core.management.base import CommandError

from dropship.core.errors import TemporaryError
from dropship.core.exchange import NoExchangeRate, get_rate
from dropship.core.models import ExchangeRate
from integrations.exchange_rates import load_exchange_rates
from integrations.tasks import load_exchange_rates_task

pytestmark = pytest.mark.django_db


def _set(rates_sandbox, **data):
    app = rates_sandbox.app
    if "date" in data:
        app.day = data["date"]
    if "eur" in data:
        app.eur_rates = {k: Decimal(v) for k, v in data["eur"].items()}
    app.fail_status = data.get("fail", 0)


def test_the_command_loads_every_pair_of_our_currencies_once_per_day(rates_sandbox, capsys):
    _set(
        rates_sandbox,
        date="2026-12-04",
        eur={"USD": "1.05", "GBP": "0.83", "CAD": "1.47", "AUD": "1.61"},
    )

    call_command("load_exchange_rates")
    call_command("load_exchange_rates")  # a rerun the same day updates, never duplicates

    assert ExchangeRate.objects.count() == 20  # 5 currencies, every ordered pair
    assert set(ExchangeRate.objects.values_list("day", flat=True)) == {datetime.date(2026, 12, 4)}
    assert ExchangeRate.objects.get(base="USD", quote="CAD").rate == Decimal("1.4")
    assert ExchangeRate.objects.get(base="EUR", quote="USD").rate == Decimal("1.05")
    assert ExchangeRate.objects.get(base="USD", quote="CAD").source == "PROVIDER"
    assert capsys.readouterr().out.splitlines() == [
        "20 exchange rates loaded.",
        "20 exchange rates loaded.",
    ]
    rate = get_rate(base="USD", quote="CAD", on=datetime.date(2026, 12, 7))  # a Monday
    assert (rate.rate, rate.day) == (Decimal("1.4"), datetime.date(2026, 12, 4))


def test_a_new_day_adds_rows_and_the_latest_one_is_used(rates_sandbox):
    others = {"GBP": "0.83", "AUD": "1.61"}
    _set(rates_sandbox, date="2026-12-03", eur={"USD": "1.00", "CAD": "1.50", **others})
    assert load_exchange_rates() == 20
    _set(rates_sandbox, date="2026-12-04", eur={"USD": "1.00", "CAD": "1.40", **others})
    assert load_exchange_rates() == 20

    assert ExchangeRate.objects.filter(base="USD", quote="CAD").count() == 2
    assert get_rate(base="USD", quote="CAD", on=datetime.date(2026, 12, 4)).rate == Decimal("1.4")
    assert get_rate(base="USD", quote="CAD", on=datetime.date(2026, 12, 3)).rate == Decimal("1.5")


def test_a_base_the_provider_does_not_know_is_skipped_and_the_others_load(rates_sandbox):
    # The provider answers 404 for a currency it does not know (here AUD is missing).
    _set(rates_sandbox, date="2026-12-04", eur={"USD": "1.05", "GBP": "0.83", "CAD": "1.47"})

    assert load_exchange_rates() == 0
    assert not ExchangeRate.objects.exists()


def test_a_provider_that_fails_writes_nothing_and_the_task_retries(rates_sandbox):
    _set(rates_sandbox, fail=503)

    with pytest.raises(TemporaryError):
        load_exchange_rates()
    assert not ExchangeRate.objects.exists()

    with pytest.raises(Retry) as retried:
        load_exchange_rates_task.apply(throw=True)
    assert retried.value.when == 15 * 60
    assert not ExchangeRate.objects.exists()


def test_without_a_provider_the_command_says_so_and_no_rate_is_a_clear_error(settings):
    settings.EXCHANGE_RATES_API_BASE = ""

    with pytest.raises(CommandError, match="EXCHANGE_RATES_API_BASE is not set"):
        call_command("load_exchange_rates")
    assert load_exchange_rates() == 0
    with pytest.raises(NoExchangeRate) as missing:
        get_rate(base="USD", quote="GBP")
    assert missing.value.message.startswith(
        "We have no exchange rate from USD to GBP (none in the last 7 days)"
    )
