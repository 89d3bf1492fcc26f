"""Messages between a retailer and a supplier about one supplier order, which support can join.

One `Thread` per supplier order (created with its first message). Each side's read mark lives on
the thread (`retailer_read_at`, `supplier_read_at`, `support_read_at`): a message is unread for a
side when it came from another side after that side's mark, and read (the receipt the author
sees) once the other side's mark has passed it. `waiting_since` is when the oldest message not
yet answered by another side arrived; the support inbox runs its SLA clock from it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from dropship.core.storage import private_storage


class Side(models.TextChoices):
    RETAILER = "RETAILER", "Retailer"
    SUPPLIER = "SUPPLIER", "Supplier"
    SUPPORT = "SUPPORT", "Support"


class Thread(models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        CLOSED = "CLOSED", "Closed"

    supplier_order = models.OneToOneField(
        "orders.SupplierOrder", on_delete=models.CASCADE, related_name="thread"
    )
    # Copied from the supplier order so every list is one indexed filter on the caller's own rows.
    retailer = models.ForeignKey(
        "retailers.Retailer", on_delete=models.CASCADE, related_name="message_threads"
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.CASCADE, related_name="message_threads"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    last_message_at = models.DateTimeField()
    last_message_side = models.CharField(max_length=8, choices=Side.choices)
    waiting_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the oldest message no other side has answered arrived (the SLA clock).",
    )
    support_joined_at = models.DateTimeField(null=True, blank=True)
    retailer_read_at = models.DateTimeField(null=True, blank=True)
    supplier_read_at = models.DateTimeField(null=True, blank=True)
    support_read_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="thread_closed_at_when_closed",
                condition=Q(status="OPEN", closed_at__isnull=True)
                | Q(status="CLOSED", closed_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["retailer", "-last_message_at"], name="thread_retailer_recent"),
            models.Index(fields=["supplier", "-last_message_at"], name="thread_supplier_recent"),
            models.Index(fields=["status", "waiting_since"], name="thread_support_queue"),
        ]

    def __str__(self) -> str:
        return f"Messages on {self.supplier_order}"

    def read_at(self, side: str):
        return getattr(self, f"{side.lower()}_read_at")

    @property
    def has_support(self) -> bool:
        return self.support_joined_at is not None


class Message(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    side = models.CharField(max_length=8, choices=Side.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(name="message_body_not_blank", condition=~Q(body="")),
        ]
        indexes = [models.Index(fields=["thread", "created_at"], name="message_thread_time")]

    def __str__(self) -> str:
        return f"{self.get_side_display()} message {self.pk}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    return f"messages/{instance.message.thread_id}/{filename}"


class Attachment(models.Model):
    """A file sent with a message: in private storage, served only to the thread's parties and
    staff (messaging.views.attachment)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, storage=private_storage, max_length=300)
    name = models.CharField(max_length=200, help_text="The name it was uploaded with.")
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name
