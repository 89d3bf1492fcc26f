from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # The supplier webhook handlers and the store-fulfilment sender register on import.
        from orders import supplier_webhooks, tracking_tasks  # noqa: F401
        from orders.services import tracking  # noqa: F401
