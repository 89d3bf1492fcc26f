"""Orders in the admin, for support. Orders arrive from stores and move through the order services,
so statuses, money and tracking are read-only here. The shopper's name and address are shown to
staff (support needs them) but never editable."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from billing.models import Charge
from dropship.accounts.access import AuthenticatedRequest
from dropship.accounts.models import User
from dropship.core.admin_utils import (
    EMPTY,
    AuditedModelAdmin,
    ViewOnlyAdminMixin,
    ViewOnlyTabularInline,
    money,
)
from dropship.core.errors import DomainError
from orders import selectors
from orders.models import (
    CaseAttachment,
    CaseStatement,
    Dispute,
    FraudRule,
    Order,
    OrderEvent,
    OrderItem,
    ReturnLine,
    ReturnPhoto,
    ReturnRequest,
    Shipment,
    ShipmentItem,
    StoreOrderSync,
    SupplierOrder,
    TrackingEvent,
)
from orders.services import cases, tracking
from orders.services.watchdog import clear_flag
from orders.views.cases import attachment_response

ORDER_ITEM_FIELDS: tuple[str, ...] = (
    "title",
    "sku",
    "variant",
    "quantity",
    "quantity_shipped",
    "wholesale_unit_price",
    "retail_unit_price",
    "status",
    "status_reason",
)


class OrderItemInline(ViewOnlyTabularInline):
    model = OrderItem
    fk_name = "order"
    fields = readonly_fields = ("supplier_order", *ORDER_ITEM_FIELDS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderItem]:
        return super().get_queryset(request).select_related("variant", "supplier_order")


class SupplierOrderItemInline(OrderItemInline):
    fk_name = "supplier_order"
    fields = readonly_fields = ORDER_ITEM_FIELDS


class SupplierOrderInline(ViewOnlyTabularInline):
    model = SupplierOrder
    fields = readonly_fields = (
        "number",
        "supplier",
        "status",
        "wholesale_total",
        "shipping_total",
        "platform_fee",
        "carrier",
        "tracking_number",
        "is_flagged",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[SupplierOrder]:
        return super().get_queryset(request).select_related("supplier")


class OrderEventInline(ViewOnlyTabularInline):
    model = OrderEvent
    fk_name = "order"
    show_change_link = False
    fields = readonly_fields = ("created_at", "kind", "message", "supplier_order", "actor")
    verbose_name_plural = "timeline"

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("supplier_order", "actor")


class ShipmentInline(ViewOnlyTabularInline):
    model = Shipment
    fields = readonly_fields = (
        "carrier",
        "tracking_number",
        "tracking_url",
        "shipped_at",
        "push_status",
        "push_error",
        "pushed_at",
        "tracking_status",
        "tracking_detail",
        "tracking_status_at",
        "delivered_at",
    )


class TrackingEventInline(ViewOnlyTabularInline):
    """The parcel's carrier scans (and supplier delivery reports), by the carrier's time."""

    model = TrackingEvent
    fields = readonly_fields = ("occurred_at", "status", "message", "location", "source")


class ShipmentItemInline(ViewOnlyTabularInline):
    model = ShipmentItem
    show_change_link = False
    fields = readonly_fields = ("order_item", "quantity")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShipmentItem]:
        return super().get_queryset(request).select_related("order_item")


@admin.register(Order)
class OrderAdmin(AuditedModelAdmin):
    shows_personal_data = True  # the shopper's name, e-mail and address: every read is logged
    list_display = [
        "number",
        "store",
        "retailer",
        "status",
        "total",
        "shipping_country",
        "placed_at",
        "created_at",
    ]
    list_filter = [
        "status",
        "is_held_for_review",
        "store__platform",
        "shipping_country",
        "is_redacted",
    ]
    search_fields = [
        "number",
        "store_order_id",
        "store__name",
        "store__domain",
        "retailer__business_name",
        "supplier_orders__number",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["store", "retailer"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "store_order_id",
                    "store",
                    "retailer",
                    "status",
                    "retail_total",
                    "currency",
                ]
            },
        ),
        (
            "Holds",
            {
                "fields": [
                    "is_held_for_review",
                    "review_reasons",
                    "is_awaiting_payment",
                    "is_missing_address",
                    "held_since",
                ]
            },
        ),
        (
            "Shopper (personal data, encrypted at rest)",
            {
                "fields": [
                    "shopper_name",
                    "shopper_email",
                    "shipping_address_lines",
                    "shipping_country",
                    "billing_country",
                    "is_redacted",
                ]
            },
        ),
        ("Dates", {"fields": ["placed_at", "cancelled_at", "created_at", "updated_at"]}),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)
    inlines = [SupplierOrderInline, OrderItemInline, OrderEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from stores (webhooks, API), never typed in

    @admin.display(description="total", ordering="retail_total")
    def total(self, obj: Order) -> str:
        return money(obj.retail_total, obj.currency)

    @admin.display(description="shipping address")
    def shipping_address_lines(self, obj: Order) -> str:
        address = obj.shipping_address
        if not address:
            return EMPTY
        if not isinstance(address, dict):
            return str(address)
        rows = ((key, value) for key, value in address.items() if value not in (None, ""))
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        )


@admin.register(SupplierOrder)
class SupplierOrderAdmin(AuditedModelAdmin):
    list_display = [
        "number",
        "order",
        "supplier",
        "status",
        "amount_due",
        "carrier",
        "tracking_number",
        "is_flagged",
        "flag_reason",
        "created_at",
    ]
    list_filter = ["status", "is_flagged", "carrier", "currency"]
    search_fields = [
        "number",
        "order__number",
        "order__store_order_id",
        "supplier__company_name",
        "tracking_number",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["order", "supplier"]
    fieldsets = [
        (None, {"fields": ["number", "order", "supplier", "status", "status_reason"]}),
        (
            "Money (frozen when routed)",
            {
                "fields": [
                    "currency",
                    "wholesale_total",
                    "shipping_total",
                    "platform_fee",
                    "commission_percent",
                ]
            },
        ),
        ("Tracking", {"fields": ["carrier", "tracking_number", "tracking_url"]}),
        (
            "Dates",
            {
                "fields": [
                    "paid_at",
                    "sent_at",
                    "accepted_at",
                    "shipped_at",
                    "delivered_at",
                    "cancelled_at",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
        ("Support", {"fields": ["is_flagged", "flag_reason", "flag_cleared_at"]}),
    ]
    # Support may raise or clear the watchdog flag; everything else moves through services.
    readonly_fields = [
        name for name in flatten_fieldsets(fieldsets) if name not in ("is_flagged", "flag_reason")
    ]
    inlines = [SupplierOrderItemInline, ShipmentInline]
    actions = ["clear_watchdog_flag"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # supplier orders are made by order routing

    @admin.action(description="Clear the watchdog flag (looked at)", permissions=["change"])
    def clear_watchdog_flag(
        self, request: AuthenticatedRequest, queryset: QuerySet[SupplierOrder]
    ) -> None:
        cleared = sum(
            clear_flag(supplier_order=supplier_order, actor=request.user)
            for supplier_order in queryset.filter(is_flagged=True).select_related("order")
        )
        self.message_user(request, f"Cleared {cleared} flag{'s' if cleared != 1 else ''}.")

    @admin.display(description="retailer pays", ordering="wholesale_total")
    def amount_due(self, obj: SupplierOrder) -> str:
        return money(obj.total, obj.currency)


@admin.register(OrderItem)
class OrderItemAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "title",
        "order",
        "supplier_order",
        "sku",
        "quantity",
        "quantity_shipped",
        "status",
    ]
    list_filter = ["status"]
    search_fields = ["title", "sku", "order__number", "supplier_order__number", "store_line_id"]
    list_select_related = ["order", "supplier_order"]


@admin.register(Shipment)
class ShipmentAdmin(AuditedModelAdmin):
    list_display = [
        "tracking_number",
        "carrier",
        "supplier_order",
        "shipped_at",
        "push_status",
        "pushed_at",
        "tracking_status",
        "delivered_at",
    ]
    list_filter = ["push_status", "tracking_status", "carrier"]
    search_fields = [
        "tracking_number",
        "supplier_order__number",
        "store_fulfillment_id",
        "tracker_id",
    ]
    date_hierarchy = "shipped_at"
    list_select_related = ["supplier_order"]
    readonly_fields = [
        "supplier_order",
        "carrier",
        "tracking_number",
        "shipped_at",
        "store_fulfillment_id",
        "push_status",
        "push_error",
        "pushed_at",
        "tracker_id",
        "tracker_error",
        "tracking_status",
        "tracking_detail",
        "tracking_status_at",
        "tracking_checked_at",
        "delivered_at",
        "created_at",
        "updated_at",
    ]
    fields = ["tracking_url", *readonly_fields]
    inlines = [ShipmentItemInline, TrackingEventInline]
    actions = ["retry_tracking_push"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a shipment is recorded by the supplier's fulfilment service, which pushes it

    @admin.action(description="Send the tracking number to the store again", permissions=["change"])
    def retry_tracking_push(
        self, request: AuthenticatedRequest, queryset: QuerySet[Shipment]
    ) -> None:
        queued = 0
        for shipment in queryset.select_related("supplier_order__order__store"):
            try:
                tracking.retry_tracking_push(shipment=shipment, actor=request.user)
            except DomainError:
                continue
            queued += 1
        self.message_user(request, f"Queued {queued} tracking push{'es' if queued != 1 else ''}.")


@admin.register(ShipmentItem)
class ShipmentItemAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["shipment", "order_item", "quantity"]
    search_fields = ["shipment__tracking_number", "order_item__title", "order_item__sku"]
    list_select_related = ["shipment", "order_item"]


@admin.register(TrackingEvent)
class TrackingEventAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Carrier scans and supplier delivery reports, by the carrier's time."""

    list_display = ["shipment", "status", "occurred_at", "source", "message"]
    list_filter = ["status", "source"]
    search_fields = ["shipment__tracking_number", "shipment__tracker_id"]
    list_select_related = ["shipment"]


