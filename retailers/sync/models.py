"""What the inventory sync remembers per store (lease, pacing, errors) and what reconciliation found.

Imported by retailers/models.py so Django registers them in the `retailers` app.
"""

from django.db import models

from dropship.core.models import TimeStampedModel


class StoreSyncState(models.Model):
    """One row per store: the drain's lease (one drain at a time), backoff and last results."""

    store = models.OneToOneField(
        "retailers.Store", on_delete=models.CASCADE, primary_key=True, related_name="sync_state"
    )
    lease_token = models.CharField(max_length=36, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="After a store failure, no drain before this time."
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_push_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    pushed_total = models.BigIntegerField(default=0)
    calls_total = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Sync state of store {self.store_id}"


class StockReconciliation(TimeStampedModel):
    """One read-back of a store's quantities compared with what we pushed and what we advertise."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        DONE = "DONE", "Done"
        FAILED = "FAILED", "Failed"

    store = models.ForeignKey(
        "retailers.Store", on_delete=models.CASCADE, related_name="reconciliation_runs"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    finished_at = models.DateTimeField(null=True, blank=True)
    checked = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    drifted = models.PositiveIntegerField(
        default=0, help_text="The store showed something else than we last pushed."
    )
    stale = models.PositiveIntegerField(
        default=0, help_text="What we last pushed is no longer what we advertise."
    )
    missing = models.PositiveIntegerField(default=0, help_text="The store no longer has the item.")
    repaired = models.PositiveIntegerField(default=0, help_text="Rows marked dirty again.")
    calls = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    samples = models.JSONField(
        default=list, blank=True, help_text="Up to 50 differences: id, store, pushed, advertised."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="stock_reconcile_store_recent")
        ]

    def __str__(self) -> str:
        return f"Stock reconciliation of store {self.store_id} ({self.status})"
