from django.apps import AppConfig

from dropship.core import lookups


class CoreConfig(AppConfig):
    name = "dropship.core"
    label = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        lookups.register()
