"""Writes for accounts: organisations created at signup, invitations, API keys, notifications,
support's read-only "view as" sessions."""

import enum
import ipaddress
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection, send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import (
    ALL_SCOPES,
    VIEW_AS_MIN_REASON_LENGTH,
    ApiKey,
    IdempotencyRecord,
    Invitation,
    Membership,
    Notification,
    OrganisationKind,
    Role,
    User,
    ViewAsSession,
    hash_token,
)
from dropship.accounts.selectors import has_second_factor
from dropship.core.audit import record_audit
from dropship.core.errors import Conflict, DomainError, PermissionDenied
from dropship.core.text import unique_slug
from retailers.models import Retailer
from suppliers.models import Supplier

INVITATION_TTL = timedelta(days=7)
# A key's last use is written at most this often, not on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_ROTATION_GRACE = timedelta(days=30)


class InvitationError(DomainError):
    pass


@transaction.atomic
def create_organisation(*, owner: User, kind: str, name: str) -> Supplier | Retailer:
    """Create a supplier (PENDING until approved) or a retailer with `owner` as its owner."""
    if Membership.objects.filter(user=owner).exists():
        raise Conflict("This account already belongs to an organisation.")
    name = name.strip()
    if not name:
        raise DomainError("Enter your company name.", field="organisation_name")
    if kind == OrganisationKind.SUPPLIER:
        supplier = Supplier.objects.create(
            company_name=name, slug=unique_slug(Supplier, name), contact_email=owner.email
        )
        Membership.objects.create(user=owner, supplier=supplier, role=Role.OWNER)
        return supplier
    if kind == OrganisationKind.RETAILER:
        retailer = Retailer.objects.create(
            business_name=name, slug=unique_slug(Retailer, name), contact_email=owner.email
        )
        Membership.objects.create(user=owner, retailer=retailer, role=Role.OWNER)
        return retailer
    raise DomainError("Choose whether you are a supplier or a retailer.", field="organisation_kind")


