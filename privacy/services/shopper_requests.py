"""A shopper's data request that support executes for a WooCommerce or custom store (Shopify
sends its own, handled by orders.privacy): find the shopper's orders in one store by e-mail,
hand over what we hold as JSON, or erase it with the same redaction Shopify's customers/redact
uses. Every execution is a ShopperDataRequest row and an audit entry; neither keeps the e-mail.
"""

from __future__ import annotations

import json

from django.db import transaction

from dropship.accounts.models import User
from dropship.core.audit import record_audit
from dropship.core.errors import DomainError
from integrations.models import InboundWebhook
from orders.models import Order
from orders.privacy import find_customer_orders, redact_orders
from orders.services.fraud import shopper_fingerprint
from privacy.models import ShopperDataRequest
from retailers.models import Store


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise DomainError("Enter the shopper's e-mail address.", field="email")
    return email


def find_shopper_orders(*, store: Store, email: str) -> list[Order]:
    return find_customer_orders(store=store, email=_clean_email(email), store_order_ids=())


def _record(
    *, store: Store, agent: User, action: str, email: str, orders: list[Order]
) -> ShopperDataRequest:
    numbers = sorted(o.number for o in orders)
    verb = "exported" if action == ShopperDataRequest.Action.EXPORT else "erased"
    record_audit(
        actor=agent,
        action=f"privacy.shopper_data_{verb}",
        target=store,
        summary=f"Support {verb} a shopper's data: {len(orders)} order(s) of {store.domain}",
        data={"orders": numbers},
    )
    return ShopperDataRequest.objects.create(
        store=store,
        action=action,
        shopper_fingerprint=shopper_fingerprint(email),
        orders=len(orders),
        order_numbers=numbers,
        handled_by=agent,
    )


@transaction.atomic
def export_shopper_data(*, store: Store, email: str, agent: User) -> bytes:
    """What we hold about the shopper in this store, as a JSON document to send them."""
    email = _clean_email(email)
    orders = find_customer_orders(store=store, email=email, store_order_ids=())
    document = {
        "store": store.domain,
        "shopper_email": email,
        "orders": [
            {
                "number": order.number,
                "placed_at": order.placed_at.isoformat() if order.placed_at else None,
                "shopper_name": order.shopper_name,
                "shopper_email": order.shopper_email,
                "shipping_address": order.shipping_address,
                "items": [
                    {"title": item.title, "sku": item.sku, "quantity": item.quantity}
                    for item in order.items.all()
                ],
                "shipments": [
                    {
                        "carrier": shipment.carrier,
                        "tracking_number": shipment.tracking_number,
                        "shipped_at": shipment.shipped_at.isoformat(),
                    }
                    for supplier_order in order.supplier_orders.all()
                    for shipment in supplier_order.shipments.all()
                ],
            }
            for order in orders
        ],
    }
    _record(
        store=store,
        agent=agent,
        action=ShopperDataRequest.Action.EXPORT,
        email=email,
        orders=orders,
    )
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


@transaction.atomic
def redact_shopper_data(*, store: Store, email: str, agent: User) -> ShopperDataRequest:
    """Erase the shopper's name, e-mail and address from the store's orders, and the stored
    webhook bodies of the store that carry the e-mail."""
    email = _clean_email(email)
    orders = find_customer_orders(store=store, email=email, store_order_ids=())
    redact_orders(orders)
    needle = email.encode()
    carrying = [
        pk
        for pk, body in InboundWebhook.objects.filter(store=store).values_list("pk", "body")
        if needle in bytes(body).lower()
    ]
    InboundWebhook.objects.filter(pk__in=carrying).update(body=b"", headers={})
    return _record(
        store=store,
        agent=agent,
        action=ShopperDataRequest.Action.REDACT,
        email=email,
        orders=orders,
    )
