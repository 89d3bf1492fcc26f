"""Erasure: deleting an account or an organisation anonymises its personal data and keeps what
the law makes us keep (docs/privacy.md says exactly what and why).

Rows are never deleted where other records point at them: the user row stays with a placeholder
e-mail and no password (audit entries, orders' timelines and API keys keep a link to "a deleted
user"); an organisation stays with its legal name, because its invoices, charges, payouts and
ledger lines must be kept for the tax authorities (typically 10 years) and must say whose they
are. The ledger and invoices are not touched at all, so it stays balanced and append-only.

Deletion is refused, with the list of what to do first, while it would break things: open
orders, money still owed either way, other members of the team.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import Charge, Invoice, Payout
from dropship.accounts.models import ApiKey, Invitation, Membership, Notification, User
from dropship.core.audit import record_audit
from dropship.core.errors import DomainError, PermissionDenied
from integrations.models import InboundWebhook
from orders.models import Order, ReturnRequest, SupplierOrder
from orders.privacy import redact_orders
from privacy.models import Erasure
from privacy.services.exports import delete_exports_of
from retailers.models import Retailer, Store
from suppliers.models import Supplier, SupplierVerification
from suppliers.services import suspend_supplier

DELETED_EMAIL_DOMAIN = "deleted.invalid"  # RFC 2606: can never receive mail

KEPT_FOR_USER = [
    "The account row, with a placeholder e-mail and no password: audit entries, order timelines "
    "and API keys point at it and must keep saying that someone (now anonymous) acted.",
    "Audit entries about what the account did (the audit trail is append-only).",
]
KEPT_FOR_ORGANISATION = [
    "The organisation's legal or business name and country: invoicing law requires them on the "
    "invoices, charges, payouts and ledger lines we must keep.",
    "Invoices (numbers, dates, lines, amounts), charges, refunds, payouts and ledger lines: "
    "bookkeeping records, kept for the statutory period and untouched.",
    "Orders, supplier orders and shipments without the shoppers' names, e-mails or addresses "
    "(amounts, items, dates, carriers and tracking numbers back the bookkeeping).",
    "Products (discontinued) referenced by past orders.",
]

FINISHED_ORDER = [Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.CANCELLED]
FINISHED_SUPPLIER_ORDER = [
    SupplierOrder.Status.SHIPPED,
    SupplierOrder.Status.DELIVERED,
    SupplierOrder.Status.CANCELLED,
]
OPEN_RETURNS = [
    ReturnRequest.Status.REQUESTED,
    ReturnRequest.Status.APPROVED,
    ReturnRequest.Status.RECEIVED,
]


class ErasureBlocked(DomainError):
    """Deleting now would break something; `steps` says what to do first."""

    status_code = 409

    def __init__(self, intro: str, steps: list[str]) -> None:
        super().__init__(intro + " " + " ".join(steps))
        self.intro = intro
        self.steps = steps


def _check_confirmation(*, typed: str, expected: str, what: str) -> None:
    if typed.strip().casefold() != expected.strip().casefold():
        raise DomainError(f"Type {what} exactly to confirm.", field="confirmation")


# --- accounts -----------------------------------------------------------------------------------
def account_deletion_blockers(*, user: User) -> list[str]:
    membership = Membership.objects.filter(user=user).select_related("supplier", "retailer").first()
    if membership is None or not membership.is_owner:
        return []
    others = Membership.objects.filter(**_scope(membership)).exclude(user=user)
    if not others.exists():
        return [
            f"You are the only member of {membership.organisation}: delete the organisation "
            "first (below), which deletes your account with it."
        ]
    if not others.filter(role=membership.role).exists():
        return [
            f"You are the only owner of {membership.organisation}: make another member an owner "
            "on the Team page first."
        ]
    return []


def _scope(membership: Membership) -> dict[str, object]:
    if membership.supplier_id:
        return {"supplier_id": membership.supplier_id}
    return {"retailer_id": membership.retailer_id}


def _anonymise_user(user: User) -> None:
    old_email = user.email
    user.email = f"deleted-{user.pk}-{secrets.token_hex(4)}@{DELETED_EMAIL_DOMAIN}"
    user.full_name = user.first_name = user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save(
        update_fields=["email", "full_name", "first_name", "last_name", "is_active", "password"]
    )
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    # API keys the user created keep working for the organisation; only the link goes.
    ApiKey.objects.filter(created_by=user).update(created_by=None)
    Invitation.objects.filter(email__iexact=old_email).update(email=user.email)
    Membership.objects.filter(user=user).delete()
    delete_exports_of(user=user)
    _end_sessions(user)


def _end_sessions(user: User) -> None:
    """Sessions are signed with the password hash, which just changed; delete them anyway."""
    stale = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]
    Session.objects.filter(pk__in=stale).delete()


@transaction.atomic
def delete_account(*, user: User, confirmation: str) -> Erasure:
    """Anonymise the account (the user typed their e-mail to confirm)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    _check_confirmation(typed=confirmation, expected=user.email, what="your e-mail address")
    blockers = account_deletion_blockers(user=user)
    if blockers:
        raise ErasureBlocked("Your account cannot be deleted yet.", blockers)
    record_audit(actor=user, action="privacy.account_deleted", target=user)
    _anonymise_user(user)
    return Erasure.objects.create(kind=Erasure.Kind.USER, user=user, kept=KEPT_FOR_USER)


