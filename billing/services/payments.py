"""Charges for supplier orders: the money side of paying them, which the order pipeline calls.

The order pipeline (orders.services.payment) owns the supplier order: it holds its row lock,
moves its status and writes its timeline. Billing writes the Charge, talks to Stripe, books the
ledger and the invoice, and answers with a `PaymentResult` (paid, or failed with Stripe's reason)
that the pipeline applies; nothing here writes `SupplierOrder.status`.

A retailer on payment terms (granted by a platform admin) is trusted to pay a monthly invoice:
its charge is born paid and the amount is owed on the retailer's receivable account. Every other
retailer pays by card: an off-session Stripe PaymentIntent for the supplier order's total
(wholesale + shipping + platform fee), in minor units, in the order's currency.

Never a double charge:
- a Charge row is written (PENDING, committed) before Stripe is called, with an idempotency key
  made of the supplier order and the attempt number, and the card it will use; a retry of the
  same attempt (a task run again, a crash, a timeout) sends exactly the same request, which Stripe
  answers with the first answer;
- the Stripe call happens with the supplier order row locked (by the caller), so concurrent
  callers wait and then find the charge settled;
- the database allows one pending-or-paid charge per supplier order.

A declined card fails the attempt; the same card is not charged again until the retailer changes
it or asks for a retry from the billing page (`request_payment_retry`). Stripe down, rate
limiting or a timeout raise `StripeTemporaryError` (a TemporaryError) with the charge left
PENDING, for the caller's task to retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from billing.fees import supplier_order_amounts
from billing.models import Charge, LedgerEntry
from billing.services.invoices import issue_charge_invoice
from billing.services.ledger import Leg, Movement, record_movements, record_stripe_fee
from dropship.core.errors import DomainError
from dropship.core.money import format_money, from_minor_units, quantize, to_minor_units
from integrations.stripe import client as stripe_client
from integrations.stripe.client import CardDeclined, StripeRequestError, StripeTemporaryError
from orders.models import SupplierOrder
from retailers.models import Retailer

logger = logging.getLogger(__name__)
Account = LedgerEntry.Account

__all__ = [
    "PaymentError",
    "PaymentResult",
    "StripeTemporaryError",
    "cancel_stale_payment_intents",
    "charge_on_terms",
    "confirm_card_charge",
    "find_card_charge_for_intent",
    "find_paid_charge",
    "finish_on_session_payment",
    "open_card_charge",
    "pay_new_supplier_orders_on_terms",
    "record_charge_in_ledger",
    "record_payment_intent_failed",
    "record_payment_intent_succeeded",
    "start_on_session_payment",
    "void_card_charge",
]


class PaymentError(DomainError):
    pass


@dataclass(frozen=True)
class PaymentResult:
    """What a charge function did, for the order pipeline to apply to the supplier order.

    `is_paid`: the charge holds the money; `paid_now`: this call took it (False: it was paid
    before). `failure`: this call's attempt failed, and why, in Stripe's words the retailer can
    read ("" when nothing failed now: paid, or settled before by someone else)."""

    charge: Charge | None
    is_paid: bool
    paid_now: bool = False
    failure: str = ""
    needs_authentication: bool = False  # the bank wants the retailer present (3-D Secure)
    action_url: str = ""  # where the retailer authenticates (the bank's page), when it must


def record_charge_in_ledger(*, charge: Charge, debit_account: str) -> None:
    """Money owed/received for a supplier order, as three movements: the supplier's gross
    (wholesale + shipping) owed to it, the platform fee earned, and the commission the platform
    keeps from the supplier's share."""
    record_movements(movements=_charge_movements(charge=charge, debit_account=debit_account))


