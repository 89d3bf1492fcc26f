"""Writes for the inbound webhook inbox and outbound pushes."""

from django.db import transaction

from dropship.accounts.models import User
from dropship.core.audit import record_audit
from dropship.core.errors import DomainError
from integrations.models import InboundWebhook


class WebhookReplayError(DomainError):
    pass


@transaction.atomic
def mark_webhook_for_replay(
    *, webhook: InboundWebhook, actor: User | None = None
) -> InboundWebhook:
    """Put a processed or failed webhook back in the inbox (status RECEIVED) to be processed again.

    The inbox sweeper enqueues RECEIVED rows, so the replay survives a crash like any delivery;
    processing is idempotent, so replaying an event that was handled changes nothing twice.
    """
    webhook = InboundWebhook.objects.select_for_update().get(pk=webhook.pk)
    label = f"{webhook.get_source_display()} {webhook.topic} webhook #{webhook.pk}"
    if webhook.status == InboundWebhook.Status.RECEIVED:
        raise WebhookReplayError(f"{label} is already waiting to be processed.")
    if webhook.status == InboundWebhook.Status.PROCESSING:
        raise WebhookReplayError(
            f"{label} is being processed right now; replay it once it has finished or failed."
        )
    previous = webhook.status
    webhook.status = InboundWebhook.Status.RECEIVED
    webhook.processed_at = None
    webhook.save(update_fields=["status", "processed_at", "updated_at"])
    record_audit(
        actor=actor,
        action="webhook.replay",
        target=webhook,
        summary=f"{label} replayed (was {previous})",
        data={"previous_status": previous, "last_error": webhook.last_error[:500]},
    )
    return webhook
