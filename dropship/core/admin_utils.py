"""Small pieces shared by the apps' admin modules: view-only records, links, money and JSON display."""

import json
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

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
