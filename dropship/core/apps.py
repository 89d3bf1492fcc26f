from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dropship.core"
    label = "core"
    verbose_name = "Platform"
