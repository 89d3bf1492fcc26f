"""Who the caller works for. Every organisation-scoped read starts from one of these."""

from datetime import date, datetime, time, timedelta

from allauth.mfa.models import Authenticator
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from dropship.accounts.models import (
    ApiKey,
    Invitation,
    Membership,
    Notification,
    User,
    ViewAsSession,
)
from dropship.core.models import AuditLogEntry
from retailers.models import Retailer
from suppliers.models import Supplier


def get_membership(*, user: User | AnonymousUser) -> Membership | None:
    if not user.is_authenticated:
        return None
    try:
        return Membership.objects.select_related("supplier", "retailer").get(user=user)
    except Membership.DoesNotExist:
        return None


# Authenticators that are a second factor by themselves (recovery codes only back them up).
SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def _second_factors(user_ref: OuterRef | int) -> QuerySet[Authenticator]:
    # allauth ships no types: the annotation says what its manager returns.
    authenticators: QuerySet[Authenticator] = Authenticator.objects.filter(
        user_id=user_ref, type__in=SECOND_FACTOR_TYPES
    )
    return authenticators


def has_second_factor(*, user: User) -> bool:
    """Whether the user set up an authenticator app or a security key / passkey."""
    return _second_factors(user.pk).exists()


def list_members(*, organisation: Supplier | Retailer) -> QuerySet[Membership]:
    """The team, each member with `has_mfa` (whether they set up a second factor)."""
    field = "supplier" if isinstance(organisation, Supplier) else "retailer"
    return (
        Membership.objects.filter(**{field: organisation})
        .select_related("user")
        .annotate(has_mfa=Exists(_second_factors(OuterRef("user_id"))))
        .order_by("role", "user__email")
    )


def list_pending_invitations(*, organisation: Supplier | Retailer) -> QuerySet[Invitation]:
    field = "supplier" if isinstance(organisation, Supplier) else "retailer"
    return Invitation.objects.filter(**{field: organisation}, accepted_at__isnull=True).order_by(
        "-created_at"
    )


def list_api_keys(*, organisation: Supplier | Retailer) -> QuerySet[ApiKey]:
    field = "supplier" if isinstance(organisation, Supplier) else "retailer"
    return ApiKey.objects.filter(**{field: organisation}).order_by("revoked_at", "-created_at")


def get_api_key_for_organisation(*, organisation: Supplier | Retailer, api_key_id: int) -> ApiKey:
    return list_api_keys(organisation=organisation).get(pk=api_key_id)


def list_recent_notifications(
    *, organisation: Supplier | Retailer, limit: int = 10
) -> list[Notification]:
    field = "supplier" if isinstance(organisation, Supplier) else "retailer"
    return list(
        Notification.objects.filter(**{field: organisation}).order_by("-created_at", "-id")[:limit]
    )


def _organisation_notifications(organisation: Supplier | Retailer) -> QuerySet[Notification]:
    field = "supplier" if isinstance(organisation, Supplier) else "retailer"
    return Notification.objects.filter(**{field: organisation})


def list_notifications(*, organisation: Supplier | Retailer) -> QuerySet[Notification]:
    """The notification centre: every notification of the organisation, newest first."""
    return _organisation_notifications(organisation).order_by("-created_at", "-id")


def count_unread_notifications(*, organisation: Supplier | Retailer) -> int:
    """The navigation's badge: one COUNT on the partial index of unread rows."""
    return _organisation_notifications(organisation).filter(read_at__isnull=True).count()


def get_notification_for_organisation(
    *, organisation: Supplier | Retailer, notification_id: int
) -> Notification:
    """One of the organisation's notifications; another organisation's is a 404."""
    return get_object_or_404(_organisation_notifications(organisation), pk=notification_id)


def get_unended_view_as(*, staff_user: User, view_as_id: int) -> ViewAsSession | None:
    """The staff member's view-as session of that id if it was not ended (it may have expired:
    the caller ends it then)."""
    return (
        ViewAsSession.objects.select_related("supplier", "retailer")
        .filter(pk=view_as_id, staff_user=staff_user, ended_at__isnull=True)
        .first()
    )


def _organisation_trail(organisation: Supplier | Retailer) -> QuerySet[AuditLogEntry]:
    field = "supplier" if isinstance(organisation, Supplier) else "retailer"
    return AuditLogEntry.objects.filter(**{field: organisation})


def list_audit_entries_for_organisation(
    *,
    organisation: Supplier | Retailer,
    actor: str = "",
    action: str = "",
    target_type: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditLogEntry]:
    """The organisation's own trail, newest first; the dates are whole days, both included."""
    entries = _organisation_trail(organisation)
    if actor:
        entries = entries.filter(actor_label=actor)
    if action:
        entries = entries.filter(action=action)
    if target_type:
        entries = entries.filter(target_type=target_type)
    zone = timezone.get_current_timezone()
    if since is not None:
        entries = entries.filter(created_at__gte=datetime.combine(since, time.min, tzinfo=zone))
    if until is not None:
        next_day = datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone)
        entries = entries.filter(created_at__lt=next_day)
    return entries.order_by("-created_at", "-id")


def list_audit_filter_values(*, organisation: Supplier | Retailer) -> dict[str, list[str]]:
    """The actors, actions and object types that occur in the organisation's trail."""
    trail = _organisation_trail(organisation).order_by()
    return {
        name: sorted(value for value in trail.values_list(name, flat=True).distinct() if value)
        for name in ("actor_label", "action", "target_type")
    }