# --- organisations ------------------------------------------------------------------------------
def organisation_deletion_blockers(*, organisation: Supplier | Retailer, user: User) -> list[str]:
    steps: list[str] = []
    key = "supplier" if isinstance(organisation, Supplier) else "retailer"
    others = Membership.objects.filter(**{key: organisation}).exclude(user=user).count()
    if others:
        steps.append(f"Remove the other {others} member(s) from the team.")
    if isinstance(organisation, Retailer):
        open_orders = (
            Order.objects.filter(retailer=organisation).exclude(status__in=FINISHED_ORDER).count()
        )
        if open_orders:
            steps.append(f"Ship or cancel the {open_orders} open order(s).")
        unpaid = Invoice.objects.filter(
            retailer=organisation, status__in=[Invoice.Status.DRAFT, Invoice.Status.OPEN]
        ).count()
        if unpaid:
            steps.append(f"Pay the {unpaid} unpaid invoice(s).")
        pending = Charge.objects.filter(retailer=organisation, status=Charge.Status.PENDING).count()
        if pending:
            steps.append(f"Wait for the {pending} pending payment(s) to settle.")
        returns = ReturnRequest.objects.filter(
            supplier_order__order__retailer=organisation, status__in=OPEN_RETURNS
        ).count()
    else:
        open_orders = (
            SupplierOrder.objects.filter(supplier=organisation)
            .exclude(status__in=FINISHED_SUPPLIER_ORDER)
            .count()
        )
        if open_orders:
            steps.append(f"Ship or cancel the {open_orders} open supplier order(s).")
        owed = Payout.objects.filter(
            supplier=organisation,
            status__in=[Payout.Status.SCHEDULED, Payout.Status.HELD, Payout.Status.FAILED],
        ).count()
        if owed:
            steps.append(
                f"Wait for the {owed} payout(s) still due to you (or ask support to settle them)."
            )
        returns = ReturnRequest.objects.filter(
            supplier_order__supplier=organisation, status__in=OPEN_RETURNS
        ).count()
    if returns:
        steps.append(f"Close the {returns} open return request(s).")
    return steps