def _charge_movements(*, charge: Charge, debit_account: str) -> list[Movement]:
    supplier_order = charge.supplier_order
    amounts = supplier_order_amounts(
        wholesale=supplier_order.wholesale_total,
        shipping=supplier_order.shipping_total,
        platform_fee=supplier_order.platform_fee,
        commission_percent=supplier_order.commission_percent,
    )
    retailer, supplier, currency = charge.retailer, supplier_order.supplier, charge.currency
    gross = amounts.wholesale + amounts.shipping
    movements = [
        Movement(
            kind=LedgerEntry.Kind.CHARGE,
            currency=currency,
            supplier_order=supplier_order,
            memo=f"Charge for {supplier_order.number}",
            legs=[
                Leg(debit_account, gross, retailer=retailer),
                Leg(Account.SUPPLIER_PAYABLE, -gross, supplier=supplier),
            ],
        )
    ]
    if amounts.platform_fee:
        movements.append(
            Movement(
                kind=LedgerEntry.Kind.FEE,
                currency=currency,
                supplier_order=supplier_order,
                memo=f"Platform fee on {supplier_order.number}",
                legs=[
                    Leg(debit_account, amounts.platform_fee, retailer=retailer),
                    Leg(Account.PLATFORM_REVENUE, -amounts.platform_fee),
                ],
            )
        )
    if amounts.commission:
        movements.append(
            Movement(
                kind=LedgerEntry.Kind.COMMISSION,
                currency=currency,
                supplier_order=supplier_order,
                memo=f"Commission {supplier_order.commission_percent}% on {supplier_order.number}",
                legs=[
                    Leg(Account.SUPPLIER_PAYABLE, amounts.commission, supplier=supplier),
                    Leg(Account.PLATFORM_REVENUE, -amounts.commission),
                ],
            )
        )
    return movements


def find_paid_charge(*, supplier_order: SupplierOrder) -> Charge | None:
    """The supplier order's charge that holds the money, if any (the database allows one)."""
    return supplier_order.charges.filter(status__in=Charge.PAID_STATUSES).first()


def charge_on_terms(*, supplier_order: SupplierOrder, retailer: Retailer) -> PaymentResult:
    """Pay on payment terms: the retailer owes the total on its receivable account.

    The caller holds the supplier order's row lock and found no paid charge; a terms charge is
    born SUCCEEDED (a paid status), so none exists yet. The unique key still guards the row."""
    charge = _terms_charge(supplier_order=supplier_order, retailer=retailer, now=timezone.now())
    charge.save(force_insert=True)
    _cancel_after_payment(supplier_order=supplier_order, paid=charge)
    record_charge_in_ledger(charge=charge, debit_account=Account.RETAILER_RECEIVABLE)
    return PaymentResult(charge=charge, is_paid=True, paid_now=True)


def pay_new_supplier_orders_on_terms(
    *, supplier_orders: list[SupplierOrder], retailer: Retailer
) -> list[Charge]:
    """Pay, on payment terms, supplier orders the caller created in its still-open transaction.

    The order pipeline's hot path: one TERMS charge each (one INSERT) and every ledger movement
    of them (one INSERT). No row lock and no look for an earlier charge: nobody can see these
    supplier orders before the caller commits, and each charge's idempotency key is unique, so
    a second payment could not be written anyway. The caller creates them already paid
    (`paid_at` set, status PAID or beyond), which is what they are once this returns."""
    if not retailer.has_payment_terms:
        raise PaymentError(f"{retailer.business_name} is not on payment terms.")
    now = timezone.now()
    charges = [
        _terms_charge(supplier_order=supplier_order, retailer=retailer, now=now)
        for supplier_order in supplier_orders
    ]
    Charge.objects.bulk_create(charges)
    record_movements(
        movements=[
            movement
            for charge in charges
            for movement in _charge_movements(
                charge=charge, debit_account=Account.RETAILER_RECEIVABLE
            )
        ]
    )
    return charges


def _terms_charge(*, supplier_order: SupplierOrder, retailer: Retailer, now: datetime) -> Charge:
    """A payment-terms charge, born SUCCEEDED (nothing can refuse it); unique per supplier order."""
    return Charge(
        idempotency_key=f"supplier-order-{supplier_order.pk}-terms",
        supplier_order=supplier_order,
        retailer=retailer,
        method=Charge.Method.TERMS,
        status=Charge.Status.SUCCEEDED,
        amount=supplier_order.total,
        currency=supplier_order.currency,
        settled_at=now,
    )


