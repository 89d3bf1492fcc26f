"""The audit trail: who did what to which object, when, from where (docs/architecture.md, Audit).

Services call `record_audit` for the actions people ask about later, with the before/after of the
fields they changed (`snapshot` before, `diff` after). Who acts, their organisation, the IP
address and the request or task id come from the audit context, set once per request by
`AuditContextMiddleware`, refined by the API's authentication (the key, its organisation), and
set by webhook processing and tasks (the system, acting for a store's retailer). Services never
thread them by hand.

Whatever a request, admin page or processed webhook changed without a service entry still gets
one, written by whoever opened the context (`context.entries == 0` at its end), so no change
escapes the trail. Every entry is one INSERT (a batch: one bulk INSERT) with no extra SELECT.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from dropship.accounts.access import membership_of
from dropship.core.append_only import purge_permission
from dropship.core.models import AuditLogEntry

ActorKind = AuditLogEntry.ActorKind

# Field names whose values never enter the trail: only that they changed.
_SECRET_MARKERS = ("password", "secret", "token", "key_hash", "credential", "otp")
REDACTED = "(changed, not shown)"


@dataclass
class AuditContext:
    """Who is acting right now, for whom, from where. One per request, task or webhook."""

    actor_kind: str = ActorKind.SYSTEM
    user: Any = None
    api_key: Any = None
    supplier_id: int | None = None
    retailer_id: int | None = None
    ip_address: str | None = None
    request_id: str = ""
    request: HttpRequest | None = field(default=None, repr=False)
    entries: int = 0  # entries written inside this context

    def resolve_actor(self) -> tuple[str, Any, Any, str]:
        """(kind, user, api key, label); for a request, read when the first entry is written
        (the API authenticates inside the view, a signup or login changes the user)."""
        if self.api_key is not None:
            key = self.api_key
            return ActorKind.API_KEY, None, key, f"API key “{key.name}” ({key.prefix}…)"
        user = self.user
        if user is None and self.request is not None:
            user = getattr(self.request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return ActorKind.USER, user, None, user.email
        if self.request is not None:
            return ActorKind.ANONYMOUS, None, None, "anonymous visitor"
        return ActorKind.SYSTEM, None, None, "system"

    def resolve_organisation(self) -> tuple[int | None, int | None]:
        """(supplier id, retailer id) of the acting organisation, if any."""
        if self.supplier_id or self.retailer_id:
            return self.supplier_id, self.retailer_id
        user = getattr(self.request, "user", None)
        if self.request is None or user is None or not user.is_authenticated:
            return None, None
        membership = membership_of(self.request)  # read once per request, cached on it
        if membership is not None:
            self.supplier_id, self.retailer_id = membership.supplier_id, membership.retailer_id
        return self.supplier_id, self.retailer_id


_current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def current_audit_context() -> AuditContext | None:
    return _current.get()


@contextmanager
def audit_context(**fields: Any) -> Iterator[AuditContext]:
    """Run the block as `fields` say (see AuditContext); the previous context comes back after."""
    context = AuditContext(**fields)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def enter_audit_context(**fields: Any) -> Token[AuditContext | None]:
    """For hooks that open and close in two calls (Celery's task signals); see audit_context."""
    return _current.set(AuditContext(**fields))


def leave_audit_context(token: Token[AuditContext | None]) -> None:
    _current.reset(token)


def acting_for_store(*, retailer_id: int | None, request_id: str) -> Any:
    """Webhooks and tasks acting for a store: the system, on its retailer's trail."""
    return audit_context(retailer_id=retailer_id, request_id=request_id[:64])


def attach_api_caller(*, api_key: Any, supplier_id: int | None, retailer_id: int | None) -> None:
    """The API's authentication says who calls: a key (else the session's user) and for whom."""
    context = _current.get()
    if context is not None:
        context.api_key = api_key
        context.supplier_id, context.retailer_id = supplier_id, retailer_id


def new_request_id(header: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a fresh one."""
    if header and len(header) <= 64 and header.replace("-", "").replace("_", "").isalnum():
        return header
    return uuid.uuid4().hex


# --- before / after --------------------------------------------------------------------------
def snapshot_value(value: Any) -> Any:
    """A value as the trail stores it: JSON types, objects as their primary key."""
    if isinstance(value, models.QuerySet):
        return sorted(value.values_list("pk", flat=True))
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The values of `fields` (attribute names; a foreign key as `<name>_id`) before a change."""
    return {name: _jsonable(getattr(instance, name)) for name in fields}


def diff(before: dict[str, Any], instance: models.Model) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields of `before` whose value changed on `instance`."""
    return pair_changes(before, snapshot(instance, before))


def pair_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for name, new in after.items():
        old = before.get(name)
        if _jsonable(old) != _jsonable(new):
            changes[name] = [REDACTED, REDACTED] if _is_secret(name) else [old, new]
    return {name: [_jsonable(old), _jsonable(new)] for name, (old, new) in changes.items()}


# --- writing -----------------------------------------------------------------------------------
def _organisation_ids(target: models.Model | None, organisation: Any) -> tuple[Any, Any]:
    """The organisation an entry belongs to: the one given, else the acting one, else the
    target's own (itself, its supplier/retailer column, or its loaded store's retailer),
    without reading anything."""
    if organisation is not None:
        label = organisation._meta.label_lower
        return (
            organisation.pk if label == "suppliers.supplier" else None,
            organisation.pk if label == "retailers.retailer" else None,
        )
    context = _current.get()
    if context is not None:
        supplier_id, retailer_id = context.resolve_organisation()
        if supplier_id or retailer_id:
            return supplier_id, retailer_id
    if target is None:
        return None, None
    label = target._meta.label_lower
    if label == "suppliers.supplier":
        return target.pk, None
    if label == "retailers.retailer":
        return None, target.pk
    supplier_id, retailer_id = (
        getattr(target, "supplier_id", None),
        getattr(target, "retailer_id", None),
    )
    store = target._state.fields_cache.get("store")  # a store already loaded, never a query
    if not (supplier_id or retailer_id) and store is not None:
        retailer_id = store.retailer_id
    return supplier_id, retailer_id


def build_audit_entry(
    *,
    actor: Any = None,
    action: str,
    target: models.Model | None = None,
    summary: str = "",
    data: dict | None = None,
    changes: dict[str, list[Any]] | None = None,
    organisation: Any = None,
    target_type: str = "",
    target_id: str = "",
) -> AuditLogEntry:
    """An unsaved entry (record_audit saves one, record_audit_entries a batch)."""
    context = _current.get()
    kind: str
    if getattr(actor, "is_authenticated", False):
        kind, user, api_key, label = ActorKind.USER, actor, None, actor.email
    elif context is not None:
        kind, user, api_key, label = context.resolve_actor()
    else:
        kind, user, api_key, label = ActorKind.SYSTEM, None, None, "system"
    supplier_id, retailer_id = _organisation_ids(target, organisation)
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    return AuditLogEntry(
        actor_kind=kind,
        actor=user,
        api_key=api_key,
        actor_label=label[:200],
        supplier_id=supplier_id,
        retailer_id=retailer_id,
        action=action[:64],
        target_type=target_type[:64],
        target_id=str(target_id)[:64],
        summary=summary[:500],
        data=data or {},
        changes=changes or {},
        ip_address=context.ip_address if context is not None else None,
        request_id=context.request_id if context is not None else "",
    )


def record_audit(
    *,
    actor: Any = None,
    action: str,
    target: models.Model | None = None,
    summary: str = "",
    data: dict | None = None,
    changes: dict[str, list[Any]] | None = None,
    organisation: Any = None,
    target_type: str = "",
    target_id: str = "",
) -> AuditLogEntry:
    """Append one audit row. `actor` None: whoever the audit context says acts (the system in
    tasks and webhooks). `changes`: {field: [before, after]} (see `diff`). `organisation`: the
    supplier or retailer whose trail it joins, when neither the context nor the target says."""
    entry = build_audit_entry(
        actor=actor,
        action=action,
        target=target,
        summary=summary,
        data=data,
        changes=changes,
        organisation=organisation,
        target_type=target_type,
        target_id=target_id,
    )
    entry.save(force_insert=True)
    _count(1)
    return entry


def record_audit_entries(entries: list[AuditLogEntry]) -> list[AuditLogEntry]:
    """A batch of `build_audit_entry` results in one INSERT."""
    created = AuditLogEntry.objects.bulk_create(entries)
    _count(len(created))
    return created


def _count(number: int) -> None:
    context = _current.get()
    if context is not None:
        context.entries += number


# --- retention -----------------------------------------------------------------------------------
def purge_audit_entries(*, now: Any = None, batch_size: int = 5_000) -> int:
    """Delete entries older than AUDIT_RETENTION_DAYS, the one deletion the trigger allows.
    Batches keep each transaction short; running twice deletes nothing more."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic(), purge_permission(before=cutoff):
            ids = list(
                AuditLogEntry.objects.filter(created_at__lt=cutoff)
                .order_by("id")
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            count, _ = AuditLogEntry.objects.filter(id__in=ids).delete()
            deleted += count
