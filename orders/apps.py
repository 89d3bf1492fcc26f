from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Inbox handlers for order topics and the supplier-webhook sender register themselves.
        from orders import webhooks  # noqa: F401
        from orders.services import dispatch  # noqa: F401
