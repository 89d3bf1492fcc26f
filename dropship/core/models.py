from django.apps import apps
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q

from dropship.core.money import CURRENCY_CHOICES


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditLogEntry(models.Model):
    """Who did what to which object, when, from where: the audit trail (docs/architecture.md).

    Append-only: a database trigger refuses UPDATE and DELETE (migration 0003); only the retention
    purge (dropship/core/audit.py) may delete, and only entries older than its cutoff. That is why
    the references to users, keys and organisations carry no database constraint and are never
    cleared: deleting a user must not rewrite history, and the label keeps the entry readable.
    """

    class ActorKind(models.TextChoices):
        USER = "USER", "User"
        API_KEY = "API_KEY", "API key"
        SYSTEM = "SYSTEM", "System"
        ANONYMOUS = "ANONYMOUS", "Anonymous visitor"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_kind = models.CharField(
        max_length=10, choices=ActorKind.choices, default=ActorKind.SYSTEM
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    # The organisation whose trail the entry is part of (its owner sees it); none for platform rows.
    supplier = models.ForeignKey(
        "suppliers.Supplier",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    retailer = models.ForeignKey(
        "retailers.Retailer",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    summary = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # {field: [before, after]} of the fields the action changed.
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(
                fields=["supplier", "-created_at"],
                name="audit_supplier_trail",
                condition=models.Q(supplier__isnull=False),
            ),
            models.Index(
                fields=["retailer", "-created_at"],
                name="audit_retailer_trail",
                condition=models.Q(retailer__isnull=False),
            ),
        ]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}#{self.target_id}"

    @property
    def target_label(self) -> str:
        return describe_target_type(self.target_type)


def describe_target_type(target_type: str) -> str:
    """An audit target type in words ("order", "pricing rule"), or as stored ("request")."""
    try:
        model = apps.get_model(target_type)
    except (LookupError, ValueError):
        return target_type
    return str(model._meta.verbose_name)


class ProcessLock(models.Model):
    """One holder of `exclusive_lock(namespace, key)` on PostgreSQL (dropship/core/locks.py).

    A row, not a session advisory lock, so that the lock survives a transaction-pooling PgBouncer
    (a session lock taken on one server connection would be released, or leaked, on another).
    The holder renews `lease_until` while it lives; a holder that died stops renewing and the
    next caller takes the row over once the lease has run out."""

    namespace = models.IntegerField()
    key = models.BigIntegerField()
    holder = models.UUIDField(help_text="The acquisition that holds the lock.")
    acquired_at = models.DateTimeField()
    lease_until = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["namespace", "key"], name="process_lock_one_holder")
        ]

    def __str__(self) -> str:
        return f"Lock {self.namespace}/{self.key} held until {self.lease_until:%H:%M:%S}"


class ExchangeRate(TimeStampedModel):
    """One unit of `base` is worth `rate` units of `quote` on `day` (a daily reference rate).

    Rows are kept by day so an order's frozen rate can be traced to the row it came from. Staff
    maintain them in the admin, or `manage.py load_exchange_rates` (and its beat task) loads them
    from the provider behind integrations/exchange_rates.py. Read through dropship.core.exchange.
    """

    class Source(models.TextChoices):
        MANUAL = "MANUAL", "Entered by staff"
        PROVIDER = "PROVIDER", "Loaded from the rates provider"

    base = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    quote = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    day = models.DateField(help_text="The day the rate is the reference rate of.")
    rate = models.DecimalField(
        max_digits=18, decimal_places=8, help_text="Units of the quote currency for one base unit."
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)

    class Meta:
        ordering = ["base", "quote", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["base", "quote", "day"], name="exchange_rate_per_day"),
            models.CheckConstraint(name="exchange_rate_positive", condition=Q(rate__gt=0)),
            models.CheckConstraint(
                name="exchange_rate_two_currencies", condition=~Q(base=F("quote"))
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate.normalize()} {self.quote} on {self.day}"
