"""Paid plans on Stripe Billing (issue 17).

- `sync_stripe_plans` (manage.py sync_stripe_plans) makes each plan row a Stripe Product with a
  monthly Price found again by its lookup key: run twice, it changes nothing; a changed price
  gets a new Price that takes the key over (Stripe Prices cannot change their amount).
- A retailer picks a plan on /pricing/ and pays by Checkout in subscription mode
  (`start_plan_checkout`; the plan's trial days on a first subscription); the way back and the
  webhooks both end in `sync_subscription`, which reads the subscription from Stripe and applies
  it. Reading the object rather than trusting an event's copy makes repeated and out-of-order
  events harmless: each one applies Stripe's current state.
- Upgrades and downgrades change the subscription item's price with `always_invoice` proration
  (`change_plan`); a downgrade that the retailer's stores or suppliers would exceed is refused
  with the list of what to remove. Cancelling keeps the plan to the end of the period.
- Dunning follows Stripe's: a failed renewal makes the subscription past_due while Smart Retries
  run; we give `PLAN_GRACE_DAYS` from the first failure, then the retailer's pages are read-only
  (`Retailer.read_only_reason`; orders keep flowing) until an invoice is paid. A subscription
  that ends (cancelled at period end, or retries exhausted) leaves the account read-only until a
  plan is chosen again.
- Every subscription invoice is kept (`SubscriptionInvoice`) and, once paid, booked once as
  platform revenue through the ledger.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing.models import FeeSchedule, LedgerEntry, Subscription, SubscriptionInvoice
from billing.services.cards import ensure_customer, retrieve_completed_session
from billing.services.ledger import Leg, record_movement
from billing.services.payments import PaymentError
from dropship.accounts.models import Notification, User
from dropship.accounts.services import email_organisation, notify
from dropship.core.audit import record_audit
from dropship.core.errors import Conflict
from dropship.core.money import from_minor_units, to_minor_units
from integrations.stripe import billing as stripe_billing
from integrations.stripe.mappers import (
    InvoicePreviewData,
    SubscriptionData,
    SubscriptionInvoiceData,
)
from retailers.models import Retailer
from retailers.plan_limits import limit_violations

logger = logging.getLogger(__name__)
Account = LedgerEntry.Account
LIVE = (Subscription.Status.TRIALING, Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE)
ENDED = (
    Subscription.Status.CANCELED,
    Subscription.Status.UNPAID,
    Subscription.Status.INCOMPLETE_EXPIRED,
)


class PlanError(PaymentError):
    pass


class PlanChangeRefused(Conflict):
    """A downgrade the retailer's current use does not fit; the message lists what to remove."""


# --- the catalogue on Stripe ---------------------------------------------------------------------
def product_id_for(schedule: FeeSchedule) -> str:
    return f"dropship_plan_{schedule.plan.lower()}"


def sync_stripe_plans() -> list[str]:
    """Each plan as a Stripe Product and monthly Price (found by lookup key); safe to run twice.
    Returns one line per plan saying what was done."""
    report = []
    for schedule in FeeSchedule.objects.order_by("monthly_price"):
        product_id = product_id_for(schedule)
        stripe_billing.ensure_product(
            product_id=product_id,
            name=f"Dropship {schedule}",
            metadata={"plan": schedule.plan},
        )
        amount = to_minor_units(schedule.monthly_price, schedule.currency)
        price = stripe_billing.find_price_by_lookup_key(schedule.lookup_key)
        if (
            price is not None
            and price.get("unit_amount") == amount
            and str(price.get("currency", "")).upper() == schedule.currency
            and price.get("active", True)
        ):
            action = "unchanged"
        else:
            price = stripe_billing.create_monthly_price(
                product_id=product_id,
                unit_amount=amount,
                currency=schedule.currency,
                lookup_key=schedule.lookup_key,
                metadata={"plan": schedule.plan},
                transfer_lookup_key=price is not None,
            )
            action = "price created"
        if (schedule.stripe_product_id, schedule.stripe_price_id) != (product_id, price["id"]):
            schedule.stripe_product_id, schedule.stripe_price_id = product_id, price["id"]
            schedule.save(update_fields=["stripe_product_id", "stripe_price_id", "updated_at"])
        report.append(f"{schedule} ({schedule.lookup_key}): {price['id']} {action}")
    return report


def _schedule(plan: str) -> FeeSchedule:
    schedule = FeeSchedule.objects.filter(plan=plan).first()
    if schedule is None:
        raise PlanError(f"There is no plan called {plan!r}.", field="plan")
    if not schedule.stripe_price_id:
        raise PlanError(
            f"The {schedule} plan cannot be bought yet (its Stripe price is not set up).",
            field="plan",
        )
    return schedule


