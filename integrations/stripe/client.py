"""The Stripe calls Dropship makes, through stripe-python, with plain dicts in and out.

`settings.STRIPE_API_BASE` points the client at the sandbox in development and tests (empty:
api.stripe.com). Every call has the outbound timeout; stripe-python's own network retries are
off, because the caller's task retries (with the same idempotency key, so nothing happens twice)
by the one retry policy (dropship.core.retry), no sooner than a 429's Retry-After.
Errors become ours:
    CardDeclined (a PermanentError)  the card was refused; the message is the bank's, for users
    StripeTemporaryError             timeout, connection error, 429, 5xx, 409 key in flight: retry
    IdempotencyConflict              the key was used before with other parameters
    StripeRequestError               anything else Stripe refused (400/401/403/404); its `code`
                                     says which (e.g. `balance_insufficient`: retry later)
Accounts and refunds come back as our own types (integrations/stripe/mappers.py).
The API version is pinned in settings.STRIPE_API_VERSION and sent on every call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from stripe.params import BalanceTransactionListParams

from dropship.core.errors import PermanentError, TemporaryError
from dropship.core.retry import parse_retry_after
from integrations.stripe.mappers import (
    ConnectedAccountData,
    RefundData,
    to_connected_account,
    to_refund,
)
from integrations.stripe.regions import service_agreement_for


class StripeTemporaryError(TemporaryError):
    """Stripe could not answer now (timeout, 429, 5xx): retry later with the same idempotency key."""


class StripeRequestError(PermanentError):
    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class IdempotencyConflict(StripeRequestError):
    """The idempotency key was first used with different parameters."""


@dataclass
class CardDeclined(PermanentError):
    message: str
    code: str
    decline_code: str
    payment_intent_id: str | None
    charge_id: str | None

    def __str__(self) -> str:
        return self.message

    @property
    def needs_authentication(self) -> bool:
        """The bank asks the cardholder to authenticate (3-D Secure): an off-session payment
        cannot go through until the retailer confirms it on-session
        (https://docs.stripe.com/declines/codes, `authentication_required`)."""
        return "authentication_required" in (self.code, self.decline_code)


_clients: dict[tuple[str, str, float], stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def get_client() -> stripe.StripeClient:
    """One StripeClient per (key, base, timeout); tests change the settings between runs."""
    api_key = settings.STRIPE_SECRET_KEY
    base = (settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE).rstrip("/")
    timeout = float(settings.STRIPE_TIMEOUT_SECONDS)
    if not api_key:
        raise StripeRequestError("STRIPE_SECRET_KEY is not set: card payments are unavailable.")
    key = (api_key, base, timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = stripe.StripeClient(
                api_key,
                stripe_version=settings.STRIPE_API_VERSION,
                base_addresses={"api": base, "connect": base, "files": base},
                http_client=stripe.RequestsClient(timeout=timeout),
                max_network_retries=0,
            )
            _clients[key] = client
    return client


def _translate(exc: stripe.StripeError) -> Exception:
    status = getattr(exc, "http_status", None)
    error = getattr(exc, "error", None)
    message = getattr(error, "message", None) or exc.user_message or str(exc) or "Stripe error"
    code = getattr(error, "code", None) or getattr(exc, "code", None)
    if isinstance(exc, stripe.CardError):
        intent = getattr(error, "payment_intent", None)
        return CardDeclined(
            message=message,
            code=code or "card_declined",
            decline_code=getattr(error, "decline_code", None) or "",
            payment_intent_id=getattr(intent, "id", None) if intent else None,
            charge_id=getattr(error, "charge", None),
        )
    if isinstance(exc, stripe.RateLimitError):
        return StripeTemporaryError(
            f"Stripe asked us to slow down (429): {message}",
            retry_after=parse_retry_after(exc.headers or {}, default=0.0),
        )
    if isinstance(exc, stripe.APIConnectionError):
        return StripeTemporaryError(f"Stripe did not answer in time: {message}")
    if status is not None and (status >= 500 or status == 409):
        return StripeTemporaryError(f"Stripe answered {status}: {message}")
    if isinstance(exc, stripe.IdempotencyError):
        return IdempotencyConflict(message, code="idempotency_error", status=status)
    return StripeRequestError(message, code=code, status=status)


def _call(
    method: Callable[..., stripe.StripeObject],
    params: dict[str, Any],
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    try:
        result = method(params=params, options=options or {})
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return result.to_dict()


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in params.items() if value not in (None, "")}


# --- customers and cards -------------------------------------------------------------------------
def create_customer(
    *, email: str, name: str, metadata: dict[str, Any], idempotency_key: str
) -> dict[str, Any]:
    return _call(
        get_client().v1.customers.create,
        _clean({"email": email, "name": name, "metadata": metadata}),
        {"idempotency_key": idempotency_key},
    )


def set_default_payment_method(*, customer_id: str, payment_method_id: str) -> dict[str, Any]:
    client = get_client()
    try:
        result = client.v1.customers.update(
            customer_id, params={"invoice_settings": {"default_payment_method": payment_method_id}}
        )
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return result.to_dict()


def create_setup_session(
    *, customer_id: str, success_url: str, cancel_url: str, metadata: dict[str, Any]
) -> dict[str, Any]:
    return _call(
        get_client().v1.checkout.sessions.create,
        {
            "mode": "setup",
            "customer": customer_id,
            "payment_method_types": ["card"],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": metadata,
        },
    )


def retrieve_checkout_session(session_id: str) -> dict[str, Any]:
    try:
        result = get_client().v1.checkout.sessions.retrieve(
            session_id, params={"expand": ["setup_intent.payment_method"]}
        )
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return result.to_dict()


# --- payments ------------------------------------------------------------------------------------
def create_off_session_payment(
    *,
    amount: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    description: str,
    metadata: dict[str, Any],
    transfer_group: str,
    idempotency_key: str,
) -> dict[str, Any]:
    """Charge a saved card without the customer present; the answer carries the charge and its
    balance transaction (for Stripe's fee). Raises CardDeclined when the bank says no."""
    return _call(
        get_client().v1.payment_intents.create,
        {
            "amount": amount,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "off_session": True,
            "confirm": True,
            "description": description,
            "metadata": metadata,
            "transfer_group": transfer_group,
            "expand": ["latest_charge.balance_transaction"],
        },
        {"idempotency_key": idempotency_key},
    )


def retrieve_charge(charge_id: str) -> dict[str, Any]:
    try:
        result = get_client().v1.charges.retrieve(
            charge_id, params={"expand": ["balance_transaction"]}
        )
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return result.to_dict()


def our_charge_id_of(charge_id: str) -> str:
    """Our Charge's id, from the metadata we gave Stripe's charge ("" when it has none)."""
    return str((retrieve_charge(charge_id).get("metadata") or {}).get("charge_id") or "")


def create_refund(
    *, charge_id: str, amount: int, metadata: dict[str, Any], idempotency_key: str
) -> RefundData:
    """A refund of a charge; it may answer `pending` (settled later: refund.updated)."""
    return to_refund(
        _call(
            get_client().v1.refunds.create,
            {
                "charge": charge_id,
                "amount": amount,
                "reason": "requested_by_customer",
                "metadata": metadata,
            },
            {"idempotency_key": idempotency_key},
        )
    )


def retrieve_refund(refund_id: str) -> RefundData:
    try:
        result = get_client().v1.refunds.retrieve(refund_id)
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return to_refund(result.to_dict())


def list_charge_refunds(charge_id: str) -> list[RefundData]:
    """Every refund of a charge, all pages: a Charge no longer embeds them (API 2022-11-15,
    https://docs.stripe.com/changelog/2022-11-15/deprecates-charges-auto-expand)."""
    client = get_client()
    params: dict[str, Any] = {"charge": charge_id, "limit": 100}
    found: list[RefundData] = []
    while True:
        try:
            page = client.v1.refunds.list(params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        found += [to_refund(item.to_dict()) for item in page.data]
        if not page.has_more or not page.data:
            return found
        params = {**params, "starting_after": page.data[-1].id}


def confirm_payment_on_session(
    *, payment_intent_id: str, payment_method_id: str, return_url: str
) -> dict[str, Any]:
    """Confirm a PaymentIntent with the customer present (after an off-session attempt asked for
    authentication). The answer is `succeeded`, or `requires_action` with the bank's page in
    `next_action.redirect_to_url.url`, which returns the customer to `return_url`
    (https://docs.stripe.com/payments/3d-secure/authentication-flow)."""
    try:
        result = get_client().v1.payment_intents.confirm(
            payment_intent_id,
            params={
                "payment_method": payment_method_id,
                "return_url": return_url,
                "expand": ["latest_charge.balance_transaction"],
            },
        )
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return result.to_dict()


def cancel_payment_intent(*, payment_intent_id: str, idempotency_key: str) -> str:
    """Cancel a PaymentIntent so it can never be confirmed (and charge) later; returns its status
    afterwards: `canceled`, or `succeeded` when it was paid before the cancel reached Stripe.
    Stripe cancels one in requires_payment_method / requires_confirmation / requires_action and
    refuses a canceled or succeeded one (https://docs.stripe.com/api/payment_intents/cancel);
    a repeat is answered as the first, so this is safe to call twice."""
    try:
        result = get_client().v1.payment_intents.cancel(
            payment_intent_id,
            params={"cancellation_reason": "abandoned"},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        error = _translate(exc)
        if not (
            isinstance(error, StripeRequestError)
            and error.code == "payment_intent_unexpected_state"
        ):
            raise error from exc
        return str(retrieve_payment_intent(payment_intent_id).get("status") or "")
    return str(result.to_dict().get("status") or "")


def retrieve_payment_intent(payment_intent_id: str) -> dict[str, Any]:
    try:
        result = get_client().v1.payment_intents.retrieve(
            payment_intent_id, params={"expand": ["latest_charge.balance_transaction"]}
        )
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return result.to_dict()


# --- Connect -------------------------------------------------------------------------------------
def create_connected_account(
    *, email: str, country: str, business_name: str, metadata: dict[str, Any], idempotency_key: str
) -> ConnectedAccountData:
    """An Express account that receives transfers. Outside the platform's region it is made
    under the `recipient` service agreement, as cross-border payouts require."""
    agreement = service_agreement_for(
        platform_country=settings.STRIPE_PLATFORM_COUNTRY, account_country=country
    )
    params: dict[str, Any] = {
        "type": "express",
        "country": country.upper(),
        "email": email,
        "business_profile": {"name": business_name},
        "capabilities": {"transfers": {"requested": True}},
        "metadata": metadata,
    }
    if agreement == "recipient":
        params["tos_acceptance"] = {"service_agreement": "recipient"}
    return to_connected_account(
        _call(get_client().v1.accounts.create, _clean(params), {"idempotency_key": idempotency_key})
    )


def retrieve_account(account_id: str) -> ConnectedAccountData:
    try:
        result = get_client().v1.accounts.retrieve(account_id)
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return to_connected_account(result.to_dict())


def create_onboarding_link(*, account_id: str, refresh_url: str, return_url: str) -> dict[str, Any]:
    return _call(
        get_client().v1.account_links.create,
        {
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        },
    )


def create_transfer(
    *,
    amount: int,
    currency: str,
    destination: str,
    transfer_group: str,
    source_transaction: str | None,
    description: str,
    metadata: dict[str, Any],
    idempotency_key: str,
) -> dict[str, Any]:
    return _call(
        get_client().v1.transfers.create,
        _clean(
            {
                "amount": amount,
                "currency": currency.lower(),
                "destination": destination,
                "transfer_group": transfer_group,
                "source_transaction": source_transaction,
                "description": description,
                "metadata": metadata,
            }
        ),
        {"idempotency_key": idempotency_key},
    )


def find_transfers(*, transfer_group: str) -> list[dict[str, Any]]:
    try:
        page = get_client().v1.transfers.list(
            params={"transfer_group": transfer_group, "limit": 100}
        )
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return [item.to_dict() for item in page.data]


def create_transfer_reversal(
    *, transfer_id: str, amount: int, metadata: dict[str, Any], idempotency_key: str
) -> dict[str, Any]:
    try:
        result = get_client().v1.transfers.reversals.create(
            transfer_id,
            params={"amount": amount, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return result.to_dict()


# --- reporting -----------------------------------------------------------------------------------
def iter_balance_transactions(*, created_gte: int, created_lt: int) -> Iterator[dict[str, Any]]:
    """Every balance transaction of the platform in [created_gte, created_lt), all pages."""
    client = get_client()
    params: BalanceTransactionListParams = {
        "created": {"gte": created_gte, "lt": created_lt},
        "limit": 100,
    }
    while True:
        try:
            page = client.v1.balance_transactions.list(params=params)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        for item in page.data:
            yield item.to_dict()
        if not page.has_more or not page.data:
            return
        params = {**params, "starting_after": page.data[-1].id}
