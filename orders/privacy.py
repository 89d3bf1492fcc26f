"""Shopify's mandatory privacy requests: report, or erase, what we hold about a shopper or shop.

Personal data lives in orders (shopper name, email, shipping address; encrypted, so matched in
Python), in the raw bodies of stored webhooks and in the payloads of finished outbound pushes.
Erasure blanks exactly those for the orders concerned and leaves everything else alone.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from dropship.accounts.roles import PLATFORM_ADMIN
from dropship.core.audit import record_audit
from integrations.models import InboundWebhook, OutboundPush
from integrations.shopify.mappers import gid
from orders.models import Order
from retailers.models import Store

ORDER_TOPIC_PREFIXES = ("orders/", "order.")


def find_customer_orders(*, store: Store, email: str, store_order_ids: list) -> list[Order]:
    """The store's orders named in the request, or placed with the shopper's email."""
    wanted_ids = {gid("Order", value) for value in store_order_ids or []}
    wanted_ids |= {str(value) for value in store_order_ids or []}
    email = (email or "").strip().lower()
    matches = []
    for order in Order.objects.filter(store=store).only(
        "pk", "store_order_id", "shopper_email", "shopper_name", "shipping_address", "number"
    ):
        if order.store_order_id in wanted_ids or (
            email and (order.shopper_email or "").strip().lower() == email
        ):
            matches.append(order)
    return matches


def _webhooks_about_orders(*, store: Store, store_order_ids: set[str]) -> list[int]:
    """Stored order webhooks of the store whose body is one of these orders."""
    found = []
    rows = InboundWebhook.objects.filter(store=store).filter(
        Q(topic__startswith=ORDER_TOPIC_PREFIXES[0]) | Q(topic__startswith=ORDER_TOPIC_PREFIXES[1])
    )
    for webhook_id, body in rows.values_list("pk", "body"):
        try:
            payload = json.loads(bytes(body) or b"{}")
        except ValueError:
            continue
        if not isinstance(payload, dict):
            continue
        ids = {str(payload.get("admin_graphql_api_id") or ""), str(payload.get("id") or "")}
        if payload.get("id") is not None:
            ids.add(gid("Order", payload["id"]))
        if ids & store_order_ids:
            found.append(webhook_id)
    return found


def _webhooks_about_customer(*, store: Store, email: str, exclude: int | None) -> list[int]:
    """Earlier privacy requests of this shop that carry the shopper's email."""
    found = []
    rows = InboundWebhook.objects.filter(store=store, topic__startswith="customers/")
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    for webhook_id, body in rows.values_list("pk", "body"):
        try:
            payload = json.loads(bytes(body) or b"{}")
        except ValueError:
            continue
        customer = payload.get("customer") if isinstance(payload, dict) else None
        if isinstance(customer, dict) and str(customer.get("email", "")).lower() == email:
            found.append(webhook_id)
    return found


def _erase_webhook_bodies(webhook_ids: list[int]) -> int:
    return InboundWebhook.objects.filter(pk__in=webhook_ids).update(body=b"", headers={})


def _redact_orders(orders: list[Order]) -> None:
    order_ids = [o.pk for o in orders]
    for order in orders:
        order.shopper_name = ""
        order.shopper_email = ""
        order.shipping_address = None
        order.is_redacted = True
        order.save(
            update_fields=[
                "shopper_name",
                "shopper_email",
                "shipping_address",
                "is_redacted",
                "updated_at",
            ]
        )
    OutboundPush.objects.filter(supplier_order__order_id__in=order_ids).exclude(
        status__in=[OutboundPush.Status.PENDING, OutboundPush.Status.SENDING]
    ).update(payload=None)


@transaction.atomic
def redact_customer(*, store: Store, webhook: InboundWebhook, payload: dict) -> int:
    """customers/redact: erase one shopper's personal data for one shop. Returns orders erased."""
    customer = payload.get("customer") or {}
    email = str(customer.get("email") or "").strip().lower()
    orders = find_customer_orders(
        store=store, email=email, store_order_ids=payload.get("orders_to_redact") or []
    )
    _redact_orders(orders)
    store_order_ids = {o.store_order_id for o in orders}
    store_order_ids |= {gid("Order", v) for v in payload.get("orders_to_redact") or []}
    erased = _webhooks_about_orders(store=store, store_order_ids=store_order_ids)
    if email:
        erased += _webhooks_about_customer(store=store, email=email, exclude=webhook.pk)
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
def redact_shop(*, store: Store, webhook: InboundWebhook) -> int:
    """shop/redact (48 hours after uninstall): erase everything personal we hold for the shop."""
    orders = list(
        Order.objects.filter(store=store).only(
            "pk", "shopper_email", "shopper_name", "shipping_address"
        )
    )
    _redact_orders(orders)
    InboundWebhook.objects.filter(store=store).update(body=b"", headers={})
    Store.objects.filter(pk=store.pk).update(
        credentials=None,
        webhook_secret="",
        status=Store.Status.DISCONNECTED,
        status_reason="The shop asked Shopify to erase its data; it was erased.",
    )
    record_audit(
        actor=None,
        action="privacy.shop_redacted",
        target=store,
        summary=f"Personal data of {store.domain} erased ({len(orders)} order(s))",
    )
    return len(orders)


def report_customer_data(*, store: Store, webhook: InboundWebhook, payload: dict) -> int:
    """customers/data_request: email platform admins what we hold, for them to send on."""
    customer = payload.get("customer") or {}
    email = str(customer.get("email") or "").strip().lower()
    orders = find_customer_orders(
        store=store, email=email, store_order_ids=payload.get("orders_requested") or []
    )
    request_id = (payload.get("data_request") or {}).get("id", "")
    lines = [
        f"Shopify data request {request_id} from {store.domain} ({store.retailer.business_name}).",
        f"Shopper: {customer.get('email') or '(no email)'}, phone {customer.get('phone') or '-'}.",
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
    subject = f"Shopify data request for a shopper of {store.domain}"
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