@admin.register(FraudRule)
class FraudRuleAdmin(AuditedModelAdmin):
    """Staff set the platform defaults of the fraud checks (rows without a retailer) and can see
    or correct a retailer's own settings, which replace the default for that retailer."""

    list_display = ["kind", "retailer", "is_enabled", "amount", "max_orders", "window_hours"]
    list_filter = ["kind", "is_enabled", ("retailer", admin.EmptyFieldListFilter)]
    search_fields = ["retailer__business_name"]
    list_select_related = ["retailer"]
    raw_id_fields = ["retailer"]


@admin.register(StoreOrderSync)
class StoreOrderSyncAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Support's view of each store's order poll: its watermark, its last error, and whether its
    webhooks went quiet (the reason is the one the retailer sees)."""

    list_display = [
        "store",
        "watermark",
        "last_polled_at",
        "orders_found",
        "webhooks_quiet_since",
        "quiet_reason",
        "last_poll_error",
        "webhooks_repaired",
    ]
    list_filter = [("webhooks_quiet_since", admin.EmptyFieldListFilter)]
    search_fields = ["store__name", "store__domain"]
    list_select_related = ["store"]


@admin.register(OrderEvent)
class OrderEventAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["created_at", "order", "supplier_order", "kind", "message", "actor"]
    list_filter = ["kind"]
    search_fields = ["order__number", "supplier_order__number", "message"]
    date_hierarchy = "created_at"
    list_select_related = ["order", "supplier_order", "actor"]


class ReturnLineInline(ViewOnlyTabularInline):
    model = ReturnLine
    fields = readonly_fields = ("order_item", "quantity", "quantity_received")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReturnLine]:
        return super().get_queryset(request).select_related("order_item")


@admin.register(ReturnLine)
class ReturnLineAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["return_request", "order_item", "quantity", "quantity_received"]
    search_fields = ["return_request__number", "order_item__title", "order_item__sku"]
    list_select_related = ["return_request", "order_item"]


@admin.register(ReturnPhoto)
class ReturnPhotoAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """The photos are private files, served to the two parties by the return pages; staff see
    which return has how many here (and open them from the parties' pages when viewing as)."""

    list_display = ["return_request", "content_type", "created_at"]
    search_fields = ["return_request__number"]
    list_select_related = ["return_request"]
    exclude = ["image"]


@admin.register(ReturnRequest)
class ReturnRequestAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Returns move only through orders.services.returns (retailer and supplier pages and API):
    support reads them here, with the lines, the policy applied and the refund."""

    list_display = [
        "number",
        "supplier_order",
        "supplier_name",
        "reason_code",
        "status",
        "refund_amount",
        "created_at",
    ]
    list_filter = ["status", "reason_code", "condition", "return_shipping_paid_by"]
    search_fields = [
        "number",
        "supplier_order__number",
        "supplier_order__order__number",
        "return_tracking_number",
        "reason",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["supplier_order__supplier"]
    inlines = [ReturnLineInline]
    exclude = ["label_file"]

    @admin.display(description="supplier", ordering="supplier_order__supplier__company_name")
    def supplier_name(self, obj: ReturnRequest) -> str:
        return obj.supplier_order.supplier.company_name


@admin.register(CaseStatement)
class CaseStatementAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Statements are added through the case services (parties' pages, API, the case desk)."""

    list_display = ["created_at", "case", "party", "author"]
    list_filter = ["party"]
    search_fields = ["case__supplier_order__number", "body"]
    list_select_related = ["case__supplier_order", "author"]


@admin.register(CaseAttachment)
class CaseAttachmentAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Private files: no public URL, downloaded from the case desk only."""

    list_display = ["name", "statement", "content_type", "size", "download"]
    search_fields = ["name", "statement__case__supplier_order__number"]
    list_select_related = ["statement"]
    fields = ["name", "statement", "content_type", "size", "download"]
    readonly_fields = ["name", "statement", "content_type", "size", "download"]

    @admin.display(description="file")
    def download(self, obj: CaseAttachment) -> str:
        return format_html(
            '<a href="{}">Download</a>',
            reverse("admin:orders_dispute_attachment", args=[obj.statement.case_id, obj.pk]),
        )


class DecideCaseForm(forms.Form):
    outcome = forms.ChoiceField(choices=Dispute.Outcome.choices)
    amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        decimal_places=2,
        help_text="Only for a partial refund.",
    )
    resolution = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Shown to both parties."
    )


class AssignCaseForm(forms.Form):
    agent = forms.ModelChoiceField(
        queryset=User.objects.filter(is_staff=True, is_active=True).order_by("email"),
        label="Support agent",
    )


class SupportStatementForm(forms.Form):
    body = forms.CharField(label="Statement as support", widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Dispute)
class DisputeAdmin(AuditedModelAdmin):
    """Support's case queue: mediation cases and chargebacks, oldest first with the SLA clock.
    A mediation case is worked on its case desk (statements, attachments, assign, decide);
    chargebacks follow Stripe's events."""

    list_display = [
        "case_label",
        "kind",
        "supplier_order",
        "reason",
        "disputed_amount",
        "status",
        "assigned_to",
        "sla",
        "created_at",
    ]
    list_filter = ["kind", "status", "assigned_to", "currency"]
    search_fields = ["supplier_order__number", "stripe_dispute_id", "reason", "notes"]
    date_hierarchy = "created_at"
    ordering = ["created_at", "pk"]
    list_select_related = ["supplier_order", "assigned_to"]
    # Status, outcome and money follow the case services and Stripe's dispute events; support
    # writes notes here and decides on the case desk.
    readonly_fields = [
        "supplier_order",
        "kind",
        "stripe_dispute_id",
        "reason",
        "amount",
        "currency",
        "status",
        "opened_by",
        "opened_by_user",
        "return_request",
        "assigned_to",
        "outcome",
        "outcome_amount",
        "resolution",
        "decided_by",
        "decided_at",
        "reship_carrier",
        "reship_tracking_number",
        "closed_at",
        "created_at",
        "updated_at",
    ]
    fields = ["notes", *readonly_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # parties open cases from their order pages; Stripe opens chargebacks

    @admin.display(description="case", ordering="pk")
    def case_label(self, obj: Dispute) -> str:
        if obj.kind != Dispute.Kind.MEDIATION:
            return f"#{obj.pk}"
        return format_html(
            '<a href="{}">#{} case desk</a>',
            reverse("admin:orders_dispute_case", args=[obj.pk]),
            obj.pk,
        )

    @admin.display(description="SLA")
    def sla(self, obj: Dispute) -> str:
        label, overdue = selectors.sla_clock(obj)
        if overdue:
            return format_html('<strong style="color:#a00">{}</strong>', label)
        return label

    @admin.display(description="amount", ordering="amount")
    def disputed_amount(self, obj: Dispute) -> str:
        return money(obj.amount, obj.currency)

    def get_urls(self):
        return [
            path(
                "<int:case_id>/case/",
                self.admin_site.admin_view(self.case_view),
                name="orders_dispute_case",
            ),
            path(
                "<int:case_id>/case/attachments/<int:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name="orders_dispute_attachment",
            ),
            *super().get_urls(),
        ]

    def attachment_view(
        self, request: HttpRequest, case_id: int, attachment_id: int
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        case = selectors.get_case_for_staff(case_id=case_id)
        return attachment_response(
            selectors.get_case_attachment(case=case, attachment_id=attachment_id)
        )

    def case_view(self, request: HttpRequest, case_id: int) -> HttpResponse:
        """One mediation case: both parties' statements, assign, add support's word, decide."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        case = selectors.get_case_for_staff(case_id=case_id)
        if case.kind != Dispute.Kind.MEDIATION:
            return redirect("admin:orders_dispute_change", case.pk)
        can_act = self.has_change_permission(request, case)
        action = request.POST.get("action", "") if request.method == "POST" else ""
        decide_form = DecideCaseForm(request.POST if action == "decide" else None)
        assign_form = AssignCaseForm(
            request.POST if action == "assign" else None,
            initial={"agent": case.assigned_to_id or request.user.pk},
        )
        statement_form = SupportStatementForm(request.POST if action == "statement" else None)
        forms_by_action = {
            "decide": decide_form,
            "assign": assign_form,
            "statement": statement_form,
        }
        form = forms_by_action.get(action)
        if form is not None:
            if not can_act:
                raise PermissionDenied
            if form.is_valid():
                try:
                    done = self._act(request, case=case, action=action, data=form.cleaned_data)
                except DomainError as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                else:
                    self.message_user(request, done, messages.SUCCESS)
                    return redirect("admin:orders_dispute_case", case.pk)
        charge = case.supplier_order.charges.filter(status__in=Charge.PAID_STATUSES).first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Case #{case.pk} on {case.supplier_order.number}",
            "case": case,
            "statements": list(case.statements.all()),
            "charge": charge,
            "sla": selectors.sla_clock(case),
            "can_act": can_act and case.is_open,
            "decide_form": decide_form,
            "assign_form": assign_form,
            "statement_form": statement_form,
        }
        status = 400 if form is not None else 200
        return TemplateResponse(request, "admin/orders/dispute/case.html", context, status=status)

    def _act(self, request: HttpRequest, *, case: Dispute, action: str, data: dict) -> str:
        actor = request.user if isinstance(request.user, User) else None
        if action == "assign":
            cases.assign_case(case=case, agent=data["agent"], actor=actor)
            return f"Case #{case.pk} assigned to {data['agent'].email}."
        if action == "statement":
            cases.add_statement(
                case=case,
                party=Dispute.Party.SUPPORT,
                body=data["body"],
                actor=actor,
                attachments=request.FILES.getlist("attachments"),
            )
            return "Your statement was added; both parties are told."
        decided = cases.decide_case(
            case=case,
            outcome=data["outcome"],
            resolution=data["resolution"],
            amount=data["amount"],
            actor=actor,
        )
        return f"Case #{decided.pk} decided: {decided.get_outcome_display()}."
