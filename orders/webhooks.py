"""Inbox handlers for store order topics (registered in OrdersConfig.ready()).

Each runs inside the inbox's transaction with the row marked PROCESSED, so an order is created,
reserved, routed, paid (payment terms) and dispatched to a DASHBOARD supplier in one task, or not
at all. A payload we cannot turn into an order fails the row with a message naming what is wrong.
"""

from __future__ import annotations

from dropship.core.errors import PermanentError, TemporaryError
from integrations.models import InboundWebhook
from integrations.shopify.mappers import order_from_webhook
from integrations.webhooks.handlers import register
from integrations.woocommerce.mappers import order_from_payload
from orders.services.cancellation import cancel_store_order
from orders.services.intake import OrderIntakeError, receive_store_order

SHOPIFY = InboundWebhook.Source.SHOPIFY
WOOCOMMERCE = InboundWebhook.Source.WOOCOMMERCE
WOO_ORDER_STATUSES = {"processing", "on-hold"}
WOO_CANCELLED_STATUSES = {"cancelled"}


def _receive(webhook: InboundWebhook, data) -> None:
    try:
        receive_store_order(store=webhook.store, data=data)
    except OrderIntakeError as exc:
        raise PermanentError(exc.message) from exc


@register(SHOPIFY, "orders/create")
def handle_shopify_order_created(webhook: InboundWebhook, payload: dict) -> None:
    _receive(webhook, order_from_webhook(_object(payload)))


def _cancel(webhook: InboundWebhook, store_order_id: str, reason: str, create_topics) -> None:
    order = cancel_store_order(store=webhook.store, store_order_id=store_order_id, reason=reason)
    if order is None and (
        InboundWebhook.objects.filter(
            source=webhook.source,
            store=webhook.store,
            topic__in=create_topics,
            status__in=[InboundWebhook.Status.RECEIVED, InboundWebhook.Status.PROCESSING],
        )
        .exclude(pk=webhook.pk)
        .exists()
    ):
        # The cancellation overtook the order it cancels: come back once that is processed.
        raise TemporaryError("The order this cancels has not been processed yet.")


@register(SHOPIFY, "orders/cancelled")
def handle_shopify_order_cancelled(webhook: InboundWebhook, payload: dict) -> None:
    data = order_from_webhook(_object(payload))
    reason = str(_object(payload).get("cancel_reason") or "").strip()
    _cancel(
        webhook,
        data.store_order_id,
        f"Cancelled in {webhook.store.name}" + (f" ({reason})." if reason else "."),
        ["orders/create"],
    )


@register(WOOCOMMERCE, "order.created")
@register(WOOCOMMERCE, "order.updated")
def handle_woocommerce_order(webhook: InboundWebhook, payload: dict) -> None:
    payload = _object(payload)
    status = str(payload.get("status") or "")
    if status in WOO_CANCELLED_STATUSES:
        _cancel(
            webhook,
            str(payload.get("id") or ""),
            f"Cancelled in {webhook.store.name}.",
            ["order.created", "order.updated"],
        )
        return
    if status not in WOO_ORDER_STATUSES:
        return  # pending payment, completed, refunded ...: nothing to route (yet)
    _receive(webhook, order_from_payload(payload))


def _object(payload) -> dict:
    if not isinstance(payload, dict):
        raise PermanentError("The webhook body is not a JSON object.")
    return payload
