"""Inbox handlers for store order topics and the stores' privacy topics (registered in
OrdersConfig.ready()).

Each platform's parsers (`integrations.registry.get_order_webhook_parser` and
`get_privacy_request_parser`) turn the payload into a neutral event: an order to receive (new,
or news of a known one: paid, updated), a cancellation, refunded lines, or nothing for us; a
request to report or erase a shopper's or store's data; a released fulfillment hold resends the
tracking pushes the store held. Each runs inside the
inbox's transaction with the row marked PROCESSED, so an order is created, reserved, routed, paid
(payment terms) and dispatched to a DASHBOARD supplier in one task, or not at all. A payload we
cannot turn into an order fails the row with a message naming what is wrong.
"""

from __future__ import annotations

from dropship.core.errors import PermanentError, TemporaryError
from integrations.base import OrderData, PrivacyRequestKind, StoreOrderEventKind
from integrations.models import InboundWebhook
from integrations.registry import (
    fulfillment_release_topics,
    get_order_webhook_parser,
    get_privacy_request_parser,
    order_webhook_platforms,
    privacy_request_platforms,
)
from integrations.webhooks.handlers import register, webhook_store
from orders import privacy
from orders.services.cancellation import cancel_store_order
from orders.services.intake import OrderIntakeError, receive_store_order
from orders.services.store_refunds import cancel_refunded_lines
from orders.services.tracking import resume_held_pushes
from retailers.models import Store


def handle_store_order_webhook(webhook: InboundWebhook, payload: object) -> None:
    parser = get_order_webhook_parser(platform=webhook.source)
    event = parser.parse_order_webhook(topic=webhook.topic, payload=payload)
    if event.kind == StoreOrderEventKind.CREATED and event.order is not None:
        _receive(webhook_store(webhook), event.order)
    elif event.kind == StoreOrderEventKind.CANCELLED:
        store = webhook_store(webhook)
        reason = event.cancel_reason
        _cancel(
            webhook,
            store,
            event.store_order_id,
            f"Cancelled in {store.name}" + (f" ({reason})." if reason else "."),
            parser.creating_topics,
        )
    elif event.kind == StoreOrderEventKind.REFUNDED:
        store = webhook_store(webhook)
        order = cancel_refunded_lines(
            store=store,
            store_order_id=event.store_order_id,
            lines=event.refunded_lines,
            refund_id=event.refund_id,
        )
        if order is None and _creating_pending(webhook, store, parser.creating_topics):
            raise TemporaryError("The order this refunds has not been processed yet.")


def _receive(store: Store, data: OrderData) -> None:
    try:
        receive_store_order(store=store, data=data)
    except OrderIntakeError as exc:
        raise PermanentError(exc.message) from exc


def _cancel(
    webhook: InboundWebhook,
    store: Store,
    store_order_id: str,
    reason: str,
    creating_topics: tuple[str, ...],
) -> None:
    order = cancel_store_order(store=store, store_order_id=store_order_id, reason=reason)
    if order is None and _creating_pending(webhook, store, creating_topics):
        # The cancellation overtook the order it cancels: come back once that is processed.
        raise TemporaryError("The order this cancels has not been processed yet.")


def _creating_pending(
    webhook: InboundWebhook, store: Store, creating_topics: tuple[str, ...]
) -> bool:
    """Whether a delivery that may bring the order is still waiting in the inbox."""
    return (
        InboundWebhook.objects.filter(
            source=webhook.source,
            store=store,
            topic__in=creating_topics,
            status__in=[InboundWebhook.Status.RECEIVED, InboundWebhook.Status.PROCESSING],
        )
        .exclude(pk=webhook.pk)
        .exists()
    )


_PRIVACY_ACTIONS = {
    PrivacyRequestKind.DATA_REQUEST: privacy.report_customer_data,
    PrivacyRequestKind.CUSTOMER_REDACT: privacy.redact_customer,
    PrivacyRequestKind.SHOP_REDACT: privacy.redact_shop,
}


def handle_privacy_webhook(webhook: InboundWebhook, payload: object) -> None:
    parser = get_privacy_request_parser(platform=webhook.source)
    request = parser.parse_privacy_request(topic=webhook.topic, payload=payload)
    _PRIVACY_ACTIONS[request.kind](store=webhook_store(webhook), webhook=webhook, request=request)


def handle_fulfillment_release_webhook(webhook: InboundWebhook, payload: object) -> None:
    """A hold on a fulfillment order was released (or a scheduled one opened): the store's held
    tracking pushes are sent again now; those still held wait again, with their reason."""
    resume_held_pushes(store=webhook_store(webhook))


def _register_topics() -> None:
    """One handler for every order topic, and one for every privacy topic, of each platform;
    one for the topics that release held fulfilments."""
    for platform in order_webhook_platforms():
        for topic in get_order_webhook_parser(platform=platform).order_topics:
            register(platform, topic)(handle_store_order_webhook)
    for platform in privacy_request_platforms():
        for topic in get_privacy_request_parser(platform=platform).privacy_topics:
            register(platform, topic)(handle_privacy_webhook)
    for platform, topics in fulfillment_release_topics().items():
        for topic in topics:
            register(platform, topic)(handle_fulfillment_release_webhook)


_register_topics()