def _plan_for_price(price_id: str, lookup_key: str) -> str:
    schedule = (
        FeeSchedule.objects.filter(stripe_price_id=price_id).first() if price_id else None
    ) or next(
        (s for s in FeeSchedule.objects.all() if lookup_key and s.lookup_key == lookup_key),
        None,
    )
    return schedule.plan if schedule is not None else ""


# --- choosing a plan -----------------------------------------------------------------------------
def live_subscription(*, retailer: Retailer) -> Subscription | None:
    subscription = Subscription.objects.filter(retailer=retailer).first()
    return subscription if subscription is not None and subscription.status in LIVE else None


def _refuse_if_over(*, retailer: Retailer, schedule: FeeSchedule) -> None:
    problems = limit_violations(retailer=retailer, plan=schedule)
    if problems:
        raise PlanChangeRefused(
            f"Your account does not fit the {schedule} plan yet. " + " ".join(problems),
            field="plan",
        )


def start_plan_checkout(*, retailer: Retailer, plan: str, success_url: str, cancel_url: str) -> str:
    """The address of Stripe Checkout where the retailer subscribes to `plan`. The plan's trial
    is given on a retailer's first subscription only."""
    schedule = _schedule(plan)
    current = live_subscription(retailer=retailer)
    if current is not None:
        raise PlanError("You already have a plan: change it on the Billing page.", field="plan")
    _refuse_if_over(retailer=retailer, schedule=schedule)
    had_one = Subscription.objects.filter(retailer=retailer).exists()
    customer_id = ensure_customer(retailer=retailer)
    session = stripe_billing.create_subscription_checkout(
        customer_id=customer_id,
        price_id=schedule.stripe_price_id,
        trial_days=0 if had_one else schedule.trial_days,
        success_url=success_url,
        cancel_url=cancel_url,
        metadata={"retailer_id": str(retailer.pk), "plan": schedule.plan},
    )
    return str(session["url"])


def complete_plan_checkout(*, retailer: Retailer, session_id: str) -> Subscription:
    """The retailer came back from Checkout: apply the subscription it created."""
    session = retrieve_completed_session(
        retailer=retailer,
        session_id=session_id,
        mode="subscription",
        what="checkout",
        error=PlanError,
    )
    subscription = sync_subscription(subscription_id=str(session.get("subscription") or ""))
    if subscription is None:
        raise PlanError("Stripe has not confirmed the subscription yet. Try again in a moment.")
    return subscription


def apply_checkout_session_completed(*, session: dict[str, object]) -> bool:
    """The webhook's copy of a completed subscription checkout."""
    if session.get("mode") != "subscription" or not session.get("subscription"):
        return False
    return sync_subscription(subscription_id=str(session["subscription"])) is not None


# --- applying Stripe's state ---------------------------------------------------------------------
def sync_subscription(*, subscription_id: str) -> Subscription | None:
    """Read the subscription from Stripe and apply it (None when it is not a retailer's)."""
    if not subscription_id:
        return None
    return apply_subscription_state(data=stripe_billing.retrieve_subscription(subscription_id))


def _retailer_for(data: SubscriptionData) -> Retailer | None:
    retailer_id = data.metadata.get("retailer_id", "")
    query = Retailer.objects.select_for_update()
    retailer = query.filter(stripe_customer_id=data.customer).first() if data.customer else None
    if retailer is None and retailer_id.isdigit():
        retailer = query.filter(pk=int(retailer_id), stripe_customer_id=data.customer).first()
    return retailer


@transaction.atomic
def apply_subscription_state(
    *, data: SubscriptionData, now: datetime | None = None
) -> Subscription | None:
    now = now or timezone.now()
    retailer = _retailer_for(data)
    if retailer is None:
        logger.warning("Subscription %s is not a retailer's; ignored", data.id)
        return None
    current = Subscription.objects.select_for_update().filter(retailer=retailer).first()
    if current is not None and current.stripe_subscription_id != data.id:
        if current.status in LIVE and data.status not in LIVE:
            return current  # news of an older, ended subscription: the live one stays
        current.stripe_subscription_id = data.id
        current.past_due_since = None
    subscription = current or Subscription(retailer=retailer, stripe_subscription_id=data.id)
    was = subscription.status if current is not None else ""
    plan = _plan_for_price(data.price_id, data.price_lookup_key) or subscription.plan
    subscription.plan = plan or retailer.plan
    subscription.status = data.status
    subscription.trial_end = data.trial_end
    subscription.current_period_start = data.current_period_start
    subscription.current_period_end = data.current_period_end
    subscription.cancel_at_period_end = data.cancel_at_period_end
    subscription.canceled_at = data.canceled_at
    if data.status == Subscription.Status.PAST_DUE:
        subscription.past_due_since = subscription.past_due_since or now
    else:
        subscription.past_due_since = None
    subscription.save()
    fields = []
    if data.status in LIVE and plan and retailer.plan != plan:
        retailer.plan = plan
        fields.append("plan")
    reason = _read_only_reason(subscription=subscription, now=now)
    if reason != retailer.read_only_reason:
        retailer.read_only_reason = reason
        fields.append("read_only_reason")
    if fields:
        retailer.save(update_fields=[*fields, "updated_at"])
    _tell_retailer(retailer=retailer, subscription=subscription, was=was)
    return subscription


