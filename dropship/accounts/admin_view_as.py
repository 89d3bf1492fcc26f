"""Starting support's read-only "view as" from a supplier's or retailer's admin page.

`ViewAsAdminMixin` adds a "View as (read-only)" button to the change page (for platform admins
and support agents) and the page behind it: a stated reason and a duration, then the staff
member's session is switched to the organisation's workspace (dropship/accounts/view_as.py).
"""

from typing import Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from dropship.accounts import services
from dropship.accounts.forms import ViewAsForm
from dropship.accounts.mfa import has_passed_mfa
from dropship.accounts.view_as import enter_view_as, view_as_of
from dropship.core.errors import DomainError


def _may_view_as(request: HttpRequest) -> bool:
    user = request.user
    return bool(getattr(user, "can_view_as", False)) and has_passed_mfa(request)


class ViewAsAdminMixin:
    """For the Supplier and Retailer admins (put it before admin.ModelAdmin)."""

    admin_site: Any
    opts: Any

    def get_urls(self) -> list:
        name = f"{self.opts.app_label}_{self.opts.model_name}_view_as"
        view = self.admin_site.admin_view(self.view_as_view)
        return [path("<path:object_id>/view-as/", view, name=name), *super().get_urls()]  # type: ignore[misc]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        if _may_view_as(request) and view_as_of(request) is None:
            extra_context["view_as_url"] = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_view_as", args=[object_id]
            )
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]

    def view_as_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not _may_view_as(request):
            raise PermissionDenied
        organisation = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if organisation is None:
            raise Http404
        form = ViewAsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                view_as = services.start_view_as(
                    staff_user=request.user,  # type: ignore[arg-type]  # admin_view: a staff User
                    organisation=organisation,
                    reason=form.cleaned_data["reason"],
                    minutes=form.cleaned_data["minutes"],
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                enter_view_as(request, view_as)
                return redirect("dashboard")
        context = {
            **self.admin_site.each_context(request),
            "title": f"View {organisation} read-only",
            "opts": self.opts,
            "original": organisation,
            "form": form,
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(request, "admin/view_as_start.html", context, status=status)
