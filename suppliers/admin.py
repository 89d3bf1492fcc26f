"""Suppliers in the admin, with the review desk: approve, reject, suspend and reinstate.

Every decision goes through suppliers.services, which records who decided, when and why, and
tells the supplier. Only users with `suppliers.review_supplier` (platform admins) see or use them.
"""

from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from dropship.accounts.admin_view_as import ViewAsAdminMixin
from dropship.core.admin_utils import (
    EMPTY,
    AuditedModelAdmin,
    ViewOnlyAdminMixin,
    ViewOnlyTabularInline,
    admin_link,
)
from dropship.core.errors import DomainError
from retailers import catalog_events
from suppliers import profile, services
from suppliers.models import (
    ReturnPolicy,
    ShippingRate,
    Supplier,
    SupplierFeed,
    SupplierProfileChange,
    SupplierScorecard,
    SupplierStatusChange,
    SupplierVerification,
)

REVIEW_PERMISSION = "suppliers.review_supplier"


@dataclass(frozen=True)
class Decision:
    name: str
    label: str
    verb: str
    needs_reason: bool

    def apply(self, *, supplier: Supplier, actor, reason: str = "") -> Supplier:
        if self.name == "approve":
            return services.approve_supplier(supplier=supplier, actor=actor)
        if self.name == "reject":
            return services.reject_supplier(supplier=supplier, actor=actor, reason=reason)
        if self.name == "suspend":
            return services.suspend_supplier(supplier=supplier, actor=actor, reason=reason)
        return services.reinstate_supplier(supplier=supplier, actor=actor)


DECISIONS = {
    decision.name: decision
    for decision in (
        Decision("approve", "Approve", "approved", needs_reason=False),
        Decision("reject", "Reject", "rejected", needs_reason=True),
        Decision("suspend", "Suspend", "suspended", needs_reason=True),
        Decision("reinstate", "Reinstate", "reinstated", needs_reason=False),
    )
}


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 70, "aria-describedby": "reason-help"}),
        help_text="The supplier reads this in the email and on its dashboard: say what to fix.",
        error_messages={"required": "Give a reason; the supplier will see it."},
    )


class ShippingRateInline(admin.TabularInline):
    model = ShippingRate
    extra = 0
    fields = [
        "carrier",
        "service",
        "shipping_class",
        "zone",
        "price",
        "additional_item_price",
        "min_days",
        "max_days",
    ]


class SupplierVerificationInline(ViewOnlyTabularInline):
    """The onboarding answers the reviewer reads; the supplier owns them."""

    model = SupplierVerification
    show_change_link = False
    shown_with_review = True  # rendered right under the Review fieldset (see change_form.html)
    fields = readonly_fields = (
        "registration_number",
        "country",
        "document_link",
        "answers_table",
        "updated_at",
    )
    verbose_name = "verification"
    verbose_name_plural = "verification answers and documents"

    @admin.display(description="document")
    def document_link(self, obj: SupplierVerification) -> str:
        if not obj.document:
            return "No document uploaded"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:suppliers_supplier_verification_document", args=[obj.supplier_id]),
            obj.document_filename,
        )

    @admin.display(description="answers")
    def answers_table(self, obj: SupplierVerification) -> str:
        if not obj.answers:
            return EMPTY
        rows = format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", sorted(obj.answers.items(), key=str)
        )
        return format_html("<table>{}</table>", rows)


class SupplierStatusChangeInline(ViewOnlyTabularInline):
    """The history of review decisions: who, when, from → to, why."""

    model = SupplierStatusChange
    show_change_link = False
    shown_with_review = True
    fields = readonly_fields = ("created_at", "actor", "from_status", "to_status", "reason")
    verbose_name = "decision"
    verbose_name_plural = "review history"

    def get_queryset(self, request: HttpRequest) -> QuerySet[SupplierStatusChange]:
        return super().get_queryset(request).select_related("actor")


