"""The `{topic: handler}` table the inbox dispatches through, one table per source.

Register a handler from a module your AppConfig.ready() imports::

    from integrations.models import InboundWebhook
    from integrations.webhooks.handlers import register

    @register(InboundWebhook.Source.SHOPIFY, "orders/create")
    def handle_shopify_order_created(webhook: InboundWebhook, payload: dict) -> None:
        ...

A handler gets the stored row (with `store`) and the parsed JSON body. It runs inside a
transaction together with marking the row PROCESSED; it must be idempotent (a replay or a
retry calls it again). Raise TemporaryError to be retried later, anything else fails the row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dropship.core.errors import PermanentError

if TYPE_CHECKING:
    from integrations.models import InboundWebhook
    from retailers.models import Store

Handler = Callable[["InboundWebhook", Any], None]

HANDLERS: dict[str, dict[str, Handler]] = {
    "SHOPIFY": {},
    "WOOCOMMERCE": {},
    "STRIPE": {},
    "SUPPLIER": {},
    "CARRIER": {},
}


def register(source: str, topic: str) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        existing = HANDLERS[str(source)].get(topic)
        if existing is not None and existing is not handler:
            raise ValueError(f"{source} {topic} already has a handler: {existing.__qualname__}")
        HANDLERS[str(source)][topic] = handler
        return handler

    return decorator


def webhook_store(webhook: InboundWebhook) -> Store:
    """The store a store topic came from (the inbox records it on every one); a row without one
    fails with that reason."""
    if webhook.store is None:
        raise PermanentError("This webhook names no store.")
    return webhook.store


def get_handler(source: str, topic: str) -> Handler | None:
    return HANDLERS.get(str(source), {}).get(topic)