def grace_period() -> timedelta:
    return timedelta(days=settings.PLAN_GRACE_DAYS)


def _read_only_reason(*, subscription: Subscription, now: datetime) -> str:
    billing_page = reverse("billing:retailer")
    if subscription.status in ENDED:
        return (
            "Your plan has ended. Choose a plan on the Billing page to make changes again; "
            f"your orders keep flowing meanwhile ({billing_page})."
        )
    if (
        subscription.status == Subscription.Status.PAST_DUE
        and subscription.past_due_since is not None
        and now - subscription.past_due_since >= grace_period()
    ):
        return (
            f"Your plan's payment is overdue since {subscription.past_due_since:%d %b %Y}. Update "
            f"your card on the Billing page to make changes again; your orders keep flowing "
            f"meanwhile ({billing_page})."
        )
    return ""


def _tell_retailer(*, retailer: Retailer, subscription: Subscription, was: str) -> None:
    status = subscription.status
    if status == was:
        return
    url = reverse("billing:retailer")
    if status == Subscription.Status.PAST_DUE:
        until = (subscription.past_due_since or timezone.now()) + grace_period()
        message = (
            "We could not charge your card for your Dropship plan. We will try again; update "
            f"your card before {until:%d %b %Y} or your pages become read-only (orders keep "
            "flowing)."
        )
        notify(
            organisation=retailer,
            kind="billing.plan_past_due",
            message=message,
            level=Notification.Level.WARNING,
            url=url,
        )
        email_organisation(
            organisation=retailer, subject="Your plan payment failed", message=message
        )
    elif status == Subscription.Status.ACTIVE and was == Subscription.Status.PAST_DUE:
        notify(
            organisation=retailer,
            kind="billing.plan_recovered",
            message="Your plan's payment went through: thank you.",
            url=url,
        )
    elif status in ENDED and was in LIVE:
        notify(
            organisation=retailer,
            kind="billing.plan_ended",
            message="Your Dropship plan has ended. Choose a plan to keep making changes.",
            level=Notification.Level.WARNING,
            url=reverse("billing:pricing"),
        )


