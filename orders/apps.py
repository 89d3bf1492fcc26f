from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Inbox handlers for order topics and the supplier-webhook sender register themselves;
        # so do the supplier's own webhook handlers, the carrier-tracking handlers, Stripe's PaymentIntent handlers and the
        # store-fulfilment (tracking) sender.
        # local: these modules import models, which load only after every app's config
        from billing.services import register_payment_retry_task
        from orders.services import dispatch, tracking  # noqa: F401
        from orders.tasks import retry_failed_payments_task
        from orders.webhooks import carrier, store, stripe, supplier  # noqa: F401

        # Billing asks for this retry when a retailer's card changes; it may not import orders.
        register_payment_retry_task(retry_failed_payments_task)