def open_card_charge(
    *, supplier_order: SupplierOrder, retailer: Retailer, retry_same_card: bool = False
) -> Charge:
    """The pending card attempt, or a new one (committed by the caller before Stripe is called);
    the last failed attempt when its card is still the retailer's card (a declined card is not
    charged again unless the retailer asks). The caller holds the supplier order's row lock."""
    card_charges = supplier_order.charges.filter(method=Charge.Method.CARD)
    pending = card_charges.filter(status=Charge.Status.PENDING).first()
    if pending is not None:
        return pending
    last = card_charges.order_by("-attempt").first()
    if (
        last is not None
        and last.status == Charge.Status.FAILED
        and last.stripe_payment_method_id == retailer.stripe_payment_method_id
        and not retry_same_card
    ):
        return last
    if last is not None and last.needs_authentication:
        # The new attempt replaces it: the old PaymentIntent must never be confirmed later.
        cancel_stale_payment_intents(supplier_order=supplier_order, reason=REPLACED)
    attempt = (last.attempt if last else 0) + 1
    return Charge.objects.create(
        supplier_order=supplier_order,
        retailer=retailer,
        method=Charge.Method.CARD,
        status=Charge.Status.PENDING,
        amount=supplier_order.total,
        currency=supplier_order.currency,
        attempt=attempt,
        idempotency_key=f"supplier-order-{supplier_order.pk}-attempt-{attempt}",
        stripe_payment_method_id=retailer.stripe_payment_method_id,
        card_label=_card_label(retailer),
    )


def _card_label(retailer: Retailer) -> str:
    if not retailer.card_last4:
        return ""
    return f"{(retailer.card_brand or 'card').title()} •••• {retailer.card_last4}"


def _lock_charge(*, charge_id: int, supplier_order: SupplierOrder) -> Charge:
    """The charge, row-locked; callers lock its supplier order first (always in that order)."""
    charge = Charge.objects.select_for_update().select_related("retailer").get(pk=charge_id)
    charge.supplier_order = supplier_order
    return charge


def _as_settled(charge: Charge) -> PaymentResult:
    return PaymentResult(charge=charge, is_paid=charge.is_paid)


def void_card_charge(*, supplier_order: SupplierOrder, charge_id: int, reason: str) -> Charge:
    """Fail a pending attempt without calling Stripe (its supplier order was cancelled, or paid
    otherwise, while it waited); a settled one is left as it is. The caller holds the supplier
    order's row lock."""
    charge = _lock_charge(charge_id=charge_id, supplier_order=supplier_order)
    if charge.status == Charge.Status.PENDING:
        _fail_charge(charge=charge, message=reason)
    return charge


def confirm_card_charge(*, supplier_order: SupplierOrder, charge_id: int) -> PaymentResult:
    """Take a pending card attempt's payment from Stripe and book it; an attempt settled
    meanwhile (a concurrent caller) is answered as it is.

    The caller holds the supplier order's row lock, has checked the order may still be paid, and
    committed the pending charge before this call. Raises StripeTemporaryError when Stripe
    cannot answer now (the charge stays PENDING; a retry sends the same idempotency key)."""
    charge = _lock_charge(charge_id=charge_id, supplier_order=supplier_order)
    if charge.status != Charge.Status.PENDING:
        return _as_settled(charge)
    order = supplier_order.order
    try:
        intent = stripe_client.create_off_session_payment(
            amount=to_minor_units(charge.amount, charge.currency),
            currency=charge.currency,
            customer_id=charge.retailer.stripe_customer_id,
            payment_method_id=charge.stripe_payment_method_id,
            description=f"Dropship {supplier_order.number} (order {order.number})",
            metadata={
                "charge_id": str(charge.pk),
                "supplier_order_id": str(supplier_order.pk),
                "supplier_order": supplier_order.number,
                "retailer_id": str(charge.retailer_id),
            },
            transfer_group=supplier_order.number,
            idempotency_key=charge.idempotency_key,
        )
    except CardDeclined as exc:
        return _decline(
            charge=charge,
            message=exc.message,
            payment_intent_id=exc.payment_intent_id,
            stripe_charge_id=exc.charge_id,
            failure_code="authentication_required" if exc.needs_authentication else exc.code,
        )
    except StripeRequestError as exc:
        return _decline(charge=charge, message=f"Stripe refused the payment: {exc.message}")
    if intent.get("status") != "succeeded":
        return _decline(
            charge=charge,
            message="Your bank asks you to confirm this payment; please add the card again.",
            payment_intent_id=intent.get("id"),
        )
    _book_card_success(charge=charge, intent=intent)
    return PaymentResult(charge=charge, is_paid=True, paid_now=True)


