import hashlib
import secrets
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from dropship.accounts.roles import PLATFORM_ADMIN as PLATFORM_ADMIN_GROUP
from dropship.accounts.roles import SUPPORT_AGENT as SUPPORT_AGENT_GROUP
from dropship.core.models import TimeStampedModel


def exactly_one_organisation(prefix: str) -> models.CheckConstraint:
    """Rows that belong to an organisation point at a supplier or a retailer, never both or neither."""
    return models.CheckConstraint(
        name=f"{prefix}_exactly_one_organisation",
        condition=Q(supplier__isnull=False, retailer__isnull=True)
        | Q(supplier__isnull=True, retailer__isnull=False),
    )


# API key scopes: an area and an access, `orders:read`; write does not imply read.
SCOPE_AREAS = ("catalog", "stock", "orders", "stores", "billing")
SCOPE_ACCESSES = ("read", "write")
ALL_SCOPES = tuple(f"{area}:{access}" for area in SCOPE_AREAS for access in SCOPE_ACCESSES)
READ_SCOPES = tuple(scope for scope in ALL_SCOPES if scope.endswith(":read"))
SUPPLIER_FULFILMENT_SCOPES = (
    "catalog:read",
    "stock:read",
    "stock:write",
    "orders:read",
    "orders:write",
)
RETAILER_ORDER_SCOPES = ("catalog:read", "orders:read", "orders:write", "stores:read")


