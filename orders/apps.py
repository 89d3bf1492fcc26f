from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Inbox handlers for order topics and the supplier-webhook sender register themselves;
        # so do the supplier's own webhook handlers and the store-fulfilment (tracking) sender.
        # local: these modules import models, which load only after every app's config
        from orders.services import dispatch, tracking  # noqa: F401
        from orders.webhooks import store, supplier  # noqa: F401