def _erase_retailer(retailer: Retailer, *, now: datetime) -> None:
    orders = list(Order.objects.select_for_update().filter(retailer=retailer, is_redacted=False))
    redact_orders(orders)
    stores = Store.objects.filter(retailer=retailer)
    InboundWebhook.objects.filter(store__in=stores).update(body=b"", headers={})
    stores.exclude(status=Store.Status.DISCONNECTED).update(disconnected_at=now)
    stores.update(
        credentials=None,
        webhook_secret="",
        status=Store.Status.DISCONNECTED,
        status_reason="The retailer's organisation was deleted.",
    )
    if retailer.brand_logo:
        retailer.brand_logo.delete(save=False)
    retailer.contact_email = retailer.brand_name = retailer.packing_slip_message = ""
    retailer.brand_logo = ""
    retailer.stripe_payment_method_id = retailer.card_brand = retailer.card_last4 = ""
    retailer.status = Retailer.Status.SUSPENDED
    retailer.save(
        update_fields=[
            "contact_email",
            "brand_name",
            "packing_slip_message",
            "brand_logo",
            "stripe_payment_method_id",
            "card_brand",
            "card_last4",
            "status",
            "updated_at",
        ]
    )


def _erase_supplier(supplier: Supplier, *, user: User) -> None:
    if supplier.status == Supplier.Status.ACTIVE:
        suspend_supplier(supplier=supplier, actor=user, reason="Closed at the owner's request.")
    supplier.refresh_from_db()
    supplier.products.exclude(status="DISCONTINUED").update(status="DISCONTINUED")
    verification = SupplierVerification.objects.filter(supplier=supplier).first()
    if verification is not None:
        if verification.document:
            verification.document.delete(save=False)
        verification.document = ""
        verification.document_name = verification.document_content_type = ""
        verification.answers = {}
        verification.save(
            update_fields=["document", "document_name", "document_content_type", "answers"]
        )
    if supplier.logo:
        supplier.logo.delete(save=False)
    supplier.logo = ""
    supplier.contact_email = supplier.phone = supplier.website = supplier.order_email = ""
    supplier.description = supplier.webhook_url = supplier.webhook_secret = ""
    supplier.status_reason = "Closed at the owner's request."
    supplier.save(
        update_fields=[
            "logo",
            "contact_email",
            "phone",
            "website",
            "order_email",
            "description",
            "webhook_url",
            "webhook_secret",
            "status_reason",
            "updated_at",
        ]
    )


@transaction.atomic
def delete_organisation(*, user: User, confirmation: str) -> Erasure:
    """Anonymise the owner's organisation and then the owner's account. The owner typed the
    organisation's name to confirm."""
    membership = Membership.objects.filter(user=user).select_related("supplier", "retailer").first()
    if membership is None or not membership.is_owner:
        raise PermissionDenied("Only an owner can delete the organisation.")
    model = Supplier if membership.supplier_id else Retailer
    organisation = model.objects.select_for_update().get(pk=membership.organisation.pk)
    _check_confirmation(
        typed=confirmation, expected=str(organisation), what="the organisation's name"
    )
    blockers = organisation_deletion_blockers(organisation=organisation, user=user)
    if blockers:
        raise ErasureBlocked(f"{organisation} cannot be deleted yet.", blockers)
    now = timezone.now()
    key = "supplier" if isinstance(organisation, Supplier) else "retailer"
    record_audit(
        actor=user,
        action="privacy.organisation_deleted",
        target=organisation,
        summary=f"{organisation} deleted by its owner; personal data erased",
    )
    if isinstance(organisation, Retailer):
        _erase_retailer(organisation, now=now)
    else:
        _erase_supplier(organisation, user=user)
    ApiKey.objects.filter(**{key: organisation}, revoked_at__isnull=True).update(revoked_at=now)
    Invitation.objects.filter(Q(**{key: organisation}), accepted_at__isnull=True).delete()
    Notification.objects.filter(**{key: organisation}).delete()
    _anonymise_user(User.objects.select_for_update().get(pk=user.pk))
    Erasure.objects.create(kind=Erasure.Kind.USER, user=user, kept=KEPT_FOR_USER)
    return Erasure.objects.create(
        kind=Erasure.Kind.ORGANISATION, **{key: organisation}, kept=KEPT_FOR_ORGANISATION
    )
