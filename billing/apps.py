from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # Stripe topic handlers register themselves in the webhook inbox's table when imported.
        # local: the handlers' module imports models, which load only after every app's config
        from billing import webhooks  # noqa: F401
