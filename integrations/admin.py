"""The webhook inbox and outbound pushes, for support: read the event, its error, and replay it.

Bodies and statuses are written by the intake and the processing task only. Outbound payloads are
encrypted (they carry shopper addresses) and are not shown.
"""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from dropship.core.admin_utils import AuditedModelAdmin, ViewOnlyAdminMixin, pretty_json
from dropship.core.errors import DomainError
from integrations import services
from integrations.models import ApiVersionNotice, InboundWebhook, OutboundPush

BODY_DISPLAY_LIMIT = 20_000


@admin.register(InboundWebhook)
class InboundWebhookAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "created_at",
        "source",
        "topic",
        "store",
        "supplier",
        "status",
        "attempts",
        "duplicate_count",
        "processed_at",
    ]
    list_filter = ["status", "source", "topic"]
    search_fields = ["dedup_key", "topic", "store__domain", "store__name", "last_error"]
    date_hierarchy = "created_at"
    list_select_related = ["store", "supplier"]
    fields = readonly_fields = (
        "source",
        "topic",
        "dedup_key",
        "store",
        "supplier",
        "status",
        "attempts",
        "duplicate_count",
        "last_error",
        "created_at",
        "updated_at",
        "processed_at",
        "headers_json",
        "body_display",
    )
    actions = ["replay_selected"]

    @admin.display(description="headers")
    def headers_json(self, obj: InboundWebhook) -> str:
        return pretty_json(obj.headers)

    @admin.display(description="body")
    def body_display(self, obj: InboundWebhook) -> str:
        raw = bytes(obj.body or b"")
        text = raw.decode("utf-8", errors="replace")
        try:
            return pretty_json(json.loads(text), limit=BODY_DISPLAY_LIMIT)
        except ValueError:
            return format_html(
                '<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text[:BODY_DISPLAY_LIMIT]
            )

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("integrations.replay_webhook")

    @admin.action(description="Replay selected webhooks", permissions=["replay"])
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[InboundWebhook]) -> None:
        replayed = 0
        for webhook in queryset.order_by("pk"):
            try:
                services.mark_webhook_for_replay(webhook=webhook, actor=request.user)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                replayed += 1
        if replayed:
            self.message_user(
                request,
                f"{replayed} webhook(s) put back in the inbox; the inbox sweeper processes them "
                "again on its next run.",
                messages.SUCCESS,
            )


@admin.register(OutboundPush)
class OutboundPushAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "status",
        "store",
        "supplier",
        "supplier_order",
        "attempts",
        "next_attempt_at",
        "last_response_status",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["idempotency_key", "last_error", "supplier_order__number", "store__domain"]
    date_hierarchy = "created_at"
    list_select_related = ["store", "supplier", "supplier_order"]
    # payload is encrypted (shopper addresses) and deliberately not in `fields`.
    fields = readonly_fields = (
        "kind",
        "status",
        "store",
        "supplier",
        "supplier_order",
        "shipment",
        "idempotency_key",
        "attempts",
        "max_attempts",
        "next_attempt_at",
        "last_error",
        "last_response_status",
        "succeeded_at",
        "created_at",
        "updated_at",
    )


def warn_about_api_versions(request: HttpRequest) -> None:
    """An admin warning while any store is answered by another API version than we pin."""
    count = ApiVersionNotice.objects.count()
    if count:
        messages.warning(
            request,
            f"{count} store(s) answered with another API version than the pinned one: the "
            "version we ask for was retired and the store fell forward. See API version notices.",
        )


@admin.register(ApiVersionNotice)
class ApiVersionNoticeAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["store", "requested_version", "served_version", "created_at", "last_seen_at"]
    list_select_related = ["store"]
    search_fields = ["store__domain", "store__name"]

    def changelist_view(self, request: HttpRequest, extra_context=None):  # type: ignore[no-untyped-def]
        warn_about_api_versions(request)
        return super().changelist_view(request, extra_context)