def enforce_grace_periods(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat job: past-due subscriptions whose grace period is over make their retailer
    read-only. Returns how many retailers became read-only."""
    now = now or timezone.now()
    due = list(
        Subscription.objects.filter(
            status=Subscription.Status.PAST_DUE,
            past_due_since__lte=now - grace_period(),
            retailer__read_only_reason="",
        ).values_list("pk", flat=True)[:limit]
    )
    changed = 0
    for subscription_id in due:
        with transaction.atomic():
            subscription = (
                Subscription.objects.select_for_update()
                .select_related("retailer")
                .get(pk=subscription_id)
            )
            reason = _read_only_reason(subscription=subscription, now=now)
            retailer = subscription.retailer
            if reason and not retailer.read_only_reason:
                retailer.read_only_reason = reason
                retailer.save(update_fields=["read_only_reason", "updated_at"])
                notify(
                    organisation=retailer,
                    kind="billing.read_only",
                    message=reason,
                    level=Notification.Level.ERROR,
                    url=reverse("billing:retailer"),
                )
                changed += 1
    return changed


# --- invoices ------------------------------------------------------------------------------------
_STATUS_ORDER = {"draft": 0, "open": 1, "paid": 2, "uncollectible": 2, "void": 2}


@transaction.atomic
def record_subscription_invoice(*, data: SubscriptionInvoiceData) -> SubscriptionInvoice | None:
    """Keep a subscription invoice; a paid one is booked once as platform revenue. An older
    event never moves an invoice back (paid stays paid)."""
    retailer = Retailer.objects.filter(stripe_customer_id=data.customer).first()
    if retailer is None or not data.id:
        return None
    invoice = (
        SubscriptionInvoice.objects.select_for_update().filter(stripe_invoice_id=data.id).first()
    )
    if invoice is not None and _STATUS_ORDER.get(invoice.status, 0) > _STATUS_ORDER.get(
        data.status, 0
    ):
        return invoice
    invoice = invoice or SubscriptionInvoice(retailer=retailer, stripe_invoice_id=data.id)
    invoice.stripe_subscription_id = data.subscription
    invoice.number = data.number[:64]
    invoice.status = data.status
    invoice.billing_reason = data.billing_reason[:40]
    invoice.description = data.description
    invoice.currency = data.currency or retailer.currency
    invoice.amount_due = from_minor_units(data.amount_due, invoice.currency)
    invoice.amount_paid = from_minor_units(data.amount_paid, invoice.currency)
    invoice.period_start = data.period_start
    invoice.period_end = data.period_end
    invoice.attempt_count = max(invoice.attempt_count, data.attempt_count)
    invoice.next_payment_attempt = data.next_payment_attempt
    invoice.hosted_invoice_url = data.hosted_invoice_url[:500]
    invoice.paid_at = data.paid_at
    invoice.issued_at = data.created
    invoice.save()
    if invoice.status == SubscriptionInvoice.Status.PAID and invoice.amount_paid > 0:
        _book_once(invoice=invoice, retailer=retailer)
    return invoice


def _book_once(*, invoice: SubscriptionInvoice, retailer: Retailer) -> None:
    claimed = SubscriptionInvoice.objects.filter(pk=invoice.pk, booked_at__isnull=True).update(
        booked_at=timezone.now()
    )
    if not claimed:
        return
    amount: Decimal = invoice.amount_paid
    record_movement(
        kind=LedgerEntry.Kind.SUBSCRIPTION,
        legs=[
            Leg(Account.STRIPE_CLEARING, amount),
            Leg(Account.PLATFORM_REVENUE, -amount, retailer=retailer),
        ],
        currency=invoice.currency,
        memo=f"Plan invoice {invoice.number or invoice.stripe_invoice_id}",
    )


# --- changing, cancelling, the portal ------------------------------------------------------------
def _require_live(retailer: Retailer) -> Subscription:
    subscription = live_subscription(retailer=retailer)
    if subscription is None:
        raise PlanError("You have no plan yet: choose one on the pricing page.")
    return subscription


def _subscription_item(subscription: Subscription) -> SubscriptionData:
    return stripe_billing.retrieve_subscription(subscription.stripe_subscription_id)


def preview_plan_change(*, retailer: Retailer, plan: str) -> InvoicePreviewData:
    schedule = _schedule(plan)
    subscription = _require_live(retailer)
    data = _subscription_item(subscription)
    return stripe_billing.preview_price_change(
        customer_id=retailer.stripe_customer_id,
        subscription_id=data.id,
        item_id=data.item_id,
        price_id=schedule.stripe_price_id,
    )


def change_plan(*, retailer: Retailer, plan: str, actor: User | None = None) -> Subscription:
    """Move to another plan now; Stripe invoices the proration at once. A downgrade the
    retailer's stores or suppliers exceed is refused, listing what to remove."""
    schedule = _schedule(plan)
    subscription = _require_live(retailer)
    if subscription.plan == schedule.plan:
        raise PlanError(f"You are already on the {schedule} plan.", field="plan")
    _refuse_if_over(retailer=retailer, schedule=schedule)
    data = _subscription_item(subscription)
    updated = stripe_billing.change_subscription_price(
        subscription_id=data.id,
        item_id=data.item_id,
        price_id=schedule.stripe_price_id,
        idempotency_key=f"{data.id}-{data.price_id}-to-{schedule.stripe_price_id}",
    )
    result = apply_subscription_state(data=updated)
    record_audit(
        actor=actor,
        action="billing.plan_changed",
        target=retailer,
        summary=f"Plan changed to {schedule}",
    )
    assert result is not None  # noqa: S101 - the retailer's own customer id was just used
    return result


def set_plan_cancellation(
    *, retailer: Retailer, cancel: bool, actor: User | None = None
) -> Subscription:
    """Cancel at the end of the paid period (or take the cancellation back)."""
    subscription = _require_live(retailer)
    updated = stripe_billing.set_cancel_at_period_end(
        subscription_id=subscription.stripe_subscription_id, cancel=cancel
    )
    result = apply_subscription_state(data=updated)
    record_audit(
        actor=actor,
        action="billing.plan_cancelled" if cancel else "billing.plan_resumed",
        target=retailer,
        summary="Plan set to end at the end of the period" if cancel else "Plan renews again",
    )
    assert result is not None  # noqa: S101 - the retailer's own subscription
    return result


def open_billing_portal(*, retailer: Retailer, return_url: str) -> str:
    if not retailer.stripe_customer_id:
        raise PlanError("Choose a plan first: there is nothing to manage yet.")
    return stripe_billing.create_portal_session(
        customer_id=retailer.stripe_customer_id, return_url=return_url
    )


def preview_next_invoice(*, retailer: Retailer) -> InvoicePreviewData | None:
    subscription = live_subscription(retailer=retailer)
    if subscription is None or subscription.cancel_at_period_end:
        return None
    return stripe_billing.preview_next_invoice(
        customer_id=retailer.stripe_customer_id,
        subscription_id=subscription.stripe_subscription_id,
    )
