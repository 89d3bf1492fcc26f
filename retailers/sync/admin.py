"""Admin pages for the inventory sync: read-only (the drain and reconciliation write these)."""

from django.contrib import admin

from dropship.core.admin_utils import AuditedModelAdmin, ViewOnlyAdminMixin
from retailers.sync.models import StockReconciliation, StoreSyncState


@admin.register(StoreSyncState)
class StoreSyncStateAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "store",
        "pending_since",
        "last_push_at",
        "consecutive_failures",
        "next_attempt_at",
        "lease_expires_at",
        "last_error",
    ]
    list_filter = ["store__platform"]
    search_fields = ["store__name", "store__domain", "last_error"]
    list_select_related = ["store"]


@admin.register(StockReconciliation)
class StockReconciliationAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "store",
        "created_at",
        "status",
        "checked",
        "matched",
        "drifted",
        "stale",
        "missing",
        "repaired",
    ]
    list_filter = ["status", "store__platform"]
    search_fields = ["store__name", "store__domain", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["store"]
