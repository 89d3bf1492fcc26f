from django.contrib import admin
from django.utils.html import format_html, format_html_join

from dropship.core.admin_utils import EMPTY, AuditedModelAdmin, ViewOnlyAdminMixin, pretty_json
from dropship.core.models import AuditLogEntry, ExchangeRate, ProcessLock


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """The whole trail, every organisation's and the platform's, read-only (append-only in the
    database as well)."""

    list_display = [
        "created_at",
        "action",
        "target_type",
        "target_id",
        "actor_kind",
        "actor_label",
        "supplier",
        "retailer",
        "ip_address",
        "summary",
    ]
    list_filter = ["actor_kind", "action", "target_type", "created_at"]
    search_fields = [
        "action",
        "target_type",
        "target_id",
        "summary",
        "actor_label",
        "request_id",
        "=ip_address",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["supplier", "retailer"]
    show_full_result_count = False
    fields = readonly_fields = (
        "created_at",
        "actor_kind",
        "actor_label",
        "actor",
        "api_key",
        "supplier",
        "retailer",
        "action",
        "target_type",
        "target_id",
        "summary",
        "changes_table",
        "ip_address",
        "request_id",
        "data_json",
    )

    @admin.display(description="before → after")
    def changes_table(self, obj: AuditLogEntry) -> str:
        if not obj.changes:
            return EMPTY
        rows = format_html_join(
            "",
            "<tr><th scope='row'>{}</th><td>{}</td><td>{}</td></tr>",
            ((name, before, after) for name, (before, after) in obj.changes.items()),
        )
        return format_html(
            "<table><thead><tr><th scope='col'>field</th><th scope='col'>before</th>"
            "<th scope='col'>after</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="data")
    def data_json(self, obj: AuditLogEntry) -> str:
        return pretty_json(obj.data)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(AuditedModelAdmin):
    """The daily rates a supplier's prices are converted with into a store's currency; staff
    enter them here, `manage.py load_exchange_rates` loads them from the provider."""

    list_display = ["day", "base", "quote", "rate", "source", "updated_at"]
    list_filter = ["base", "quote", "source"]
    date_hierarchy = "day"
    ordering = ["-day", "base", "quote"]
    fields = ["base", "quote", "day", "rate", "source"]

    def get_changeform_initial_data(self, request):
        return {"source": ExchangeRate.Source.MANUAL}


@admin.register(ProcessLock)
class ProcessLockAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Who holds which cross-process lock (dropship/core/locks.py), until when: a row whose lease
    has run out is a holder that died and is taken over by the next caller."""

    list_display = ["namespace", "key", "holder", "acquired_at", "lease_until"]
    ordering = ["namespace", "key"]
