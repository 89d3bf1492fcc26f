"""Suppliers get paid through Stripe Connect: onboarding from the settings page, and what Stripe
tells us about their accounts (account.updated) and their bank payouts (payout.paid / failed).
Those events of connected accounts come to the Connect webhook endpoint
(/webhooks/stripe/connect/, https://docs.stripe.com/connect/webhooks); a beat job asks Stripe
again for the accounts whose payouts are held, in case such an event was lost.

Stripe events may arrive late and in any order: each state carries the time Stripe reported it,
and an older report never overwrites a newer one. Stripe's objects arrive as our own types
(integrations/stripe/mappers.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing.models import BankPayout, ConnectedAccount, Payout
from billing.services.payouts import release_held_payouts
from dropship.accounts.models import Notification
from dropship.accounts.services import email_organisation, notify
from dropship.core.errors import DomainError
from dropship.core.money import format_money, from_minor_units
from integrations.stripe import client as stripe_client
from integrations.stripe.mappers import BankPayoutData, ConnectedAccountData
from suppliers.models import Supplier

logger = logging.getLogger(__name__)


class PayoutSetupError(DomainError):
    pass


def start_payout_onboarding(*, supplier: Supplier, return_url: str, refresh_url: str) -> str:
    """The address of Stripe's onboarding for the supplier's connected account (made once)."""
    account = ConnectedAccount.objects.filter(supplier=supplier).first()
    if account is None:
        try:
            created = stripe_client.create_connected_account(
                email=supplier.contact_email,
                country=supplier.ship_from_country or settings.STRIPE_CONNECT_COUNTRY,
                business_name=supplier.legal_name or supplier.company_name,
                metadata={"supplier_id": str(supplier.pk)},
                idempotency_key=f"supplier-{supplier.pk}-connect-account",
            )
        except stripe_client.StripeRequestError as exc:
            raise PayoutSetupError(
                f"Stripe could not open a payout account: {exc.message}"
            ) from exc
        with transaction.atomic():
            account, _ = ConnectedAccount.objects.get_or_create(
                supplier=supplier, defaults={"stripe_account_id": created.id}
            )
            _apply(account, created, observed_at=_now_to_the_second())
    try:
        link = stripe_client.create_onboarding_link(
            account_id=account.stripe_account_id, refresh_url=refresh_url, return_url=return_url
        )
    except stripe_client.StripeRequestError as exc:
        raise PayoutSetupError(f"Stripe could not start onboarding: {exc.message}") from exc
    return str(link["url"])


def refresh_connected_account(*, supplier: Supplier) -> ConnectedAccount | None:
    """Ask Stripe for the account's state now (the supplier just came back from onboarding)."""
    account = ConnectedAccount.objects.filter(supplier=supplier).first()
    if account is None:
        return None
    data = stripe_client.retrieve_account(account.stripe_account_id)
    return apply_account_update(account=data, observed_at=_now_to_the_second())


def refresh_held_accounts(*, limit: int = 200) -> int:
    """The beat job: ask Stripe for each connected account whose supplier has payouts HELD, so
    a lost account.updated does not hold them for ever. Returns how many accounts were read.
    A Stripe outage skips an account until the next run."""
    account_ids = list(
        ConnectedAccount.objects.filter(supplier__payouts__status=Payout.Status.HELD)
        .distinct()
        .order_by("synced_at", "pk")
        .values_list("stripe_account_id", flat=True)[:limit]
    )
    read = 0
    for account_id in account_ids:
        try:
            data = stripe_client.retrieve_account(account_id)
        except (stripe_client.StripeTemporaryError, stripe_client.StripeRequestError) as exc:
            logger.warning("Could not refresh connected account %s: %s", account_id, exc)
            continue
        apply_account_update(account=data, observed_at=_now_to_the_second())
        read += 1
    return read


