"""Suspending a retailer (platform admins): its new orders are held, not routed, and it sees
why; activated again, the held orders are routed.

Routing is the order pipeline's, a layer above: this records the retailer's status and, on
activation, asks for the pipeline's task by name after commit (beat's sweep of
`orders.tasks.release_account_holds_task` picks up anything a lost message left)."""

from __future__ import annotations

from celery import current_app
from django.db import transaction

from dropship.accounts.models import Notification, User
from dropship.accounts.services import notify
from dropship.core.audit import record_audit
from retailers.models import Retailer

RELEASE_TASK = "orders.tasks.release_account_holds_task"


@transaction.atomic
def set_retailer_suspension(
    *, retailer: Retailer, suspended: bool, reason: str = "", actor: User | None = None
) -> bool:
    """Suspend (with a reason the retailer reads) or activate a retailer. True when it changed."""
    retailer = Retailer.objects.select_for_update().get(pk=retailer.pk)
    status = Retailer.Status.SUSPENDED if suspended else Retailer.Status.ACTIVE
    if retailer.status == status:
        return False
    retailer.status = status
    retailer.suspension_reason = reason.strip()[:300] if suspended else ""
    retailer.save(update_fields=["status", "suspension_reason", "updated_at"])
    record_audit(
        actor=actor,
        action="retailer.suspended" if suspended else "retailer.activated",
        target=retailer,
        summary=f"Suspended: {retailer.suspension_reason}" if suspended else "Activated again",
    )
    notify(
        organisation=retailer,
        kind="retailer.suspended" if suspended else "retailer.activated",
        message=(
            "Your account is suspended"
            + (f": {retailer.suspension_reason}" if retailer.suspension_reason else "")
            + ". New orders are held, not sent to suppliers, until it is active again."
        )
        if suspended
        else "Your account is active again: held orders are being sent to suppliers.",
        level=Notification.Level.ERROR if suspended else Notification.Level.SUCCESS,
    )
    if not suspended:
        # By name: a signature runs through the registered task (so eager mode applies too).
        transaction.on_commit(current_app.signature(RELEASE_TASK, args=(retailer.pk,)).delay)
    return True
