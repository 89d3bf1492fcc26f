"""What the inventory sync remembers per store (lease, pacing, errors, pending work), the queue of
catalog variants whose stock changed, and what reconciliation found.

Imported by retailers/models.py so Django registers them in the `retailers` app.
"""

from django.db import models
from django.db.models import Q

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
    # The dirty set, per store: set when any of the store's listing variants is marked, cleared by
    # a drain that found nothing left and saw the version unchanged since it started. Beat's
    # safety net reads this (a partial index), never the listing table.
    pending_since = models.DateTimeField(
        null=True, blank=True, help_text="Rows of this store wait for a push since then."
    )
    pending_version = models.BigIntegerField(default=0)
    drain_scheduled_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A drain is queued to run at this time: changes before it join that drain.",
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["pending_since"],
                condition=Q(pending_since__isnull=False),
                name="store_sync_pending",
            )
        ]

    def __str__(self) -> str:
        return f"Sync state of store {self.store_id}"


class VariantChange(models.Model):
    """A catalog variant's advertised quantity changed: one row per change, written in the
    transaction that changed it (a reservation writes one row instead of marking every store's
    listing under the variant's row lock). The sync worker fans the rows out to listing variants
    and deletes them in one transaction, so a worker killed mid-fan-out loses nothing."""

    id = models.BigAutoField(primary_key=True)
    # No foreign-key constraint: the insert stays one index-free append on the order hot path; a
    # change of a variant deleted meanwhile fans out to nothing.
    variant = models.ForeignKey(
        "catalog.Variant",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Stock of variant {self.variant_id} changed"


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