def _book_card_success(*, charge: Charge, intent: dict[str, Any]) -> None:
    """Book a succeeded PaymentIntent on its (locked, PENDING) charge: the charge, the ledger,
    Stripe's fee and the invoice. `intent["latest_charge"]` is the expanded Charge with its
    balance transaction (Stripe's fee)."""
    supplier_order = charge.supplier_order
    latest = intent.get("latest_charge") or {}
    if isinstance(latest, str):
        latest = stripe_client.retrieve_charge(latest)
    balance = latest.get("balance_transaction") or {}
    if isinstance(balance, str):
        balance = {}
    settlement = str(balance.get("currency") or charge.currency).upper()
    settled_fee = from_minor_units(int(balance.get("fee") or 0), settlement)
    fee = settled_fee
    if settlement != charge.currency.upper() and balance.get("exchange_rate"):
        # The platform's balance is in another currency: Stripe's amount and fee are in it, at
        # `exchange_rate` (charge currency -> settlement currency). The ledger stays in the
        # charge's currency, so the fee is booked converted back at Stripe's own rate.
        rate = Decimal(str(balance["exchange_rate"]))
        charge.settlement_currency = settlement
        charge.settlement_amount = from_minor_units(int(balance.get("amount") or 0), settlement)
        charge.settlement_fee = settled_fee
        charge.exchange_rate = rate
        fee = quantize(settled_fee / rate)
    charge.status = Charge.Status.SUCCEEDED
    charge.stripe_payment_intent_id = intent["id"]
    charge.stripe_charge_id = latest.get("id") or ""
    charge.stripe_fee = fee
    charge.failure_message = ""
    charge.settled_at = timezone.now()
    card = (latest.get("payment_method_details") or {}).get("card") or {}
    if card.get("last4"):
        charge.card_label = f"{str(card.get('brand') or 'card').title()} •••• {card['last4']}"
    charge.save(
        update_fields=[
            "status",
            "stripe_payment_intent_id",
            "stripe_charge_id",
            "stripe_fee",
            "failure_message",
            "settled_at",
            "card_label",
            "settlement_currency",
            "settlement_amount",
            "settlement_fee",
            "exchange_rate",
            "updated_at",
        ]
    )
    record_charge_in_ledger(charge=charge, debit_account=Account.STRIPE_CLEARING)
    _cancel_after_payment(supplier_order=supplier_order, paid=charge)
    record_stripe_fee(
        supplier_order=supplier_order,
        fee=fee,
        currency=charge.currency,
        memo=f"Stripe fee on {charge.stripe_charge_id or supplier_order.number}"
        + (
            f" ({format_money(charge.settlement_fee, charge.settlement_currency)} at "
            f"{charge.exchange_rate})"
            if charge.settlement_currency
            else ""
        ),
    )
    issue_charge_invoice(charge=charge)


def _decline(
    *,
    charge: Charge,
    message: str,
    payment_intent_id: str | None = None,
    stripe_charge_id: str | None = None,
    failure_code: str = "",
) -> PaymentResult:
    """The attempt failed (locked, PENDING charge): nothing is booked."""
    _fail_charge(
        charge=charge,
        message=message,
        payment_intent_id=payment_intent_id,
        stripe_charge_id=stripe_charge_id,
        failure_code=failure_code,
    )
    return PaymentResult(
        charge=charge,
        is_paid=False,
        failure=message,
        needs_authentication=charge.needs_authentication,
    )


