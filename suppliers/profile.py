"""An approved supplier edits its profile (issue 17 point 3).

Description, logo, contact, return address and handling days change at once. Legal name, tax id
and payout country are what staff verified: a change to them becomes a pending
`SupplierProfileChange` and the old values stay in force (invoices, payouts, the public profile)
until staff approve it in the admin; rejecting discards it. Every step is in the audit trail.
"""

from dataclasses import dataclass
from uuid import uuid4

from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Notification, User
from dropship.accounts.services import notify
from dropship.core.audit import diff, record_audit, snapshot
from dropship.core.errors import Conflict, DomainError
from dropship.core.uploads import check_image
from suppliers.models import Supplier, SupplierProfileChange

FREE_FIELDS = (
    "description",
    "contact_email",
    "phone",
    "website",
    "return_address",
    "handling_days",
    "logo",
)
REVIEWED = SupplierProfileChange.REVIEWED_FIELDS
MAX_HANDLING_DAYS = 60


class ProfileError(DomainError):
    status_code = 422


@dataclass(frozen=True)
class ProfileUpdate:
    supplier: Supplier
    pending: SupplierProfileChange | None  # the request now waiting for review, if any


def _clean_reviewed(*, legal_name: str, tax_id: str, payout_country: str) -> dict[str, str]:
    legal_name, tax_id = legal_name.strip(), tax_id.strip().upper()
    payout_country = payout_country.strip().upper()
    if not legal_name:
        raise ProfileError("Enter your legal company name.", field="legal_name")
    if len(legal_name) > 255:
        raise ProfileError("The legal name is at most 255 characters.", field="legal_name")
    if len(tax_id) > 64:
        raise ProfileError("The tax id is at most 64 characters.", field="tax_id")
    if payout_country and (len(payout_country) != 2 or not payout_country.isalpha()):
        raise ProfileError(
            f"“{payout_country[:20]}” is not a two-letter country code (e.g. US, DE).",
            field="payout_country",
        )
    return {"legal_name": legal_name, "tax_id": tax_id, "payout_country": payout_country}


def get_pending_profile_change(*, supplier: Supplier) -> SupplierProfileChange | None:
    return SupplierProfileChange.objects.filter(
        supplier=supplier, status=SupplierProfileChange.Status.PENDING
    ).first()


@transaction.atomic
def update_supplier_profile(
    *,
    supplier: Supplier,
    actor: User,
    description: str,
    contact_email: str,
    phone: str,
    website: str,
    return_address: str,
    handling_days: int,
    legal_name: str,
    tax_id: str,
    payout_country: str,
    logo: "UploadedFile[bytes] | None" = None,  # generic only in the stubs
) -> ProfileUpdate:
    """Check everything first; then save the free fields and, when a reviewed field differs from
    the value in force, file (or replace) the pending request — never change those fields."""
    supplier = Supplier.objects.select_for_update().get(pk=supplier.pk)
    if supplier.status != Supplier.Status.ACTIVE:
        raise ProfileError(
            "Your profile can be edited here once your account is approved and active; until "
            "then, change it in your application."
        )
    contact_email = contact_email.strip().lower()
    if contact_email:
        try:
            validate_email(contact_email)
        except Exception as exc:  # django's ValidationError: one message for the field
            raise ProfileError(
                f"“{contact_email[:60]}” is not an e-mail address.", field="contact_email"
            ) from exc
    if not 0 <= handling_days <= MAX_HANDLING_DAYS:
        raise ProfileError(
            f"Handling time is from 0 to {MAX_HANDLING_DAYS} days.", field="handling_days"
        )
    if len(return_address.strip()) > 1000:
        raise ProfileError("The return address is at most 1000 characters.", field="return_address")
    wanted = _clean_reviewed(legal_name=legal_name, tax_id=tax_id, payout_country=payout_country)
    kind = check_image(logo, field="logo") if logo is not None else None

    before = snapshot(supplier, FREE_FIELDS)
    supplier.description = description.strip()
    supplier.contact_email = contact_email
    supplier.phone = phone.strip()[:32]
    supplier.website = website.strip()
    supplier.return_address = return_address.strip()
    supplier.handling_days = handling_days
    if logo is not None and kind is not None:
        supplier.logo.save(f"{uuid4().hex}{kind.extensions[0]}", logo, save=False)
    supplier.save(update_fields=[*FREE_FIELDS, "updated_at"])
    changes = diff(before, supplier)
    if changes:
        record_audit(
            actor=actor,
            action="supplier.profile_changed",
            target=supplier,
            summary="Profile changed",
            changes=changes,
        )

    requested = {
        field: [getattr(supplier, field), value]
        for field, value in wanted.items()
        if getattr(supplier, field) != value
    }
    pending = get_pending_profile_change(supplier=supplier)
    if requested and (pending is None or pending.changes != requested):
        if pending is not None:
            pending.delete()  # replaced by the newer request (the trail keeps both)
        pending = SupplierProfileChange.objects.create(
            supplier=supplier, changes=requested, requested_by=actor
        )
        record_audit(
            actor=actor,
            action="supplier.profile_change_requested",
            target=supplier,
            summary="Change of " + ", ".join(requested) + " sent for review",
            changes=requested,
        )
    return ProfileUpdate(supplier=supplier, pending=pending)


