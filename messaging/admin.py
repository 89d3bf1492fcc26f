from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from dropship.core.admin_utils import AuditedModelAdmin, ViewOnlyAdminMixin
from messaging.models import Attachment, Message, Thread


@admin.register(Thread)
class ThreadAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Conversations are read and answered in the support inbox; here they are searchable."""

    list_display = (
        "supplier_order",
        "retailer",
        "supplier",
        "status",
        "last_message_at",
        "waiting_since",
        "open_in_inbox",
    )
    list_filter = ("status",)
    search_fields = ("supplier_order__number", "retailer__business_name", "supplier__company_name")
    list_select_related = ("supplier_order", "retailer", "supplier")
    date_hierarchy = "last_message_at"

    @admin.display(description="Conversation")
    def open_in_inbox(self, obj: Thread) -> str:
        return format_html(
            '<a href="{}">Read and reply</a>', reverse("messaging:support_thread", args=[obj.pk])
        )


@admin.register(Message)
class MessageAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("thread", "side", "author", "created_at")
    list_filter = ("side",)
    search_fields = ("thread__supplier_order__number",)
    list_select_related = ("thread__supplier_order", "author")
    fields = ("thread", "side", "author", "body", "created_at")


@admin.register(Attachment)
class AttachmentAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """The file itself is private (no URL): staff open it from the conversation's page."""

    list_display = ("name", "content_type", "size", "message")
    search_fields = ("name",)
    list_select_related = ("message__thread__supplier_order",)
    fields = ("message", "name", "content_type", "size")