def apply_account_update(
    *, account: ConnectedAccountData, observed_at: datetime
) -> ConnectedAccount | None:
    """Stripe's view of a connected account; releases held payouts once it can receive them."""
    with transaction.atomic():
        connected = (
            ConnectedAccount.objects.select_for_update()
            .select_related("supplier")
            .filter(stripe_account_id=account.id or "-")
            .first()
        )
        if connected is None:
            return None
        if connected.synced_at and observed_at < connected.synced_at:
            return connected  # an older report arriving late
        was_enabled = connected.is_enabled
        _apply(connected, account, observed_at=observed_at)
        supplier = connected.supplier
        if connected.is_enabled and not was_enabled:
            notify(
                organisation=supplier,
                kind="billing.payouts_enabled",
                message="Payouts are enabled: Stripe will pay your shipped orders to your bank.",
                level=Notification.Level.SUCCESS,
                url=reverse("billing:supplier"),
            )
            release_held_payouts(supplier=supplier)
        elif was_enabled and not connected.is_enabled:
            notify(
                organisation=supplier,
                kind="billing.payouts_disabled",
                message="Stripe needs more details before it can pay you: "
                + (", ".join(connected.requirements_due) or "see your billing page"),
                level=Notification.Level.WARNING,
                url=reverse("billing:supplier"),
            )
    return connected


def _apply(
    connected: ConnectedAccount, account: ConnectedAccountData, *, observed_at: datetime
) -> None:
    connected.details_submitted = account.details_submitted
    connected.payouts_enabled = account.payouts_enabled
    connected.transfers_active = account.transfers_active
    connected.requirements_due = list(account.requirements_due)
    connected.disabled_reason = account.disabled_reason[:100]
    connected.synced_at = observed_at
    connected.save()
    Supplier.objects.filter(pk=connected.supplier_id).update(
        stripe_account_id=connected.stripe_account_id, payouts_enabled=connected.is_enabled
    )


def record_bank_payout(
    *, payout: BankPayoutData, account_id: str, observed_at: datetime
) -> BankPayout | None:
    """payout.paid / payout.failed for a supplier's connected account."""
    connected = ConnectedAccount.objects.filter(stripe_account_id=account_id or "-").first()
    if connected is None:
        return None
    status = {
        "paid": BankPayout.Status.PAID,
        "failed": BankPayout.Status.FAILED,
    }.get(payout.status, BankPayout.Status.IN_TRANSIT)
    currency = payout.currency
    with transaction.atomic():
        existing = BankPayout.objects.select_for_update().filter(stripe_payout_id=payout.id).first()
        if existing is not None and existing.reported_at > observed_at:
            return existing
        bank_payout, _ = BankPayout.objects.update_or_create(
            stripe_payout_id=payout.id,
            defaults={
                "supplier_id": connected.supplier_id,
                "amount": from_minor_units(payout.amount, currency),
                "currency": currency,
                "status": status,
                "arrival_date": payout.arrival_date,
                "failure_message": payout.failure_message[:500],
                "reported_at": observed_at,
            },
        )
        if status == BankPayout.Status.FAILED and (existing is None or existing.status != status):
            supplier = connected.supplier
            message = (
                f"Stripe could not pay {format_money(bank_payout.amount, currency)} to your bank: "
                f"{bank_payout.failure_message or 'no reason given'}. Update your bank details "
                "with Stripe from your billing page."
            )
            notify(
                organisation=supplier,
                kind="billing.bank_payout_failed",
                message=message,
                level=Notification.Level.ERROR,
                url=reverse("billing:supplier"),
            )
            email_organisation(
                organisation=supplier, subject="A payout to your bank failed", message=message
            )
    return bank_payout


def _now_to_the_second() -> datetime:
    """Stripe's clock has one-second steps: an event of this same second is not older news."""
    return timezone.now().replace(microsecond=0)


def event_time(payload: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(payload.get("created") or 0), tz=UTC)
