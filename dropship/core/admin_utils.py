"""Small pieces shared by the apps' admin modules: view-only records, links, money and JSON display."""

import json
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from dropship.core.audit import (
    build_audit_entry,
    pair_changes,
    record_audit,
    record_audit_entries,
    snapshot_value,
)
from dropship.core.money import format_money

EMPTY = "—"


class ViewOnlyAdminMixin:
    """A record nobody edits by hand (ledger, audit log, received events): no add, change or
    delete for anyone, superusers included. Staff with the view permission can still read it."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


_CHANGES_ATTR = "_audit_admin_changes"


class AuditedAdminMixin:
    """Every add, change and delete made in the admin joins the audit trail with the before and
    after of the form's changed fields (delete_selected included); pages of a model that shows
    shopper personal data (`shows_personal_data`) log who read which rows. Admin actions write
    their own entries through the services they call; one that writes none still gets the
    request-level entry (dropship/core/audit_middleware.py)."""

    shows_personal_data = False

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)  # type: ignore[misc]
        before = {name: None if add else form.initial.get(name) for name in form.changed_data}
        after = {name: form.cleaned_data.get(name) for name in form.changed_data}
        setattr(
            request,
            _CHANGES_ATTR,
            pair_changes(
                {k: snapshot_value(v) for k, v in before.items()},
                {k: snapshot_value(v) for k, v in after.items()},
            ),
        )
        return message

    def _record(self, request: HttpRequest, obj: models.Model, verb: str, message: Any) -> None:
        record_audit(
            actor=request.user,
            action=f"admin.{verb}",
            target=obj,
            summary=f"{verb.capitalize()} {obj._meta.verbose_name} “{obj}” in the admin",
            changes=getattr(request, _CHANGES_ATTR, None),
            data={"change_message": message} if message else None,
        )

    def log_addition(self, request, obj, message):
        logged = super().log_addition(request, obj, message)  # type: ignore[misc]
        self._record(request, obj, "added", message)
        return logged

    def log_change(self, request, obj, message):
        logged = super().log_change(request, obj, message)  # type: ignore[misc]
        self._record(request, obj, "changed", message)
        return logged

    def log_deletions(self, request, queryset):
        logged = super().log_deletions(request, queryset)  # type: ignore[misc]
        record_audit_entries(
            [
                build_audit_entry(
                    actor=request.user,
                    action="admin.deleted",
                    target=obj,
                    summary=f"Deleted {obj._meta.verbose_name} “{obj}” in the admin",
                )
                for obj in queryset
            ]
        )
        return logged

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        response: Any = super().changelist_view(request, extra_context)  # type: ignore[misc]
        if self._is_personal_data_read(request, response):
            changelist = response.context_data.get("cl")
            ids = [obj.pk for obj in changelist.result_list] if changelist is not None else []
            opts = self.model._meta  # type: ignore[attr-defined]
            record_audit(
                actor=request.user,
                action="personal_data.viewed",
                target_type=opts.label_lower,
                target_id="list",
                summary=f"Viewed the {opts.verbose_name_plural} list ({len(ids)} rows)",
                data={"ids": ids, "query": request.GET.urlencode()[:500]},
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        response: Any = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        if self._is_personal_data_read(request, response):
            obj = response.context_data.get("original")
            if obj is not None:
                record_audit(
                    actor=request.user,
                    action="personal_data.viewed",
                    target=obj,
                    summary=f"Viewed {obj._meta.verbose_name} “{obj}” in the admin",
                )
        return response

    def _is_personal_data_read(self, request: HttpRequest, response: HttpResponse) -> bool:
        return (
            self.shows_personal_data
            and request.method == "GET"
            and response.status_code == 200
            and getattr(response, "context_data", None) is not None
        )


class AuditedModelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The base of every ModelAdmin of ours (tests/core/test_audit_admin.py checks it)."""


class ViewOnlyTabularInline(ViewOnlyAdminMixin, admin.TabularInline):
    """Rows shown for context on a parent's page; they change only through services."""

    extra = 0
    show_change_link = True


def admin_url(obj: models.Model) -> str | None:
    opts = obj._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def admin_link(obj: models.Model | None, label: Any = None) -> str:
    """A link to the object's admin page (plain text when the model is not registered)."""
    if obj is None:
        return EMPTY
    text = obj if label is None else label
    url = admin_url(obj)
    if url is None:
        return str(text)
    return format_html('<a href="{}">{}</a>', url, text)


def money(amount: Decimal | None, currency: str) -> str:
    return format_money(amount, currency)


def pretty_json(value: Any, *, limit: int = 20_000) -> str:
    """JSON in a <pre> block, cut at `limit` characters so a huge payload cannot stall the page."""
    if value in (None, "", {}, []):
        return EMPTY
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit} more characters)"
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


def organisation_of(obj: Any) -> Any:
    """The supplier or retailer a row belongs to (rows with exactly-one-organisation constraints)."""
    return getattr(obj, "supplier", None) or getattr(obj, "retailer", None)