def invite_member(*, inviter: User, email: str, role: str = Role.STAFF) -> tuple[Invitation, str]:
    """An owner invites a colleague; returns the invitation and the one-time token emailed to them."""
    membership = getattr(inviter, "membership", None)
    if membership is None or not membership.is_owner:
        raise PermissionDenied("Only an owner can invite people.")
    email = email.strip().lower()
    existing = User.objects.filter(email__iexact=email).select_related("membership").first()
    if existing is not None and hasattr(existing, "membership"):
        raise Conflict(f"{email} already belongs to an organisation.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        organisation_field = "supplier" if membership.supplier_id else "retailer"
        Invitation.objects.filter(
            **{organisation_field: membership.organisation}, email=email, accepted_at__isnull=True
        ).delete()
        invitation = Invitation.objects.create(
            **{organisation_field: membership.organisation},
            email=email,
            role=role,
            token_hash=hash_token(token),
            invited_by=inviter,
            expires_at=timezone.now() + INVITATION_TTL,
        )
        link = settings.SITE_URL + reverse("accounts:accept_invitation", args=[token])
        organisation = membership.organisation
        transaction.on_commit(
            lambda: send_mail(
                subject=f"{inviter.display_name} invited you to {organisation} on Dropship",
                message=(
                    f"You have been invited to join {organisation} on Dropship.\n\n"
                    f"Accept the invitation within 7 days: {link}\n"
                ),
                from_email=None,
                recipient_list=[email],
            )
        )
    return invitation, token


def get_pending_invitation(*, token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("supplier", "retailer")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None or invitation.accepted_at is not None:
        raise InvitationError("This invitation link is not valid or has already been used.")
    if not invitation.is_pending:
        raise InvitationError("This invitation has expired. Ask the owner to send a new one.")
    return invitation


@transaction.atomic
def accept_invitation(*, token: str, user: User) -> Membership:
    invitation = get_pending_invitation(token=token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise InvitationError("This invitation has already been used.")
    if invitation.email.lower() != user.email.lower():
        raise InvitationError(
            f"This invitation was sent to {invitation.email}; sign in with that address."
        )
    if Membership.objects.filter(user=user).exists():
        raise Conflict("Your account already belongs to an organisation.")
    try:
        membership = Membership.objects.create(
            user=user,
            supplier=invitation.supplier,
            retailer=invitation.retailer,
            role=invitation.role,
        )
    except IntegrityError as exc:  # a concurrent acceptance for the same user
        raise Conflict("Your account already belongs to an organisation.") from exc
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    return membership


def _validated_scopes(scopes: list[str] | tuple[str, ...] | None) -> list[str]:
    if scopes is None:
        return list(ALL_SCOPES)
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise DomainError(f"Unknown scope {unknown[0]!r}.", field="scopes")
    if not scopes:
        raise DomainError("Choose at least one scope for the key.", field="scopes")
    return [scope for scope in ALL_SCOPES if scope in scopes]  # one order, no repeats


@transaction.atomic
def create_api_key(
    *,
    organisation: Supplier | Retailer,
    name: str,
    created_by: User | None,
    scopes: list[str] | tuple[str, ...] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key with `scopes` (all of them when None) that stops working at `expires_at`
    (never when None); the returned secret is shown once and never stored."""
    name = name.strip()
    if not name:
        raise DomainError("Give the key a name, e.g. the system that will use it.", field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("The expiry must be in the future.", field="expires_at")
    api_key, secret = _new_key(
        organisation=organisation,
        name=name,
        created_by=created_by,
        scopes=_validated_scopes(scopes),
        expires_at=expires_at,
    )
    record_audit(
        actor=created_by,
        action="api_key.created",
        target=api_key,
        summary=f"API key “{api_key.name}” ({api_key.prefix}…) created",
        data={"scopes": api_key.scopes, "expires_at": _iso(expires_at)},
    )
    return api_key, secret


def _new_key(
    *,
    organisation: Supplier | Retailer,
    name: str,
    created_by: User | None,
    scopes: list[str],
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    kind = (
        OrganisationKind.SUPPLIER
        if isinstance(organisation, Supplier)
        else OrganisationKind.RETAILER
    )
    secret = ApiKey.generate_secret(kind)
    owner = (
        {"supplier": organisation}
        if kind == OrganisationKind.SUPPLIER
        else {"retailer": organisation}
    )
    api_key = ApiKey.objects.create(
        **owner,
        name=name[:100],
        prefix=secret[: ApiKey.PREFIX_LENGTH],
        key_hash=hash_token(secret),
        created_by=created_by,
        scopes=scopes,
        expires_at=expires_at,
    )
    return api_key, secret


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@transaction.atomic
def rotate_api_key(
    *, api_key: ApiKey, grace: timedelta, rotated_by: User | None
) -> tuple[ApiKey, str]:
    """A new key with the same name, scopes and expiry; the old one keeps working for `grace`
    (0: stops now), so the systems using it can switch without an outage. The secret is shown
    once."""
    api_key = (
        ApiKey.objects.select_for_update(of=("self",))
        .select_related("supplier", "retailer")
        .get(pk=api_key.pk)
    )
    if api_key.replaced_by_id is not None:
        raise DomainError("This key was already rotated; rotate its replacement instead.")
    if not api_key.is_active:
        raise DomainError("Only an active key can be rotated; create a new one instead.")
    if grace < timedelta(0) or grace > MAX_ROTATION_GRACE:
        raise DomainError("The grace period is from none to 30 days.", field="grace")
    now = timezone.now()
    new_key, secret = _new_key(
        organisation=api_key.organisation,
        name=api_key.name,
        created_by=rotated_by,
        scopes=list(api_key.scopes),
        expires_at=api_key.expires_at,
    )
    old_until = now + grace
    if api_key.expires_at is not None:
        old_until = min(old_until, api_key.expires_at)
    api_key.expires_at = old_until
    api_key.replaced_by = new_key
    api_key.save(update_fields=["expires_at", "replaced_by", "updated_at"])
    record_audit(
        actor=rotated_by,
        action="api_key.rotated",
        target=api_key,
        summary=(
            f"API key “{api_key.name}” ({api_key.prefix}…) rotated to {new_key.prefix}…; "
            f"the old key works until {old_until:%Y-%m-%d %H:%M} UTC"
        ),
        data={"new_key_id": new_key.pk, "old_key_expires_at": _iso(old_until)},
    )
    return new_key, secret


def revoke_api_key(*, api_key: ApiKey, revoked_by: User | None = None) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
        record_audit(
            actor=revoked_by,
            action="api_key.revoked",
            target=api_key,
            summary=f"API key “{api_key.name}” ({api_key.prefix}…) revoked",
        )
    return api_key


def authenticate_api_key(*, secret: str, ip: str | None = None) -> ApiKey | None:
    """The usable key matching `secret`, with its owner loaded; None for unknown, revoked or
    expired keys. Its last use (time and `ip`) is written at most once a minute."""
    if not secret or len(secret) > 200:
        return None
    now = timezone.now()
    api_key = (
        ApiKey.objects.select_related("supplier", "retailer")
        .filter(key_hash=hash_token(secret), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if api_key is None:
        return None
    ip = _valid_ip(ip)
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now, last_used_ip=ip)
        api_key.last_used_at, api_key.last_used_ip = now, ip
    return api_key


def _valid_ip(ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def notify(
    *,
    organisation: Supplier | Retailer,
    kind: str,
    message: str,
    level: str = Notification.Level.INFO,
    url: str = "",
) -> Notification:
    owner = (
        {"supplier": organisation}
        if isinstance(organisation, Supplier)
        else {"retailer": organisation}
    )
    return Notification.objects.create(
        **owner, kind=kind, message=message[:500], level=level, url=url
    )


@transaction.atomic
def mark_notification_read(*, notification: Notification, user: User) -> Notification:
    """Mark one notification read for the organisation; reading it again keeps the first time
    it was read (and writes nothing)."""
    now = timezone.now()
    if Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now):
        notification.read_at = now
        record_audit(
            actor=user,
            action="notification.read",
            target=notification,
            summary=f"Notification “{notification.message[:80]}” marked read",
        )
    else:
        notification.refresh_from_db(fields=["read_at"])
    return notification


@transaction.atomic
def mark_all_notifications_read(*, organisation: Supplier | Retailer, user: User) -> int:
    """Mark every unread notification of the organisation read, in one UPDATE; how many were."""
    field = "supplier" if isinstance(organisation, Supplier) else "retailer"
    marked = Notification.objects.filter(**{field: organisation}, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    record_audit(
        actor=user,
        action="notification.read_all",
        organisation=organisation,
        target_type="accounts.notification",
        target_id="all",
        summary=f"{marked} notification(s) marked read",
        data={"marked": marked},
    )
    return marked


def email_organisation(*, organisation: Supplier | Retailer, subject: str, message: str) -> None:
    """Email the owners (and the contact address) of an organisation, after the transaction commits."""
    email_organisations(emails=[(organisation, subject, message)])


def email_organisations(*, emails: list[tuple[Supplier | Retailer, str, str]]) -> None:
    """(organisation, subject, message) each to that organisation's owners and contact address:
    one query for all their owners, sent over one mail connection after the transaction commits."""
    if not emails:
        return
    organisations = {(type(org), org.pk): org for org, _, _ in emails}
    recipients: dict[tuple[type, int], set[str]] = {
        key: {org.contact_email} if org.contact_email else set()
        for key, org in organisations.items()
    }
    supplier_ids = [pk for kind, pk in organisations if kind is Supplier]
    retailer_ids = [pk for kind, pk in organisations if kind is not Supplier]
    owners = Membership.objects.filter(role=Role.OWNER).filter(
        Q(supplier_id__in=supplier_ids) | Q(retailer_id__in=retailer_ids)
    )
    for supplier_id, retailer_id, address in owners.values_list(
        "supplier_id", "retailer_id", "user__email"
    ):
        key = (Supplier, supplier_id) if supplier_id else (Retailer, retailer_id)
        if key in recipients and address:
            recipients[key].add(address)
    messages = [
        EmailMessage(subject=subject, body=message, to=sorted(recipients[(type(org), org.pk)]))
        for org, subject, message in emails
        if recipients[(type(org), org.pk)]
    ]
    if messages:
        transaction.on_commit(lambda: get_connection().send_messages(messages))


class MfaRequirementError(DomainError):
    pass


@transaction.atomic
def set_team_mfa_requirement(*, owner: User, is_required: bool) -> bool:
    """An owner requires (or stops requiring) two-factor authentication for the whole team.
    The owner sets it up first, so turning it on never locks them out of this page."""
    membership = Membership.objects.select_related("supplier", "retailer").get(user=owner)
    if not membership.is_owner:
        raise PermissionDenied("Only an owner can change the team's sign-in rules.")
    if is_required and not has_second_factor(user=owner):
        raise MfaRequirementError(
            "Set up two-factor authentication for your own account first, then require it for "
            "the team.",
            field="is_mfa_required",
        )
    organisation = membership.organisation
    if organisation.is_mfa_required != is_required:
        organisation.is_mfa_required = is_required
        organisation.save(update_fields=["is_mfa_required", "updated_at"])
        record_audit(
            actor=owner,
            action="team.mfa_required" if is_required else "team.mfa_optional",
            target=organisation,
            summary=f"Two-factor authentication {'required' if is_required else 'optional'} "
            f"for {organisation}",
            data={"is_mfa_required": {"before": not is_required, "after": is_required}},
        )
    return is_required


# --- idempotency keys of the JSON API -------------------------------------------------------------
class IdempotencyState(enum.Enum):
    NEW = "new"  # the caller's row: answer the call, then record or release it
    REPLAY = "replay"  # answered before: send that answer again
    REUSED = "reused"  # the key was used for another request
    IN_PROGRESS = "in_progress"  # the first call with this key is still being answered


def _organisation_filter(organisation: Supplier | Retailer) -> dict[str, Supplier | Retailer]:
    return (
        {"supplier": organisation}
        if isinstance(organisation, Supplier)
        else {"retailer": organisation}
    )


def claim_idempotency_key(
    *, organisation: Supplier | Retailer, key: str, request_hash: str
) -> tuple[IdempotencyRecord, IdempotencyState]:
    """Claim `key` for this request, or say why not. The claim is committed at once (its own
    transaction) so a concurrent call with the same key sees it and answers 409 rather than
    doing the work twice; the unique constraint decides the race. A row past the TTL is gone
    for good; one left unanswered past API_IDEMPOTENCY_STALE (its process died) is taken over."""
    owner = _organisation_filter(organisation)
    for _ in range(3):  # a row purged or taken over between our insert and our read: again
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    **owner, key=key, request_hash=request_hash, created_at=now
                )
        except IntegrityError:
            record_or_none = IdempotencyRecord.objects.filter(**owner, key=key).first()
            if record_or_none is None:
                continue
            record = record_or_none
        else:
            return record, IdempotencyState.NEW
        if record.created_at <= now - settings.API_IDEMPOTENCY_TTL:
            IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        if record.request_hash != request_hash:
            return record, IdempotencyState.REUSED
        if record.is_answered:
            return record, IdempotencyState.REPLAY
        if record.created_at <= now - settings.API_IDEMPOTENCY_STALE:
            taken = IdempotencyRecord.objects.filter(
                pk=record.pk, status_code__isnull=True, created_at=record.created_at
            ).update(created_at=now)
            if taken:
                record.created_at = now
                return record, IdempotencyState.NEW
        return record, IdempotencyState.IN_PROGRESS
    raise Conflict("This Idempotency-Key is changing hands too fast; try again.")


def record_idempotent_answer(
    *, record: IdempotencyRecord, status_code: int, headers: dict[str, str], body: bytes
) -> None:
    """Keep the answer to replay it; a server error is not kept, so the call can be retried."""
    if status_code >= 500:
        release_idempotency_key(record=record)
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=status_code, response_headers=headers, response_body=body
    )


def release_idempotency_key(*, record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def purge_idempotency_records(*, now: datetime | None = None) -> int:
    """Delete the records past API_IDEMPOTENCY_TTL; safe to run twice."""
    cutoff = (now or timezone.now()) - settings.API_IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted


class ViewAsError(DomainError):
    pass


@transaction.atomic
def start_view_as(
    *, staff_user: User, organisation: Supplier | Retailer, reason: str, minutes: int
) -> ViewAsSession:
    """A platform admin or support agent starts viewing `organisation`'s workspace read-only,
    for a stated reason and at most VIEW_AS_MAX_MINUTES. One view at a time: a view left open
    past its end is closed as expired first; an open one is refused (no nesting)."""
    if not staff_user.can_view_as:
        raise PermissionDenied(
            "Only platform admins and support agents can view a workspace as its organisation."
        )
    reason = reason.strip()
    if len(reason) < VIEW_AS_MIN_REASON_LENGTH:
        raise ViewAsError(
            f"State why you need to see this workspace (at least {VIEW_AS_MIN_REASON_LENGTH} "
            "characters).",
            field="reason",
        )
    maximum = settings.VIEW_AS_MAX_MINUTES
    if not 1 <= minutes <= maximum:
        raise ViewAsError(f"A view lasts from 1 to {maximum} minutes.", field="minutes")
    now = timezone.now()
    unended = (
        ViewAsSession.objects.select_for_update(of=("self",))
        .select_related("supplier", "retailer")
        .filter(staff_user=staff_user, ended_at__isnull=True)
        .first()
    )
    if unended is not None:
        if unended.is_open(now=now):
            raise Conflict(
                f"You are already viewing {unended.organisation}: end that view first.",
                field="reason",
            )
        end_view_as(view_as=unended, ended_by=ViewAsSession.EndedBy.EXPIRED, now=now)
    supplier = organisation if isinstance(organisation, Supplier) else None
    retailer = organisation if isinstance(organisation, Retailer) else None
    try:
        with transaction.atomic():
            view_as = ViewAsSession.objects.create(
                staff_user=staff_user,
                supplier=supplier,
                retailer=retailer,
                reason=reason,
                started_at=now,
                expires_at=now + timedelta(minutes=minutes),
            )
    except IntegrityError as exc:  # a second start from another tab won the race
        raise Conflict("You are already viewing a workspace: end that view first.") from exc
    record_audit(
        actor=staff_user,
        action="view_as.started",
        target=organisation,
        summary=f"Read-only view of {organisation} for {minutes} min: {reason}",
        data={
            "view_as_session": view_as.pk,
            "reason": reason,
            "minutes": minutes,
            "expires_at": view_as.expires_at.isoformat(),
        },
    )
    return view_as


@transaction.atomic
def end_view_as(*, view_as: ViewAsSession, ended_by: str, now: datetime | None = None) -> bool:
    """End a view (the staff member's button, logout, expiry, or their access withdrawn). Safe to
    call twice: only the call that ends it writes the audit entry; an expired view ends at its
    expiry time."""
    now = now or timezone.now()
    ended_at = min(now, view_as.expires_at)
    ended = ViewAsSession.objects.filter(pk=view_as.pk, ended_at__isnull=True).update(
        ended_at=ended_at, ended_by=ended_by
    )
    if not ended:
        return False
    view_as.ended_at, view_as.ended_by = ended_at, ended_by
    record_audit(
        actor=view_as.staff_user,
        action="view_as.ended",
        target=view_as.organisation,
        summary=f"Read-only view of {view_as.organisation} ended "
        f"({ViewAsSession.EndedBy(ended_by).label.lower()})",
        data={"view_as_session": view_as.pk, "ended_by": ended_by},
    )
    return True


def end_expired_view_as(*, now: datetime | None = None, limit: int = 500) -> int:
    """Views whose time ran out while their staff member made no request (the middleware ends
    the others): ended as expired, each with its audit entry. Beat runs it; safe to run twice."""
    now = now or timezone.now()
    expired = ViewAsSession.objects.select_related("staff_user", "supplier", "retailer").filter(
        ended_at__isnull=True, expires_at__lte=now
    )[:limit]
    return sum(
        end_view_as(view_as=view_as, ended_by=ViewAsSession.EndedBy.EXPIRED, now=now)
        for view_as in expired
    )
