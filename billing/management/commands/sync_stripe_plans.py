"""Create (or find again) the plans' Stripe Products and monthly Prices. Safe to run twice:
prices are found by their lookup key and a new one is made only when a plan's price changed
(https://docs.stripe.com/api/prices/create, `lookup_key` and `transfer_lookup_key`)."""

from django.core.management.base import BaseCommand, CommandError

from billing.services import plans
from dropship.core.errors import PermanentError, TemporaryError


class Command(BaseCommand):
    help = "Create or update the retailer plans as Stripe Products and Prices (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        try:
            report = plans.sync_stripe_plans()
        except (TemporaryError, PermanentError) as exc:
            raise CommandError(f"Stripe refused: {exc}") from exc
        for line in report:
            self.stdout.write(line)
