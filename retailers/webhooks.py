"""Inbox handlers for the store lifecycle (registered in RetailersConfig.ready())."""

from __future__ import annotations

from integrations.models import InboundWebhook
from integrations.webhooks.handlers import register, webhook_store
from retailers.services import mark_store_uninstalled


@register(InboundWebhook.Source.SHOPIFY, "app/uninstalled")
def handle_app_uninstalled(webhook: InboundWebhook, payload: object) -> None:
    mark_store_uninstalled(store=webhook_store(webhook))
