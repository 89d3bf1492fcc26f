"""Privacy in the admin: exports and erasures (read only), and the page where support executes a
shopper's data request for a WooCommerce or custom store (permission
privacy.execute_shopper_request: support agents and platform admins)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from dropship.core.admin_utils import AuditedModelAdmin, ViewOnlyAdminMixin
from dropship.core.errors import DomainError
from privacy.forms import ShopperRequestForm
from privacy.models import DataExport, Erasure, ShopperDataRequest
from privacy.services import shopper_requests


@admin.register(DataExport)
class DataExportAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["created_at", "requested_by", "scope", "status", "progress", "expires_at"]
    list_filter = ["status", "scope"]
    list_select_related = ["requested_by"]
    fields = readonly_fields = (
        "public_id",
        "requested_by",
        "scope",
        "supplier",
        "retailer",
        "status",
        "progress",
        "size_bytes",
        "finished_at",
        "expires_at",
        "error",
    )


@admin.register(Erasure)
class ErasureAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["erased_at", "kind", "user", "supplier", "retailer"]
    list_filter = ["kind"]
    list_select_related = ["user", "supplier", "retailer"]
    fields = readonly_fields = ("kind", "user", "supplier", "retailer", "erased_at", "kept")


@admin.register(ShopperDataRequest)
class ShopperDataRequestAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """The requests executed so far; "Execute a shopper's data request" opens the form."""

    change_list_template = "admin/privacy/shopperdatarequest/change_list.html"
    list_display = ["created_at", "store", "action", "orders", "handled_by"]
    list_filter = ["action"]
    list_select_related = ["store", "handled_by"]
    fields = readonly_fields = (
        "created_at",
        "store",
        "action",
        "orders",
        "order_numbers",
        "handled_by",
    )

    def has_execute_permission(self, request) -> bool:
        return request.user.has_perm("privacy.execute_shopper_request")

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_execute": self.has_execute_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "execute/",
                self.admin_site.admin_view(self.execute_view),
                name="privacy_shopperdatarequest_execute",
            ),
            *super().get_urls(),
        ]

    def execute_view(self, request):
        if not self.has_execute_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = ShopperRequestForm(request.POST)
        else:  # from the store admin's action: the store chosen, the e-mail still to type
            form = ShopperRequestForm(initial={"store": request.GET.get("store")})
        orders = None
        if form.is_bound and form.is_valid():
            store, email = form.cleaned_data["store"], form.cleaned_data["email"]
            action = request.POST.get("action") if request.method == "POST" else None
            try:
                if action == "export":
                    document = shopper_requests.export_shopper_data(
                        store=store, email=email, agent=request.user
                    )
                    response = HttpResponse(document, content_type="application/json")
                    response["Content-Disposition"] = (
                        f'attachment; filename="shopper-data-{store.public_id}.json"'
                    )
                    return response
                if action == "redact":
                    done = shopper_requests.redact_shopper_data(
                        store=store, email=email, agent=request.user
                    )
                    self.message_user(
                        request,
                        f"The shopper's data was erased from {done.orders} order(s) of "
                        f"{store.domain}.",
                        messages.SUCCESS,
                    )
                    return redirect(reverse("admin:privacy_shopperdatarequest_changelist"))
                orders = shopper_requests.find_shopper_orders(store=store, email=email)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        context = {
            **self.admin_site.each_context(request),
            "title": "Execute a shopper's data request",
            "opts": self.model._meta,
            "form": form,
            "orders": orders,
        }
        return TemplateResponse(request, "admin/privacy/shopperdatarequest/execute.html", context)
