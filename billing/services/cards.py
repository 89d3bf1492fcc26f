"""A retailer's card on file: saved through Stripe Checkout in setup mode, changed the same way.

The retailer is sent to Checkout's page; when it comes back (or when Stripe's
checkout.session.completed webhook arrives, whichever is first) the card is read from the
session's SetupIntent and kept on the retailer. A changed card retries the payments that
failed, in a task on the billing queue.

That retry is the order pipeline's: it owns the held supplier orders' status and sends the paid
ones to their suppliers, a layer above billing, which may not import it. So the pipeline names its
retry task here (`register_payment_retry_task`, from OrdersConfig.ready()), the way the apps name
their handlers in the webhook inbox's table, and billing only says when a retry is due
(`request_payment_retry`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import Task
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from billing.services.payments import PaymentError
from dropship.accounts.models import User
from dropship.core.audit import record_audit
from integrations.stripe import client as stripe_client
from retailers.models import Retailer


class CardSetupError(PaymentError):
    pass


_payment_retry_task: Task[[int, bool], object] | None = None


def register_payment_retry_task(task: Task[[int, bool], object]) -> None:
    """Name the task that pays a retailer's held supplier orders again: called with
    `(retailer_id, retry_same_card)`, it must be safe to run twice."""
    global _payment_retry_task  # one slot, filled once at start-up
    if _payment_retry_task is not None and _payment_retry_task.name != task.name:
        raise ImproperlyConfigured(
            f"The payment retry task is already {_payment_retry_task.name}, not {task.name}."
        )
    _payment_retry_task = task


def request_payment_retry(*, retailer: Retailer, retry_same_card: bool = False) -> None:
    """Pay the retailer's held supplier orders again once the caller's transaction commits: after
    its card changed, or when it asks (`retry_same_card`: charge even the card that declined)."""
    if _payment_retry_task is None:
        raise ImproperlyConfigured("No payment retry task is registered (OrdersConfig.ready()).")
    transaction.on_commit(partial(_payment_retry_task.delay, retailer.pk, retry_same_card))


def ensure_customer(*, retailer: Retailer) -> str:
    """The retailer's Stripe customer id, created once (a retried creation returns the same one)."""
    if retailer.stripe_customer_id:
        return retailer.stripe_customer_id
    customer = stripe_client.create_customer(
        email=retailer.contact_email,
        name=retailer.business_name,
        metadata={"retailer_id": str(retailer.pk)},
        idempotency_key=f"retailer-{retailer.pk}-customer",
    )
    customer_id: str = customer["id"]
    updated = Retailer.objects.filter(pk=retailer.pk, stripe_customer_id="").update(
        stripe_customer_id=customer_id
    )
    if not updated:  # someone else saved one first
        retailer.refresh_from_db(fields=["stripe_customer_id"])
        return retailer.stripe_customer_id
    retailer.stripe_customer_id = customer_id
    return customer_id


def start_card_setup(*, retailer: Retailer, success_url: str, cancel_url: str) -> str:
    """The address of Stripe's page where the retailer saves a card for later payments."""
    customer_id = ensure_customer(retailer=retailer)
    session = stripe_client.create_setup_session(
        customer_id=customer_id,
        success_url=success_url,
        cancel_url=cancel_url,
        metadata={"retailer_id": str(retailer.pk)},
    )
    url: str = session["url"]
    return url


def retrieve_completed_session(
    *, retailer: Retailer, session_id: str, mode: str, what: str, error: type[PaymentError]
) -> dict[str, Any]:
    """The retailer's own Checkout session of `mode`, completed; else `error` saying why
    (`what` names the flow in the message: "card setup", "checkout")."""
    if not session_id or not session_id.startswith("cs_"):
        raise error(f"That {what} link is not valid. Start again.")
    try:
        session = stripe_client.retrieve_checkout_session(session_id)
    except stripe_client.StripeRequestError as exc:
        raise error(f"Stripe does not know that {what}: {exc.message}") from exc
    if not retailer.stripe_customer_id or session.get("customer") != retailer.stripe_customer_id:
        raise error(f"That {what} belongs to another account.")
    if session.get("mode") != mode or session.get("status") != "complete":
        raise error(f"The {what} was not finished: the Stripe page was left before the end.")
    return session


def complete_card_setup(*, retailer: Retailer, session_id: str, actor: User | None = None) -> bool:
    """Keep the card saved in the retailer's Checkout session. True when the card changed."""
    session = retrieve_completed_session(
        retailer=retailer,
        session_id=session_id,
        mode="setup",
        what="card setup",
        error=CardSetupError,
    )
    return _save_card_from_session(retailer_id=retailer.pk, session=session, actor=actor)


def apply_checkout_session_completed(*, session: dict[str, Any]) -> bool:
    """The webhook's copy of a completed setup session (the retailer may never come back)."""
    if session.get("mode") != "setup" or session.get("status") != "complete":
        return False
    retailer = Retailer.objects.filter(stripe_customer_id=session.get("customer") or "-").first()
    if retailer is None:
        return False
    full = stripe_client.retrieve_checkout_session(session["id"])
    return _save_card_from_session(retailer_id=retailer.pk, session=full, actor=None)


def _save_card_from_session(
    *, retailer_id: int, session: dict[str, Any], actor: User | None
) -> bool:
    setup_intent = session.get("setup_intent") or {}
    method = setup_intent.get("payment_method") if isinstance(setup_intent, dict) else None
    if not isinstance(method, dict) or setup_intent.get("status") != "succeeded":
        raise CardSetupError("Stripe has not confirmed the card yet. Try again in a moment.")
    card = method.get("card") or {}
    with transaction.atomic():
        retailer = Retailer.objects.select_for_update().get(pk=retailer_id)
        if retailer.stripe_payment_method_id == method["id"]:
            return False
        previous = retailer.card_last4
        retailer.stripe_payment_method_id = method["id"]
        retailer.card_brand = str(card.get("brand") or "")[:20]
        retailer.card_last4 = str(card.get("last4") or "")[:4]
        retailer.save(
            update_fields=["stripe_payment_method_id", "card_brand", "card_last4", "updated_at"]
        )
        stripe_client.set_default_payment_method(
            customer_id=retailer.stripe_customer_id, payment_method_id=method["id"]
        )
        record_audit(
            actor=actor,
            action="billing.card_saved",
            target=retailer,
            summary=f"Card {retailer.card_brand} •••• {retailer.card_last4} saved"
            + (f" (replaces •••• {previous})" if previous else ""),
        )
        request_payment_retry(retailer=retailer)
    return True
