"""A store's privacy requests (Shopify's mandatory customers/data_request, customers/redact and
shop/redact): report, or erase, what we hold about a shopper or shop.

The platform's parser (`integrations.registry.get_privacy_request_parser`) reads the request and
says whom each stored webhook is about; this module only sees those neutral answers. Personal
data lives in orders (shopper name, email, shipping address; encrypted, so matched in Python), in
the raw bodies of stored webhooks and in the payloads of finished outbound pushes. Erasure blanks
exactly those for the orders concerned and leaves everything else alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from dropship.accounts.roles import PLATFORM_ADMIN
from dropship.core.audit import record_audit
from integrations.base import PrivacyRequest
from integrations.models import InboundWebhook, OutboundPush
from integrations.registry import get_privacy_request_parser
from orders.models import Order
from retailers.models import Store


def _normalised_email(email: str) -> str:
    return (email or "").strip().lower()


def find_customer_orders(
    *, store: Store, email: str, store_order_ids: Iterable[str]
) -> list[Order]:
    """The store's orders named in the request, or placed with the shopper's email."""
    wanted_ids = set(store_order_ids)
    email = _normalised_email(email)
    matches = []
    for order in Order.objects.filter(store=store).only(
        "pk", "store_order_id", "shopper_email", "shopper_name", "shipping_address", "number"
    ):
        if order.store_order_id in wanted_ids or (
            email and _normalised_email(order.shopper_email) == email
        ):
            matches.append(order)
    return matches


def _webhooks_about(*, webhook: InboundWebhook, store_order_ids: set[str], email: str) -> list[int]:
    """The store's other stored webhooks whose body carries one of these orders, or (an earlier
    privacy request) the shopper's email."""
    parser = get_privacy_request_parser(platform=webhook.source)
    rows = InboundWebhook.objects.filter(store=webhook.store, source=webhook.source).exclude(
        pk=webhook.pk
    )
    found = []
    for webhook_id, topic, body in rows.values_list("pk", "topic", "body"):
        subject = parser.webhook_subject(topic=topic, body=bytes(body))
        if subject.store_order_ids & store_order_ids or (email and subject.customer_email == email):
            found.append(webhook_id)
    return found


def _erase_webhook_bodies(webhook_ids: list[int]) -> int:
    return InboundWebhook.objects.filter(pk__in=webhook_ids).update(body=b"", headers={})


def redact_orders(orders: list[Order]) -> None:
    """Blank the shoppers' personal data on these orders (name, email, shipping address with its
    phone, fingerprints) and on their finished outbound pushes; amounts, items and dates stay."""
    order_ids = [o.pk for o in orders]
    for order in orders:
        order.shopper_name = ""
        order.shopper_email = ""
        order.shipping_address = None
        order.address_fingerprint = order.shopper_fingerprint = ""
        order.is_redacted = True
        order.save(
            update_fields=[
                "shopper_name",
                "shopper_email",
                "shipping_address",
                "address_fingerprint",
                "shopper_fingerprint",
                "is_redacted",
                "updated_at",
            ]
        )
    OutboundPush.objects.filter(supplier_order__order_id__in=order_ids).exclude(
        status__in=[OutboundPush.Status.PENDING, OutboundPush.Status.SENDING]
    ).update(payload=None)


@transaction.atomic
def redact_customer(*, store: Store, webhook: InboundWebhook, request: PrivacyRequest) -> int:
    """Erase one shopper's personal data for one store. Returns orders erased."""
    email = _normalised_email(request.customer_email)
    orders = find_customer_orders(store=store, email=email, store_order_ids=request.store_order_ids)
    redact_orders(orders)
    store_order_ids = {o.store_order_id for o in orders} | request.store_order_ids
    erased = _webhooks_about(webhook=webhook, store_order_ids=store_order_ids, email=email)
    _erase_webhook_bodies([*erased, webhook.pk])
    record_audit(
        actor=None,
        action="privacy.customer_redacted",
        target=store,
        summary=f"Shopper data erased from {len(orders)} order(s) of {store.domain}",
        data={"orders": sorted(o.number for o in orders), "webhooks_erased": len(erased) + 1},
    )
    return len(orders)


@transaction.atomic
def redact_shop(*, store: Store, webhook: InboundWebhook, request: PrivacyRequest) -> int:
    """Erase everything personal we hold for the store (Shopify asks 48 hours after uninstall)."""
    orders = list(
        Order.objects.filter(store=store).only(
            "pk", "shopper_email", "shopper_name", "shipping_address"
        )
    )
    redact_orders(orders)
    InboundWebhook.objects.filter(store=store).update(body=b"", headers={})
    Store.objects.filter(pk=store.pk).update(
        credentials=None,
        webhook_secret="",
        status=Store.Status.DISCONNECTED,
        status_reason=f"The shop asked {store.get_platform_display()} to erase its data; it was erased.",
    )
    record_audit(
        actor=None,
        action="privacy.shop_redacted",
        target=store,
        summary=f"Personal data of {store.domain} erased ({len(orders)} order(s))",
    )
    return len(orders)


def report_customer_data(*, store: Store, webhook: InboundWebhook, request: PrivacyRequest) -> int:
    """Email platform admins what we hold about a shopper, for them to send on to the store."""
    orders = find_customer_orders(
        store=store, email=request.customer_email, store_order_ids=request.store_order_ids
    )
    platform = store.get_platform_display()
    request_id = request.request_id
    lines = [
        f"{platform} data request {request_id} from {store.domain} ({store.retailer.business_name}).",
        f"Shopper: {request.customer_email or '(no email)'}, phone {request.customer_phone or '-'}.",
        "",
    ]
    if not orders:
        lines.append("Dropship holds no orders for this shopper.")
    for order in orders:
        items = order.items.all()
        lines += [
            f"Order {order.number} (store order {order.store_order_id}), placed {order.placed_at}:",
            f"  Name: {order.shopper_name}",
            f"  Email: {order.shopper_email}",
            f"  Shipping address: {json.dumps(order.shipping_address or {}, sort_keys=True)}",
            *[f"  Item: {i.quantity} × {i.title} (SKU {i.sku or '-'})" for i in items],
            "",
        ]
    admins = list(
        get_user_model()
        .objects.filter(groups__name=PLATFORM_ADMIN, is_active=True)
        .values_list("email", flat=True)
    )
    subject = f"{platform} data request for a shopper of {store.domain}"
    message = "\n".join(lines)
    if admins:
        transaction.on_commit(lambda: send_mail(subject, message, None, sorted(admins)))
    record_audit(
        actor=None,
        action="privacy.data_requested",
        target=store,
        summary=f"Data request {request_id}: {len(orders)} order(s) reported to {len(admins)} admin(s)",
        data={"webhook": webhook.pk, "orders": sorted(o.number for o in orders)},
    )
    return len(orders)
