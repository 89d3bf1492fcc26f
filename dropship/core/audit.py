from typing import Any

from django.db import models

from dropship.core.models import AuditLogEntry


def record_audit(
    *, actor: Any, action: str, target: models.Model, summary: str = "", data: dict | None = None
) -> AuditLogEntry:
    """Append one audit row. `actor` may be None for the system (tasks, webhooks)."""
    return AuditLogEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        summary=summary[:500],
        data=data or {},
    )
