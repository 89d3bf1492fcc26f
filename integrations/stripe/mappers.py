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
