from django.apps import AppConfig


class RetailersConfig(AppConfig):
    name = "retailers"
    verbose_name = "Retailers"

    def ready(self) -> None:
        # The store lifecycle's inbox handlers register themselves.
        # local: the handlers' module imports models, which load only after every app's config
        from retailers import webhooks  # noqa: F401