def _fail_charge(
    *,
    charge: Charge,
    message: str,
    payment_intent_id: str | None = None,
    stripe_charge_id: str | None = None,
    failure_code: str = "",
) -> None:
    charge.status = Charge.Status.FAILED
    charge.failure_message = message[:500]
    charge.failure_code = failure_code[:40]
    charge.settled_at = timezone.now()
    fields = ["status", "failure_message", "failure_code", "settled_at", "updated_at"]
    if (
        payment_intent_id
        and not Charge.objects.filter(stripe_payment_intent_id=payment_intent_id)
        .exclude(pk=charge.pk)
        .exists()
    ):
        charge.stripe_payment_intent_id = payment_intent_id
        fields.append("stripe_payment_intent_id")
    if stripe_charge_id:
        charge.stripe_charge_id = stripe_charge_id
        fields.append("stripe_charge_id")
    charge.save(update_fields=fields)


# --- PaymentIntents left awaiting authentication ------------------------------------------------
REPLACED = "Cancelled: a new payment attempt replaced it."
PAID_OTHERWISE = "Cancelled: the supplier order was paid by another payment."


def cancel_stale_payment_intents(
    *, supplier_order: SupplierOrder, reason: str, keep_charge_id: int | None = None
) -> int:
    """Cancel at Stripe every PaymentIntent of the supplier order that waits for the retailer's
    authentication (a card attempt that failed with authentication_required), so none can be
    confirmed on the bank's page and charge later (https://docs.stripe.com/api/payment_intents/
    cancel). The caller holds the supplier order's row lock. Idempotent: one key per
    PaymentIntent, and a cancelled one is marked and skipped. Returns how many were cancelled.

    Raises StripeTemporaryError when Stripe cannot answer, and also when a PaymentIntent was
    paid before the cancel reached Stripe: payment_intent.succeeded books it, and the caller's
    task comes back to find the supplier order paid."""
    stale = list(
        supplier_order.charges.select_for_update()
        .filter(
            method=Charge.Method.CARD,
            status=Charge.Status.FAILED,
            failure_code="authentication_required",
            intent_canceled_at__isnull=True,
        )
        .exclude(stripe_payment_intent_id=None)
        .exclude(pk=keep_charge_id or 0)
    )
    for charge in stale:
        status = stripe_client.cancel_payment_intent(
            payment_intent_id=charge.stripe_payment_intent_id or "",
            idempotency_key=f"{charge.idempotency_key}-cancel",
        )
        if status == "succeeded":
            raise StripeTemporaryError(
                f"Payment {charge.stripe_payment_intent_id} was confirmed meanwhile; it is "
                "booked from Stripe's event before anything else is charged."
            )
        charge.intent_canceled_at = timezone.now()
        charge.failure_message = reason
        charge.save(update_fields=["intent_canceled_at", "failure_message", "updated_at"])
    return len(stale)


def _cancel_after_payment(*, supplier_order: SupplierOrder, paid: Charge) -> None:
    """Another payment of the supplier order succeeded: an attempt still awaiting the retailer's
    authentication is cancelled at Stripe. Stripe down now leaves it for the confirm page to
    refuse (the supplier order is paid) and is logged for support."""
    try:
        cancel_stale_payment_intents(
            supplier_order=supplier_order, reason=PAID_OTHERWISE, keep_charge_id=paid.pk
        )
    except (StripeTemporaryError, StripeRequestError) as exc:
        logger.warning(
            "Could not cancel a stale PaymentIntent of %s: %s", supplier_order.number, exc
        )


# --- Stripe's word on PaymentIntents (webhooks), for attempts our own call did not settle -------
def find_card_charge_for_intent(*, intent: dict[str, Any]) -> Charge | None:
    """Our card charge a PaymentIntent event is about (by our id in its metadata, else by its id)."""
    charge_id = (intent.get("metadata") or {}).get("charge_id")
    query = Charge.objects.filter(method=Charge.Method.CARD)
    if charge_id and str(charge_id).isdigit():
        found = query.filter(pk=int(charge_id)).first()
        if found is not None:
            return found
    return query.filter(stripe_payment_intent_id=intent.get("id")).first()


