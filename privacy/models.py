"""Personal data requests: exports people download, erasures they asked for, and the shopper
requests support executed (docs/privacy.md)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dropship.core.models import TimeStampedModel
from dropship.core.storage import private_storage


class DataExport(TimeStampedModel):
    """A ZIP of everything we hold about a user, or about an organisation (asked by its owner).

    Built by a task into private storage; only the user who asked may download it, until
    `expires_at`, after which the file is deleted."""

    class Scope(models.TextChoices):
        USER = "USER", "My personal data"
        ORGANISATION = "ORGANISATION", "Organisation data"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Waiting"
        RUNNING = "RUNNING", "Being prepared"
        READY = "READY", "Ready to download"
        FAILED = "FAILED", "Failed"
        EXPIRED = "EXPIRED", "Expired"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    scope = models.CharField(max_length=12, choices=Scope.choices)
    supplier = models.ForeignKey(
        "suppliers.Supplier", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    retailer = models.ForeignKey(
        "retailers.Retailer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent built.")
    file = models.FileField(storage=private_storage, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="data_export_scope_matches_organisation",
                condition=Q(scope="USER", supplier__isnull=True, retailer__isnull=True)
                | Q(scope="ORGANISATION", supplier__isnull=False, retailer__isnull=True)
                | Q(scope="ORGANISATION", supplier__isnull=True, retailer__isnull=False),
            ),
            models.CheckConstraint(
                name="data_export_progress_percent", condition=Q(progress__lte=100)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} export for {self.requested_by_id}"

    @property
    def organisation(self):
        return self.supplier or self.retailer

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)

    @property
    def is_downloadable(self) -> bool:
        return (
            self.status == self.Status.READY
            and bool(self.file)
            and self.expires_at is not None
            and self.expires_at > timezone.now()
        )


class Erasure(models.Model):
    """An account or an organisation whose personal data was erased at its owner's request;
    one row per subject (the unique constraints make a second erasure a no-op)."""

    class Kind(models.TextChoices):
        USER = "USER", "Account"
        ORGANISATION = "ORGANISATION", "Organisation"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supplier = models.OneToOneField(
        "suppliers.Supplier", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retailer = models.OneToOneField(
        "retailers.Retailer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    erased_at = models.DateTimeField(default=timezone.now)
    kept = models.JSONField(default=list, blank=True, help_text="What was kept, and why.")

    class Meta:
        ordering = ["-erased_at"]
        constraints = [
            models.CheckConstraint(
                name="erasure_names_one_subject",
                condition=Q(
                    kind="USER", user__isnull=False, supplier__isnull=True, retailer__isnull=True
                )
                | Q(
                    kind="ORGANISATION",
                    user__isnull=True,
                    supplier__isnull=False,
                    retailer__isnull=True,
                )
                | Q(
                    kind="ORGANISATION",
                    user__isnull=True,
                    supplier__isnull=True,
                    retailer__isnull=False,
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} erased {self.erased_at:%Y-%m-%d}"


class ShopperDataRequest(models.Model):
    """A shopper's request (WooCommerce or custom store, which send none of their own) that
    support executed: which store, what was done, to how many orders. The shopper's email is not
    kept here: only a keyed hash, so a repeated request can be recognised."""

    class Action(models.TextChoices):
        EXPORT = "EXPORT", "Export (JSON)"
        REDACT = "REDACT", "Erase"

    store = models.ForeignKey("retailers.Store", on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=6, choices=Action.choices)
    shopper_fingerprint = models.CharField(max_length=64)
    orders = models.PositiveIntegerField(default=0)
    order_numbers = models.JSONField(default=list, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "shopper data request"
        permissions = [("execute_shopper_request", "Can execute a shopper's data request")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.store_id} · {self.orders} order(s)"
