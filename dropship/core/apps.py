from django.apps import AppConfig

from dropship.core import append_only, lookups


class CoreConfig(AppConfig):
    name = "dropship.core"
    label = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        lookups.register()
        append_only.connect()
