from django.contrib import admin

from dropship.core.admin_utils import ViewOnlyAdminMixin, pretty_json
from dropship.core.models import AuditLogEntry


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "action", "target_type", "target_id", "actor", "summary"]
    list_filter = ["action", "target_type"]
    search_fields = ["action", "target_type", "target_id", "summary", "actor__email"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    fields = readonly_fields = (
        "created_at",
        "actor",
        "action",
        "target_type",
        "target_id",
        "summary",
        "data_json",
    )

    @admin.display(description="data")
    def data_json(self, obj: AuditLogEntry) -> str:
        return pretty_json(obj.data)