def _lock_pending(change: SupplierProfileChange) -> SupplierProfileChange:
    change = SupplierProfileChange.objects.select_for_update().get(pk=change.pk)
    if change.status != SupplierProfileChange.Status.PENDING:
        raise Conflict(f"This request was already {change.get_status_display().lower()}.")
    return change


@transaction.atomic
def approve_profile_change(*, change: SupplierProfileChange, actor: User) -> Supplier:
    """Staff approve: the requested values replace the old ones, now."""
    change = _lock_pending(change)
    supplier = Supplier.objects.select_for_update().get(pk=change.supplier_id)
    before = snapshot(supplier, REVIEWED)
    for field in REVIEWED:
        if field in change.changes:
            setattr(supplier, field, change.requested(field))
    supplier.save(update_fields=[*REVIEWED, "updated_at"])
    change.status = SupplierProfileChange.Status.APPROVED
    change.decided_by, change.decided_at = actor, timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    record_audit(
        actor=actor,
        action="supplier.profile_change_approved",
        target=supplier,
        summary="Profile change approved",
        changes=diff(before, supplier),
    )
    notify(
        organisation=supplier,
        kind="profile.change_approved",
        level=Notification.Level.SUCCESS,
        message="Your change of " + ", ".join(change.changes) + " is approved and in force.",
        url=reverse("suppliers:profile_settings"),
    )
    return supplier


@transaction.atomic
def reject_profile_change(
    *, change: SupplierProfileChange, actor: User, reason: str
) -> SupplierProfileChange:
    """Staff reject (with a reason the supplier sees): the old values simply stay."""
    reason = reason.strip()
    if not reason:
        raise ProfileError("Give a reason; the supplier will see it.", field="reason")
    change = _lock_pending(change)
    change.status = SupplierProfileChange.Status.REJECTED
    change.decided_by, change.decided_at = actor, timezone.now()
    change.decision_reason = reason
    change.save(
        update_fields=["status", "decided_by", "decided_at", "decision_reason", "updated_at"]
    )
    record_audit(
        actor=actor,
        action="supplier.profile_change_rejected",
        target=change.supplier,
        summary=f"Profile change rejected: {reason}"[:300],
    )
    notify(
        organisation=change.supplier,
        kind="profile.change_rejected",
        level=Notification.Level.ERROR,
        message=f"Your change of {', '.join(change.changes)} was not approved: {reason}",
        url=reverse("suppliers:profile_settings"),
    )
    return change