def all_scopes() -> list[str]:
    """A key made before scopes existed, or without a choice, may do everything it could."""
    return list(ALL_SCOPES)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person. Logs in by email; belongs to at most one organisation through `membership`."""

    username = None  # type: ignore[assignment]  # email login: Django documents removing the field
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # The stubs expect Django's username-based manager; ours creates users by email.
    objects = UserManager()  # type: ignore[assignment,misc]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    @property
    def is_platform_admin(self) -> bool:
        return self.is_superuser or (self.is_staff and self._in_group(PLATFORM_ADMIN_GROUP))

    @property
    def is_support_agent(self) -> bool:
        return self.is_staff and self._in_group(SUPPORT_AGENT_GROUP)

    @property
    def can_view_as(self) -> bool:
        """Platform admins and support agents may view a workspace read-only ("view as")."""
        return self.is_active and (self.is_platform_admin or self.is_support_agent)

    def _in_group(self, name: str) -> bool:
        cache = self.__dict__.setdefault("_group_names", None)
        if cache is None:
            cache = set(self.groups.values_list("name", flat=True))
            self.__dict__["_group_names"] = cache
        return name in cache


class Role(models.TextChoices):
    OWNER = "OWNER", "Owner"
    STAFF = "STAFF", "Staff"


class OrganisationKind(models.TextChoices):
    SUPPLIER = "SUPPLIER", "Supplier"
    RETAILER = "RETAILER", "Retailer"


class Membership(TimeStampedModel):
    """The one organisation a user works for, and their role in it."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    supplier = models.ForeignKey(
        "suppliers.Supplier",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    retailer = models.ForeignKey(
        "retailers.Retailer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)

    class Meta:
        constraints = [
            exactly_one_organisation("membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organisation} ({self.get_role_display()})"

    @property
    def organisation(self):
        return self.supplier or self.retailer

    @property
    def kind(self) -> str:
        return OrganisationKind.SUPPLIER if self.supplier_id else OrganisationKind.RETAILER

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(TimeStampedModel):
    """An owner invites a colleague by email; the emailed token is stored only as a hash."""

    supplier = models.ForeignKey(
        "suppliers.Supplier",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    retailer = models.ForeignKey(
        "retailers.Retailer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            exactly_one_organisation("invitation"),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def organisation(self):
        return self.supplier or self.retailer

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class ApiKey(TimeStampedModel):
    """A bearer key for the JSON API, owned by a supplier or a retailer.

    Only the prefix (shown in lists) and a SHA-256 hash of the whole key are stored; the key itself
    is shown once, when created.
    """

    PREFIX_LENGTH = 8

    supplier = models.ForeignKey(
        "suppliers.Supplier",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    retailer = models.ForeignKey(
        "retailers.Retailer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scopes = models.JSONField(default=all_scopes, help_text='e.g. ["orders:read"]')
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Calls fail with 401 from then on; empty: never."
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaces",
        help_text="The key this one was rotated to; this one works until it expires.",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            exactly_one_organisation("api_key"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def kind(self) -> str:
        return OrganisationKind.SUPPLIER if self.supplier_id else OrganisationKind.RETAILER

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    @property
    def organisation(self):
        return self.supplier or self.retailer

    @staticmethod
    def generate_secret(kind: str) -> str:
        """`dsk_` for supplier keys, `drk_` for retailer keys, then 40 random URL-safe characters."""
        return (
            f"{'dsk' if kind == OrganisationKind.SUPPLIER else 'drk'}_{secrets.token_urlsafe(30)}"
        )


class IdempotencyRecord(models.Model):
    """The first answer to a write call sent with an `Idempotency-Key`, replayed when the same
    organisation sends the same key and request again (dropship/api_idempotency.py).

    One row per organisation and key (a supplier's and a retailer's keys never meet). A row without
    a status is a call still being answered; answers of 5xx are not kept (the row is deleted so
    the call can be tried again). Rows older than API_IDEMPOTENCY_TTL are purged by a task.
    """

    supplier = models.ForeignKey(
        "suppliers.Supplier", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    retailer = models.ForeignKey(
        "retailers.Retailer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    created_at = models.DateTimeField(db_index=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.BinaryField(default=b"", blank=True)

    class Meta:
        verbose_name = "idempotency record"
        constraints = [
            exactly_one_organisation("idempotency"),
            models.UniqueConstraint(
                fields=["supplier", "key"],
                condition=Q(supplier__isnull=False),
                name="idempotency_key_unique_per_supplier",
            ),
            models.UniqueConstraint(
                fields=["retailer", "key"],
                condition=Q(retailer__isnull=False),
                name="idempotency_key_unique_per_retailer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'in progress'})"

    @property
    def is_answered(self) -> bool:
        return self.status_code is not None


class Notification(TimeStampedModel):
    """A message on an organisation's dashboard (low stock, review decision, sync errors ...)."""

    class Level(models.TextChoices):
        INFO = "INFO", "Info"
        SUCCESS = "SUCCESS", "Success"
        WARNING = "WARNING", "Warning"
        ERROR = "ERROR", "Error"

    supplier = models.ForeignKey(
        "suppliers.Supplier",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    retailer = models.ForeignKey(
        "retailers.Retailer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    kind = models.CharField(max_length=64, db_index=True)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            exactly_one_organisation("notification"),
        ]
        # The unread count is asked on every page (the navigation's badge): these keep it an
        # index-only count of the few unread rows, however many read ones pile up.
        indexes = [
            models.Index(
                fields=["supplier"],
                condition=models.Q(read_at__isnull=True, supplier__isnull=False),
                name="notification_unread_supplier",
            ),
            models.Index(
                fields=["retailer"],
                condition=models.Q(read_at__isnull=True, retailer__isnull=False),
                name="notification_unread_retailer",
            ),
        ]

    def __str__(self) -> str:
        return self.message


VIEW_AS_MIN_REASON_LENGTH = 15


class ViewAsSession(models.Model):
    """A staff member viewing a supplier's or retailer's workspace read-only ("view as").

    Open while `ended_at` is empty and `expires_at` is ahead; a staff member has at most one open
    at a time (the database says so). Written only by accounts.services; the admin lists them.
    """

    class EndedBy(models.TextChoices):
        STAFF = "STAFF", "Ended by staff"
        EXPIRED = "EXPIRED", "Expired"
        LOGOUT = "LOGOUT", "Logged out"
        ACCESS = "ACCESS", "Staff access withdrawn"

    staff_user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    supplier = models.ForeignKey(
        "suppliers.Supplier", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    retailer = models.ForeignKey(
        "retailers.Retailer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField()
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=10, choices=EndedBy.choices, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "view-as session"
        constraints = [
            exactly_one_organisation("view_as_session"),
            models.UniqueConstraint(
                fields=["staff_user"],
                condition=Q(ended_at__isnull=True),
                name="view_as_session_one_open_per_staff_user",
            ),
            models.CheckConstraint(
                name="view_as_session_expires_after_start",
                condition=Q(expires_at__gt=models.F("started_at")),
            ),
            models.CheckConstraint(
                name="view_as_session_has_reason",
                condition=GreaterThanOrEqual(Length("reason"), VIEW_AS_MIN_REASON_LENGTH),
            ),
            models.CheckConstraint(
                name="view_as_session_ended_with_how",
                condition=Q(ended_at__isnull=True, ended_by="")
                | Q(ended_at__isnull=False) & ~Q(ended_by=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff_user} viewing {self.organisation}"

    @property
    def organisation(self):
        return self.supplier or self.retailer

    def is_open(self, *, now=None) -> bool:
        return self.ended_at is None and self.expires_at > (now or timezone.now())

    def as_membership(self) -> Membership:
        """The membership the staff member's requests resolve to: an unsaved member without the
        owner's rights (writes are refused before any view runs: dropship/accounts/view_as.py)."""
        membership = Membership(supplier=self.supplier, retailer=self.retailer, role=Role.STAFF)
        membership.user_id = self.staff_user_id
        return membership
