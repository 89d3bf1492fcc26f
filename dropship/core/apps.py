from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dropship.core"
    label = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        from dropship.core import lookups

        lookups.register()
