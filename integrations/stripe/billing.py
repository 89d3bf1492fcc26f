"""Stripe Billing calls: plan Products and Prices, Checkout in subscription mode, Subscriptions,
the invoice preview and the customer portal. Plain dicts in, our own dataclasses out
(integrations/stripe/mappers.py: `SubscriptionData`, `SubscriptionInvoiceData`,
`InvoicePreviewData`); errors are client.py's.

Vendor truth this relies on:
- Prices are found again by `lookup_key`; `transfer_lookup_key` moves the key to a new price
  when an amount changes (https://docs.stripe.com/api/prices/create);
- Checkout in `subscription` mode with one recurring price and `subscription_data.trial_period_days`
  (https://docs.stripe.com/payments/checkout/build-subscriptions,
  https://docs.stripe.com/payments/checkout/free-trials);
- a plan change updates the subscription item's price with `proration_behavior=always_invoice`,
  so the difference is invoiced (and charged) at once (https://docs.stripe.com/billing/subscriptions/prorations);
- the next invoice and what a change would cost come from `POST /v1/invoices/create_preview`,
  which replaced the upcoming-invoice API in 2025-03-31.basil
  (https://docs.stripe.com/changelog/basil/2025-03-31/invoice-preview-api-deprecations);
- the customer portal session (https://docs.stripe.com/customer-management).
"""

from __future__ import annotations

from typing import Any

import stripe

from integrations.stripe.client import _call, _translate, get_client
from integrations.stripe.mappers import (
    InvoicePreviewData,
    SubscriptionData,
    to_invoice_preview,
    to_subscription,
)


def find_price_by_lookup_key(lookup_key: str) -> dict[str, Any] | None:
    try:
        page = get_client().v1.prices.list(params={"lookup_keys": [lookup_key], "limit": 1})
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return page.data[0].to_dict() if page.data else None


def ensure_product(*, product_id: str, name: str, metadata: dict[str, str]) -> dict[str, Any]:
    """The plan's Product under our own id (created once; its name kept up to date)."""
    client = get_client()
    try:
        client.v1.products.retrieve(product_id)
    except stripe.InvalidRequestError as exc:
        if getattr(exc, "http_status", None) != 404:
            raise _translate(exc) from exc
        return _call(
            client.v1.products.create,
            {"id": product_id, "name": name, "metadata": metadata},
            {"idempotency_key": f"{product_id}-create"},
        )
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return _call(
        lambda params, options: client.v1.products.update(
            product_id, params=params, options=options
        ),
        {"name": name, "metadata": metadata},
    )


def create_monthly_price(
    *,
    product_id: str,
    unit_amount: int,
    currency: str,
    lookup_key: str,
    metadata: dict[str, str],
    transfer_lookup_key: bool,
) -> dict[str, Any]:
    return _call(
        get_client().v1.prices.create,
        {
            "product": product_id,
            "unit_amount": unit_amount,
            "currency": currency.lower(),
            "recurring": {"interval": "month"},
            "lookup_key": lookup_key,
            "transfer_lookup_key": transfer_lookup_key,
            "metadata": metadata,
        },
        {"idempotency_key": f"{lookup_key}-{unit_amount}-{currency.lower()}"},
    )


def create_subscription_checkout(
    *,
    customer_id: str,
    price_id: str,
    trial_days: int,
    success_url: str,
    cancel_url: str,
    metadata: dict[str, str],
) -> dict[str, Any]:
    subscription_data: dict[str, Any] = {"metadata": metadata}
    if trial_days:
        subscription_data["trial_period_days"] = trial_days
    return _call(
        get_client().v1.checkout.sessions.create,
        {
            "mode": "subscription",
            "customer": customer_id,
            "line_items": [{"price": price_id, "quantity": 1}],
            "subscription_data": subscription_data,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": metadata,
        },
    )


def retrieve_subscription(subscription_id: str) -> SubscriptionData:
    try:
        result = get_client().v1.subscriptions.retrieve(subscription_id)
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return to_subscription(result.to_dict())


def change_subscription_price(
    *, subscription_id: str, item_id: str, price_id: str, idempotency_key: str
) -> SubscriptionData:
    """Move the subscription to another plan's price now, invoicing the proration at once."""
    try:
        result = get_client().v1.subscriptions.update(
            subscription_id,
            params={
                "items": [{"id": item_id, "price": price_id}],
                "proration_behavior": "always_invoice",
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return to_subscription(result.to_dict())


def set_cancel_at_period_end(*, subscription_id: str, cancel: bool) -> SubscriptionData:
    try:
        result = get_client().v1.subscriptions.update(
            subscription_id, params={"cancel_at_period_end": cancel}
        )
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return to_subscription(result.to_dict())


def preview_next_invoice(*, customer_id: str, subscription_id: str) -> InvoicePreviewData:
    return to_invoice_preview(
        _call(
            get_client().v1.invoices.create_preview,
            {"customer": customer_id, "subscription": subscription_id},
        )
    )


def preview_price_change(
    *, customer_id: str, subscription_id: str, item_id: str, price_id: str
) -> InvoicePreviewData:
    return to_invoice_preview(
        _call(
            get_client().v1.invoices.create_preview,
            {
                "customer": customer_id,
                "subscription": subscription_id,
                "subscription_details": {
                    "items": [{"id": item_id, "price": price_id}],
                    "proration_behavior": "always_invoice",
                },
            },
        )
    )


def create_portal_session(*, customer_id: str, return_url: str) -> str:
    session = _call(
        get_client().v1.billing_portal.sessions.create,
        {"customer": customer_id, "return_url": return_url},
    )
    return str(session["url"])
