from django.db import models
from django.db.models import Q

from dropship.core.fields import EncryptedJSONField
from dropship.core.models import TimeStampedModel


class InboundWebhook(TimeStampedModel):
    """A verified event from outside, stored before it is acted on (DESIGN flow 2).

    `dedup_key` is unique per source: Shopify's event id, a hash of store + topic + body for
    WooCommerce (its delivery id is not unique), Stripe's event id. A duplicate delivery finds the row and
    is answered 200 without being processed again.
    """

    class Source(models.TextChoices):
        SHOPIFY = "SHOPIFY", "Shopify"
        WOOCOMMERCE = "WOOCOMMERCE", "WooCommerce"
        STRIPE = "STRIPE", "Stripe"
        SUPPLIER = "SUPPLIER", "Supplier system"
        CARRIER = "CARRIER", "Carrier tracking"

    class Status(models.TextChoices):
        RECEIVED = "RECEIVED", "Received"
        PROCESSING = "PROCESSING", "Processing"
        PROCESSED = "PROCESSED", "Processed"
        FAILED = "FAILED", "Failed"

    source = models.CharField(max_length=12, choices=Source.choices)
    store = models.ForeignKey(
        "retailers.Store",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_webhooks",
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_webhooks",
    )
    topic = models.CharField(max_length=64, db_index=True)
    dedup_key = models.CharField(max_length=128)
    body = models.BinaryField()
    headers = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While PROCESSING: the worker renews this while it lives; once it has passed, "
        "the sweeper hands the event to another worker.",
    )
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    duplicate_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("replay_webhook", "Can replay an inbound webhook")]
        constraints = [
            models.UniqueConstraint(fields=["source", "dedup_key"], name="inbound_webhook_dedup")
        ]
        indexes = [
            models.Index(
                fields=["updated_at"],
                condition=Q(status__in=["RECEIVED", "PROCESSING"]),
                name="inbound_webhook_unfinished",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.topic} ({self.status})"


class OutboundPush(TimeStampedModel):
    """A call to a store or supplier system that must survive a crash: retried until it lands."""

    class Kind(models.TextChoices):
        SUPPLIER_ORDER_WEBHOOK = "SUPPLIER_ORDER_WEBHOOK", "Order to supplier webhook"
        STORE_FULFILLMENT = "STORE_FULFILLMENT", "Fulfilment to store"
        STORE_ORDER_NOTE = "STORE_ORDER_NOTE", "Order note to store"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SENDING = "SENDING", "Sending"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed (gave up)"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    store = models.ForeignKey(
        "retailers.Store",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbound_pushes",
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbound_pushes",
    )
    supplier_order = models.ForeignKey(
        "orders.SupplierOrder",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbound_pushes",
    )
    shipment = models.ForeignKey(
        "orders.Shipment",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbound_pushes",
    )
    idempotency_key = models.CharField(max_length=120, unique=True)
    payload = EncryptedJSONField(
        null=True, blank=True, help_text="Encrypted: it carries shopper addresses."
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=12)
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While SENDING: the worker renews this while it lives; once it has passed, "
        "the sweeper hands the push to another worker.",
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_response_status = models.PositiveIntegerField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "outbound pushes"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["PENDING", "SENDING"]),
                name="outbound_push_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.status})"


class ApiVersionNotice(TimeStampedModel):
    """A store answers our API calls with another version than the one we pin.

    Shopify serves a request for a retired API version with the oldest version it still
    supports ("fall forward") and says so in `X-Shopify-API-Version`: the calls keep working on
    a contract we did not test. One row per store while that lasts, shown to platform admins;
    removed when the pinned version answers again.
    """

    store = models.OneToOneField(
        "retailers.Store", on_delete=models.CASCADE, related_name="api_version_notice"
    )
    requested_version = models.CharField(max_length=16, help_text="The version we pin.")
    served_version = models.CharField(max_length=16, help_text="The version that answered.")
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.store_id}: asked {self.requested_version}, served {self.served_version}"