def record_payment_intent_succeeded(
    *, supplier_order: SupplierOrder, charge_id: int, intent: dict[str, Any]
) -> PaymentResult:
    """Stripe says the PaymentIntent succeeded. Normally our own call already booked it; after a
    crash between Stripe's answer and our commit this books it (idempotent). The caller holds
    the supplier order's row lock."""
    charge = _lock_charge(charge_id=charge_id, supplier_order=supplier_order)
    if charge.status != Charge.Status.PENDING and not _may_revive(charge):
        return _as_settled(charge)
    _book_card_success(charge=charge, intent=intent)
    return PaymentResult(charge=charge, is_paid=True, paid_now=True)


def _may_revive(charge: Charge) -> bool:
    """An attempt that asked for authentication succeeds once the retailer confirmed it
    on-session, unless another payment of the supplier order is live meanwhile."""
    return (
        charge.needs_authentication
        and not charge.supplier_order.charges.filter(status__in=Charge.LIVE_STATUSES).exists()
    )


# --- the retailer confirms a payment its bank wants authenticated (3-D Secure) -------------------
def start_on_session_payment(
    *, supplier_order: SupplierOrder, charge_id: int, return_url: str
) -> PaymentResult:
    """Confirm, with the retailer present, the PaymentIntent an off-session attempt left asking
    for authentication (https://docs.stripe.com/payments/3d-secure/authentication-flow). The
    answer carries the bank's page in `action_url`, or the payment taken at once. The caller
    holds the supplier order's row lock and checked it still waits for payment."""
    charge = _lock_charge(charge_id=charge_id, supplier_order=supplier_order)
    if not _may_revive(charge):
        raise PaymentError("This payment does not need your confirmation any more.")
    try:
        intent = stripe_client.confirm_payment_on_session(
            payment_intent_id=charge.stripe_payment_intent_id or "",
            payment_method_id=charge.stripe_payment_method_id,
            return_url=return_url,
        )
    except CardDeclined as exc:
        return PaymentResult(charge=charge, is_paid=False, failure=exc.message)
    except StripeRequestError as exc:
        raise PaymentError(f"Stripe could not confirm the payment: {exc.message}") from exc
    return _after_on_session(charge=charge, intent=intent)


def finish_on_session_payment(*, supplier_order: SupplierOrder, charge_id: int) -> PaymentResult:
    """The retailer is back from its bank's page: read how the PaymentIntent ended."""
    charge = _lock_charge(charge_id=charge_id, supplier_order=supplier_order)
    if charge.is_paid:
        return _as_settled(charge)
    if not _may_revive(charge):
        raise PaymentError("This payment does not need your confirmation any more.")
    intent = stripe_client.retrieve_payment_intent(charge.stripe_payment_intent_id or "")
    return _after_on_session(charge=charge, intent=intent)


def _after_on_session(*, charge: Charge, intent: dict[str, Any]) -> PaymentResult:
    status = intent.get("status")
    if status == "succeeded":
        _book_card_success(charge=charge, intent=intent)
        return PaymentResult(charge=charge, is_paid=True, paid_now=True)
    if status == "requires_action":
        url = ((intent.get("next_action") or {}).get("redirect_to_url") or {}).get("url") or ""
        return PaymentResult(
            charge=charge, is_paid=False, needs_authentication=True, action_url=str(url)
        )
    error = intent.get("last_payment_error") or {}
    return PaymentResult(
        charge=charge,
        is_paid=False,
        needs_authentication=True,
        failure=str(error.get("message") or "Your bank did not confirm the payment."),
    )


def record_payment_intent_failed(
    *, supplier_order: SupplierOrder, charge_id: int, intent: dict[str, Any]
) -> PaymentResult:
    """Stripe says the PaymentIntent failed: a pending attempt fails with Stripe's reason (a
    settled one is left as it is). The caller holds the supplier order's row lock."""
    charge = _lock_charge(charge_id=charge_id, supplier_order=supplier_order)
    if charge.status != Charge.Status.PENDING:
        return _as_settled(charge)
    error = intent.get("last_payment_error") or {}
    return _decline(
        charge=charge,
        message=error.get("message") or "Your card was declined.",
        payment_intent_id=intent.get("id"),
        stripe_charge_id=error.get("charge"),
    )
