"""Handlers this app owns: the store lifecycle and Shopify's mandatory privacy topics.

Order topics are registered by the order pipeline (orders app), not here.
"""

from __future__ import annotations

from integrations import privacy
from integrations.models import InboundWebhook
from integrations.webhooks.handlers import register

SHOPIFY = InboundWebhook.Source.SHOPIFY


@register(SHOPIFY, "app/uninstalled")
def handle_app_uninstalled(webhook: InboundWebhook, payload: dict) -> None:
    from retailers.services import mark_store_uninstalled

    mark_store_uninstalled(store=webhook.store)


@register(SHOPIFY, "customers/data_request")
def handle_customers_data_request(webhook: InboundWebhook, payload: dict) -> None:
    privacy.report_customer_data(store=webhook.store, webhook=webhook, payload=payload)


@register(SHOPIFY, "customers/redact")
def handle_customers_redact(webhook: InboundWebhook, payload: dict) -> None:
    privacy.redact_customer(store=webhook.store, webhook=webhook, payload=payload)


@register(SHOPIFY, "shop/redact")
def handle_shop_redact(webhook: InboundWebhook, payload: dict) -> None:
    privacy.redact_shop(store=webhook.store, webhook=webhook)
