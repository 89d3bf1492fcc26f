"""Stripe's JSON objects as our own types: billing reads these, never Stripe's dicts.

Amounts stay in Stripe's minor units with their currency (upper case, as billing stores it);
billing turns them into money. Timestamps are aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any


def _time(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value or 0), tz=UTC)


@dataclass(frozen=True)
class ConnectedAccountData:
    """A connected account as Stripe reports it (API answer or account.updated)."""

    id: str
    country: str
    details_submitted: bool
    payouts_enabled: bool
    transfers_active: bool
    requirements_due: tuple[str, ...]
    disabled_reason: str


def to_connected_account(account: dict[str, Any]) -> ConnectedAccountData:
    requirements = account.get("requirements") or {}
    capabilities = account.get("capabilities") or {}
    return ConnectedAccountData(
        id=str(account.get("id") or ""),
        country=str(account.get("country") or "").upper(),
        details_submitted=bool(account.get("details_submitted")),
        payouts_enabled=bool(account.get("payouts_enabled")),
        transfers_active=capabilities.get("transfers") == "active",
        requirements_due=tuple(requirements.get("currently_due") or ()),
        disabled_reason=str(requirements.get("disabled_reason") or ""),
    )


@dataclass(frozen=True)
class BankPayoutData:
    """Stripe paying a connected account's balance to its bank (payout.paid / payout.failed)."""

    id: str
    status: str  # "paid", "failed", "in_transit", "pending", "canceled"
    amount: int
    currency: str
    arrival_date: date | None
    failure_message: str


def to_bank_payout(payout: dict[str, Any]) -> BankPayoutData:
    arrival = payout.get("arrival_date")
    return BankPayoutData(
        id=str(payout["id"]),
        status=str(payout.get("status") or ""),
        amount=int(payout.get("amount") or 0),
        currency=str(payout.get("currency") or "usd").upper(),
        arrival_date=_time(arrival).date() if arrival else None,
        failure_message=str(payout.get("failure_message") or ""),
    )


@dataclass(frozen=True)
class RefundData:
    """A refund of a charge. Since API 2022-11-15 a Charge no longer embeds its refunds: they come
    as refund.created / refund.updated events, or from the refunds list of the charge."""

    id: str
    charge_id: str
    payment_intent_id: str
    status: str  # "pending", "requires_action", "succeeded", "failed", "canceled"
    amount: int
    currency: str
    created: datetime
    our_refund_id: str  # metadata["refund_id"] when we asked for it; "" for the dashboard's
    failure_reason: str

    @property
    def is_succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def is_failed(self) -> bool:
        return self.status in ("failed", "canceled")


def to_refund(refund: dict[str, Any]) -> RefundData:
    charge = refund.get("charge")
    intent = refund.get("payment_intent")
    return RefundData(
        id=str(refund["id"]),
        charge_id=str((charge.get("id") if isinstance(charge, dict) else charge) or ""),
        payment_intent_id=str((intent.get("id") if isinstance(intent, dict) else intent) or ""),
        status=str(refund.get("status") or ""),
        amount=int(refund.get("amount") or 0),
        currency=str(refund.get("currency") or "usd").upper(),
        created=_time(refund.get("created")),
        our_refund_id=str((refund.get("metadata") or {}).get("refund_id") or ""),
        failure_reason=str(refund.get("failure_reason") or ""),
    )


# --- Stripe Billing --------------------------------------------------------------------------------
def _optional_time(value: Any) -> datetime | None:
    return _time(value) if value else None


@dataclass(frozen=True)
class SubscriptionData:
    """A subscription as Stripe reports it. The billing period is its (single) item's: since API
    2025-03-31 it is no longer on the subscription itself."""

    id: str
    customer: str
    status: str
    price_id: str
    price_lookup_key: str
    item_id: str
    trial_end: datetime | None
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    metadata: dict[str, str]


def to_subscription(subscription: dict[str, Any]) -> SubscriptionData:
    items = ((subscription.get("items") or {}).get("data")) or [{}]
    item = items[0]
    price = item.get("price") or {}
    return SubscriptionData(
        id=str(subscription.get("id") or ""),
        customer=str(subscription.get("customer") or ""),
        status=str(subscription.get("status") or ""),
        price_id=str(price.get("id") or ""),
        price_lookup_key=str(price.get("lookup_key") or ""),
        item_id=str(item.get("id") or ""),
        trial_end=_optional_time(subscription.get("trial_end")),
        current_period_start=_optional_time(item.get("current_period_start")),
        current_period_end=_optional_time(item.get("current_period_end")),
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end")),
        canceled_at=_optional_time(subscription.get("canceled_at")),
        metadata={str(k): str(v) for k, v in (subscription.get("metadata") or {}).items()},
    )


@dataclass(frozen=True)
class SubscriptionInvoiceData:
    """A subscription's invoice (invoice.* events). Its subscription is named under
    `parent.subscription_details` since API 2025-03-31."""

    id: str
    customer: str
    subscription: str
    number: str
    status: str
    billing_reason: str
    description: str
    amount_due: int
    amount_paid: int
    currency: str
    period_start: datetime | None
    period_end: datetime | None
    attempt_count: int
    next_payment_attempt: datetime | None
    hosted_invoice_url: str
    created: datetime
    paid_at: datetime | None


def to_subscription_invoice(invoice: dict[str, Any]) -> SubscriptionInvoiceData:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    lines = ((invoice.get("lines") or {}).get("data")) or []
    transitions = invoice.get("status_transitions") or {}
    return SubscriptionInvoiceData(
        id=str(invoice.get("id") or ""),
        customer=str(invoice.get("customer") or ""),
        subscription=str(details.get("subscription") or ""),
        number=str(invoice.get("number") or ""),
        status=str(invoice.get("status") or ""),
        billing_reason=str(invoice.get("billing_reason") or ""),
        description="; ".join(str(line.get("description") or "") for line in lines)[:300],
        amount_due=int(invoice.get("amount_due") or 0),
        amount_paid=int(invoice.get("amount_paid") or 0),
        currency=str(invoice.get("currency") or "").upper(),
        period_start=_optional_time(invoice.get("period_start")),
        period_end=_optional_time(invoice.get("period_end")),
        attempt_count=int(invoice.get("attempt_count") or 0),
        next_payment_attempt=_optional_time(invoice.get("next_payment_attempt")),
        hosted_invoice_url=str(invoice.get("hosted_invoice_url") or ""),
        created=_time(invoice.get("created")),
        paid_at=_optional_time(transitions.get("paid_at")),
    )


@dataclass(frozen=True)
class InvoicePreviewData:
    """What Stripe would invoice: the next renewal, or a plan change's proration."""

    amount_due: int
    total: int
    currency: str
    next_payment_attempt: datetime | None
    lines: tuple[tuple[str, int], ...]  # (description, amount in minor units)


def to_invoice_preview(invoice: dict[str, Any]) -> InvoicePreviewData:
    lines = ((invoice.get("lines") or {}).get("data")) or []
    return InvoicePreviewData(
        amount_due=int(invoice.get("amount_due") or 0),
        total=int(invoice.get("total") or 0),
        currency=str(invoice.get("currency") or "").upper(),
        next_payment_attempt=_optional_time(invoice.get("next_payment_attempt")),
        lines=tuple(
            (str(line.get("description") or ""), int(line.get("amount") or 0)) for line in lines
        ),
    )
