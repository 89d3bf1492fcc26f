"""Writes for suppliers. Review decisions are recorded with who, when and why, and the supplier is told."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Notification, User
from dropship.accounts.services import email_organisation, notify
from dropship.core.audit import record_audit
from dropship.core.errors import DomainError
from suppliers.models import Supplier, SupplierStatusChange

Status = Supplier.Status

# (from, to) pairs a review decision may make.
_ALLOWED_TRANSITIONS = {
    "approve": {Status.PENDING: Status.ACTIVE, Status.REJECTED: Status.ACTIVE},
    "reject": {Status.PENDING: Status.REJECTED},
    "suspend": {Status.ACTIVE: Status.SUSPENDED},
    "reinstate": {Status.SUSPENDED: Status.ACTIVE},
}


class SupplierTransitionError(DomainError):
    pass


def allowed_review_decisions(*, supplier: Supplier) -> list[str]:
    """The review decisions ("approve", "reject", "suspend", "reinstate") its status allows now."""
    return [
        decision for decision, moves in _ALLOWED_TRANSITIONS.items() if supplier.status in moves
    ]


def _transition(
    *, supplier: Supplier, decision: str, actor: User | None, reason: str = ""
) -> Supplier:
    supplier = Supplier.objects.select_for_update().get(pk=supplier.pk)
    target = _ALLOWED_TRANSITIONS[decision].get(supplier.status)
    if target is None:
        past = decision[:-1] + "ed" if decision.endswith("e") else decision + "ed"
        raise SupplierTransitionError(
            f"{supplier.company_name} is {supplier.get_status_display().lower()}; it cannot be {past}."
        )
    previous = supplier.status
    supplier.status = target
    supplier.status_reason = reason.strip()
    fields = ["status", "status_reason", "updated_at"]
    if target == Status.ACTIVE and decision == "approve":
        supplier.approved_at = timezone.now()
        fields.append("approved_at")
    supplier.save(update_fields=fields)
    SupplierStatusChange.objects.create(
        supplier=supplier,
        from_status=previous,
        to_status=target,
        reason=supplier.status_reason,
        actor=actor,
    )
    record_audit(actor=actor, action=f"supplier.{decision}", target=supplier, summary=reason[:500])
    return supplier


def _require_reason(reason: str, decision: str) -> str:
    if not reason or not reason.strip():
        raise SupplierTransitionError(
            f"Give a reason to {decision} a supplier; the supplier will see it.", field="reason"
        )
    return reason.strip()


@transaction.atomic
def approve_supplier(*, supplier: Supplier, actor: User | None) -> Supplier:
    supplier = _transition(supplier=supplier, decision="approve", actor=actor)
    notify(
        organisation=supplier,
        kind="review.approved",
        level=Notification.Level.SUCCESS,
        message="Your supplier account is approved: your active products are now visible to retailers.",
    )
    email_organisation(
        organisation=supplier,
        subject="Your Dropship supplier account is approved",
        message="Good news: your account is approved and your active products are now visible to retailers.",
    )
    return supplier


@transaction.atomic
def reject_supplier(*, supplier: Supplier, actor: User | None, reason: str) -> Supplier:
    reason = _require_reason(reason, "reject")
    supplier = _transition(supplier=supplier, decision="reject", actor=actor, reason=reason)
    notify(
        organisation=supplier,
        kind="review.rejected",
        level=Notification.Level.ERROR,
        message=f"Your application was not approved: {reason}",
        url=reverse("suppliers:dashboard"),
    )
    email_organisation(
        organisation=supplier,
        subject="Your Dropship supplier application needs changes",
        message=f"Your application was not approved for this reason:\n\n{reason}\n\n"
        "You can correct your details and submit again from your dashboard.",
    )
    return supplier


@transaction.atomic
def suspend_supplier(*, supplier: Supplier, actor: User | None, reason: str) -> Supplier:
    reason = _require_reason(reason, "suspend")
    supplier = _transition(supplier=supplier, decision="suspend", actor=actor, reason=reason)
    notify(
        organisation=supplier,
        kind="review.suspended",
        level=Notification.Level.ERROR,
        message=f"Your account is suspended: {reason}",
    )
    email_organisation(
        organisation=supplier,
        subject="Your Dropship supplier account is suspended",
        message=f"Your account is suspended and your products are hidden from retailers:\n\n{reason}",
    )
    return supplier


@transaction.atomic
def reinstate_supplier(*, supplier: Supplier, actor: User | None) -> Supplier:
    supplier = _transition(supplier=supplier, decision="reinstate", actor=actor)
    notify(
        organisation=supplier,
        kind="review.reinstated",
        level=Notification.Level.SUCCESS,
        message="Your account is active again.",
    )
    email_organisation(
        organisation=supplier,
        subject="Your Dropship supplier account is active again",
        message="Your account has been reinstated; your active products are visible to retailers again.",
    )
    return supplier


@transaction.atomic
def submit_supplier_for_review(*, supplier: Supplier, actor: User | None) -> Supplier:
    """Onboarding's last step, and resubmission after a rejection: back to PENDING for review."""
    supplier = Supplier.objects.select_for_update().get(pk=supplier.pk)
    if supplier.status not in (Status.PENDING, Status.REJECTED):
        raise SupplierTransitionError(
            "Only a pending or rejected application can be submitted for review."
        )
    previous = supplier.status
    supplier.status = Status.PENDING
    supplier.status_reason = ""
    supplier.submitted_at = timezone.now()
    supplier.onboarding_step = Supplier.OnboardingStep.SUBMITTED
    supplier.save(
        update_fields=["status", "status_reason", "submitted_at", "onboarding_step", "updated_at"]
    )
    SupplierStatusChange.objects.create(
        supplier=supplier,
        from_status=previous,
        to_status=Status.PENDING,
        reason="Submitted for review",
        actor=actor,
    )
    return supplier