@admin.register(Supplier)
class SupplierAdmin(ViewAsAdminMixin, AuditedModelAdmin):
    list_display = [
        "company_name",
        "status",
        "business_type",
        "ship_from_country",
        "product_count",
        "order_channel",
        "submitted_at",
        "approved_at",
        "created_at",
    ]
    list_filter = ["status", "business_type", "order_channel", "onboarding_step", "payouts_enabled"]
    search_fields = ["company_name", "legal_name", "slug", "contact_email"]
    date_hierarchy = "created_at"
    prepopulated_fields = {"slug": ["company_name"]}
    readonly_fields = [
        "status",
        "status_reason",
        "onboarding_step",
        "submitted_at",
        "approved_at",
        "rating",
        "stripe_account_id",
        "payouts_enabled",
        "created_at",
        "updated_at",
    ]
    # webhook_secret is encrypted and never shown: it is not in any fieldset.
    fieldsets = [
        (
            "Review",
            {
                "fields": [
                    "status",
                    "status_reason",
                    "onboarding_step",
                    "submitted_at",
                    "approved_at",
                ],
                "description": "Status changes only through the review buttons above.",
            },
        ),
        (
            "Company",
            {
                "fields": [
                    "company_name",
                    "legal_name",
                    "slug",
                    "business_type",
                    "description",
                    "logo",
                    "contact_email",
                    "phone",
                    "website",
                    "ship_from_country",
                    "tax_id",
                    "payout_country",
                    "return_address",
                ]
            },
        ),
        (
            "Fulfilment",
            {
                "fields": [
                    "handling_days",
                    "min_order_value",
                    "currency",
                    "stock_buffer_percent",
                    "low_stock_threshold",
                    "rating",
                ]
            },
        ),
        ("Order channel", {"fields": ["order_channel", "webhook_url", "order_email"]}),
        ("Payouts", {"fields": ["stripe_account_id", "payouts_enabled"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [SupplierVerificationInline, SupplierStatusChangeInline, ShippingRateInline]
    actions = ["approve_selected", "reject_selected", "suspend_selected", "reinstate_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Supplier]:
        return super().get_queryset(request).annotate(_product_count=Count("products"))

    @admin.display(description="products", ordering="_product_count")
    def product_count(self, obj: Supplier) -> int:
        return obj._product_count  # type: ignore[attr-defined]  # annotated by get_queryset

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "stock_buffer_percent" in form.changed_data:
            catalog_events.suppliers_changed(
                supplier_ids=[obj.pk]
            )  # every listing shows a new number

    # --- review permission ----------------------------------------------------------------------
    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    def get_urls(self):
        review = self.admin_site.admin_view(self.review_view)
        document = self.admin_site.admin_view(self.verification_document_view)
        return [
            path(
                "<path:object_id>/verification-document/",
                document,
                name="suppliers_supplier_verification_document",
            ),
            path(
                "<path:object_id>/review/<str:decision>/",
                review,
                name="suppliers_supplier_review",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        supplier = self.get_object(request, unquote(object_id))
        if supplier is not None and self.has_review_permission(request):
            extra_context["review_decisions"] = [
                {
                    "label": DECISIONS[name].label,
                    "url": reverse("admin:suppliers_supplier_review", args=[supplier.pk, name]),
                }
                for name in services.allowed_review_decisions(supplier=supplier)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def verification_document_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        """The uploaded document, only for staff allowed to see verifications (it is private)."""
        if not request.user.has_perm("suppliers.view_supplierverification"):
            raise PermissionDenied
        verification = SupplierVerification.objects.filter(supplier_id=unquote(object_id)).first()
        if verification is None or not verification.document:
            raise Http404("No verification document.")
        return FileResponse(
            verification.document.open("rb"),
            as_attachment=True,
            filename=verification.document_filename,
            content_type=verification.document_content_type or "application/octet-stream",
        )

    # --- one supplier: confirm (and give a reason), then decide ---------------------------------
    def review_view(self, request: HttpRequest, object_id: str, decision: str) -> HttpResponse:
        if not self.has_review_permission(request):
            raise PermissionDenied
        chosen = DECISIONS.get(decision)
        supplier = self.get_object(request, unquote(object_id))
        if chosen is None or supplier is None:
            raise Http404("No such supplier or decision.")
        change_url = reverse("admin:suppliers_supplier_change", args=[supplier.pk])
        form = ReasonForm(request.POST or None) if chosen.needs_reason else None
        if request.method == "POST" and (form is None or form.is_valid()):
            reason = form.cleaned_data["reason"] if form is not None else ""
            try:
                chosen.apply(supplier=supplier, actor=request.user, reason=reason)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{supplier.company_name} is {chosen.verb}; the supplier has been notified.",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(change_url)
        return self._decision_page(
            request, decision=chosen, suppliers=[supplier], form=form, cancel_url=change_url
        )

    def _decision_page(
        self,
        request: HttpRequest,
        *,
        decision: Decision,
        suppliers: list[Supplier],
        form: ReasonForm | None,
        cancel_url: str,
        action: str = "",
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": f"{decision.label} {'this supplier' if len(suppliers) == 1 else 'suppliers'}",
            "opts": self.model._meta,
            "decision": decision,
            "suppliers": suppliers,
            "form": form,
            "cancel_url": cancel_url,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/suppliers/supplier/review_decision.html", context)

    # --- many suppliers: changelist actions -----------------------------------------------------
    def _decide_many(
        self, request: HttpRequest, queryset: QuerySet[Supplier], decision: Decision, reason=""
    ) -> None:
        done, refused = [], []
        for supplier in queryset.order_by("pk"):
            try:
                decision.apply(supplier=supplier, actor=request.user, reason=reason)
            except DomainError as exc:
                refused.append(exc.message)
            else:
                done.append(supplier.company_name)
        if done:
            self.message_user(
                request,
                f"{decision.verb.capitalize()} and notified: {', '.join(done)}.",
                messages.SUCCESS,
            )
        for message in refused:
            self.message_user(request, message, messages.ERROR)

    def _reason_action(self, request: HttpRequest, queryset: QuerySet[Supplier], name: str):
        decision = DECISIONS[name]
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            self._decide_many(request, queryset, decision, reason=form.cleaned_data["reason"])
            return None
        return self._decision_page(
            request,
            decision=decision,
            suppliers=list(queryset.order_by("company_name")),
            form=form,
            cancel_url=reverse("admin:suppliers_supplier_changelist"),
            action=f"{name}_selected",
        )

    @admin.action(description="Approve selected suppliers", permissions=["review"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Supplier]) -> None:
        self._decide_many(request, queryset, DECISIONS["approve"])

    @admin.action(description="Reject selected suppliers (with a reason)…", permissions=["review"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Supplier]):
        return self._reason_action(request, queryset, "reject")

    @admin.action(description="Suspend selected suppliers (with a reason)…", permissions=["review"])
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Supplier]):
        return self._reason_action(request, queryset, "suspend")

    @admin.action(description="Reinstate selected suppliers", permissions=["review"])
    def reinstate_selected(self, request: HttpRequest, queryset: QuerySet[Supplier]) -> None:
        self._decide_many(request, queryset, DECISIONS["reinstate"])


@admin.register(ShippingRate)
class ShippingRateAdmin(AuditedModelAdmin):
    list_display = [
        "supplier",
        "carrier",
        "service",
        "shipping_class",
        "zone",
        "price",
        "additional_item_price",
        "min_days",
        "max_days",
    ]
    list_filter = ["zone", "carrier", "shipping_class"]
    search_fields = ["supplier__company_name", "carrier", "service"]
    list_select_related = ["supplier"]
    autocomplete_fields = ["supplier"]


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(AuditedModelAdmin):
    list_display = [
        "supplier",
        "window_days",
        "restocking_fee_percent",
        "return_shipping_paid_by",
        "updated_at",
    ]
    list_filter = ["return_shipping_paid_by"]
    search_fields = ["supplier__company_name"]
    list_select_related = ["supplier"]
    autocomplete_fields = ["supplier"]
    filter_horizontal = ["non_returnable_categories"]


@admin.register(SupplierVerification)
class SupplierVerificationAdmin(AuditedModelAdmin):
    list_display = ["supplier", "supplier_status", "registration_number", "country", "has_document"]
    list_filter = ["country", "supplier__status"]
    search_fields = ["supplier__company_name", "registration_number"]
    list_select_related = ["supplier"]
    autocomplete_fields = ["supplier"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="supplier status", ordering="supplier__status")
    def supplier_status(self, obj: SupplierVerification) -> str:
        return obj.supplier.get_status_display()

    @admin.display(description="document", boolean=True)
    def has_document(self, obj: SupplierVerification) -> bool:
        return bool(obj.document)


@admin.register(SupplierStatusChange)
class SupplierStatusChangeAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Read-only: written by the review services only."""

    list_display = ["created_at", "supplier_link", "from_status", "to_status", "actor", "reason"]
    list_filter = ["to_status", "from_status"]
    search_fields = ["supplier__company_name", "reason", "actor__email"]
    date_hierarchy = "created_at"
    list_select_related = ["supplier", "actor"]
    fields = readonly_fields = (
        "created_at",
        "supplier",
        "from_status",
        "to_status",
        "actor",
        "reason",
    )

    @admin.display(description="supplier", ordering="supplier__company_name")
    def supplier_link(self, obj: SupplierStatusChange) -> str:
        return admin_link(obj.supplier)


@admin.register(SupplierFeed)
class SupplierFeedAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Suppliers set their feed on their own page; support reads its health here."""

    list_display = ["supplier", "format", "health", "is_enabled", "last_success_at", "last_status"]
    list_filter = ["health", "format", "is_enabled"]
    search_fields = ["supplier__company_name", "url", "last_error"]
    list_select_related = ["supplier"]
    exclude = ["last_quantities"]


@admin.register(SupplierScorecard)
class SupplierScorecardAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """The ranking staff read: the nightly measured scorecards, best first (new suppliers last).
    Written only by orders/services/scorecard.py."""

    list_display = ["supplier_link", "score", "orders", "window_days", "computed_at"]
    ordering = [F("score").desc(nulls_last=True), "supplier__company_name"]
    search_fields = ["supplier__company_name"]
    list_select_related = ["supplier"]
    fields = readonly_fields = (
        "supplier",
        "score",
        "orders",
        "window_days",
        "computed_at",
        "figures",
    )

    @admin.display(description="supplier", ordering="supplier__company_name")
    def supplier_link(self, obj: SupplierScorecard) -> str:
        return admin_link(obj.supplier)


@admin.register(SupplierProfileChange)
class SupplierProfileChangeAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Requests of approved suppliers to change legal name, tax id or payout country: the old
    values stay in force until a reviewer approves here (suppliers/profile.py)."""

    list_display = ["created_at", "supplier_link", "status", "requested", "decided_by"]
    list_filter = ["status"]
    search_fields = ["supplier__company_name"]
    list_select_related = ["supplier", "decided_by"]
    fields = readonly_fields = (
        "created_at",
        "supplier",
        "status",
        "requested",
        "requested_by",
        "decided_by",
        "decided_at",
        "decision_reason",
    )
    actions = ["approve_selected", "reject_selected"]

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    @admin.display(description="supplier", ordering="supplier__company_name")
    def supplier_link(self, obj: SupplierProfileChange) -> str:
        return admin_link(obj.supplier)

    @admin.display(description="requested (in force → asked)")
    def requested(self, obj: SupplierProfileChange) -> str:
        return format_html_join(
            "; ", "{}: “{}” → “{}”", ((f, v[0], v[1]) for f, v in obj.changes.items())
        )

    def _decide(self, request: HttpRequest, queryset, decide) -> None:
        for change in queryset.select_related("supplier").order_by("pk"):
            try:
                decide(change)
            except DomainError as exc:
                self.message_user(request, f"{change.supplier}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{change.supplier}: {change.get_status_display()}.", messages.SUCCESS
                )

    @admin.action(description="Approve selected profile changes", permissions=["review"])
    def approve_selected(self, request: HttpRequest, queryset) -> None:
        def decide(change: SupplierProfileChange) -> None:
            profile.approve_profile_change(change=change, actor=request.user)  # type: ignore[arg-type]
            change.refresh_from_db()

        self._decide(request, queryset, decide)

    @admin.action(
        description="Reject selected profile changes (with a reason)…", permissions=["review"]
    )
    def reject_selected(self, request: HttpRequest, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            reason = form.cleaned_data["reason"]

            def decide(change: SupplierProfileChange) -> None:
                profile.reject_profile_change(
                    change=change,
                    actor=request.user,  # type: ignore[arg-type]
                    reason=reason,
                )
                change.refresh_from_db()

            self._decide(request, queryset, decide)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject profile changes",
            "opts": self.model._meta,
            "changes": list(queryset.select_related("supplier")),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/suppliers/supplierprofilechange/reject.html", context
        )
