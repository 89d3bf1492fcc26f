"""Load today's reference exchange rates from the provider (EXCHANGE_RATES_API_BASE). Safe to run
twice: one row per currency pair and day, updated on a rerun."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dropship.core.errors import TemporaryError
from integrations.exchange_rates import load_exchange_rates


class Command(BaseCommand):
    help = "Load the day's exchange rates between the currencies we handle from the provider."

    def handle(self, *args: object, **options: object) -> None:
        if not settings.EXCHANGE_RATES_API_BASE:
            raise CommandError(
                "EXCHANGE_RATES_API_BASE is not set: no provider to load from (staff can enter "
                "rates in the admin under Exchange rates)."
            )
        try:
            written = load_exchange_rates()
        except TemporaryError as exc:
            raise CommandError(f"The rates provider did not answer: {exc}") from exc
        self.stdout.write(f"{written} exchange rates loaded.")
