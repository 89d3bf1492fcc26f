from django.apps import AppConfig


class RetailersConfig(AppConfig):
    name = "retailers"
    verbose_name = "Retailers"

    def ready(self) -> None:
        # The store lifecycle's inbox handlers register themselves.
        from retailers import webhooks  # noqa: F401
