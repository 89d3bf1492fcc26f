from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Handlers register themselves in integrations.webhooks.handlers when imported.
        from integrations.webhooks import store_events  # noqa: F401
