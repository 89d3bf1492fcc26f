"""Who the caller works for. Every organisation-scoped read starts from one of these."""

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from dropship.accounts.models import ApiKey, Invitation, Membership, Notification, User
from retailers.models import Retailer
from suppliers.models import Supplier


def get_membership(*, user: User | AnonymousUser) -> Membership | None:
    if not user.is_authenticated:
        return None
    try:
        return Membership.objects.select_related("supplier", "retailer").get(user=user)
    except Membership.DoesNotExist:
        return None


def list_members(*, organisation: Supplier | Retailer) -> QuerySet[Membership]:
    field = "supplier" if isinstance(organisation, Supplier) else "retailer"
    return (
        Membership.objects.filter(**{field: organisation})
        .select_related("user")
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
