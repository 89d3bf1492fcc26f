"""Billing in the admin. Fee schedules are set here by platform admins; every other money record
(charges, invoices, payouts, ledger, Stripe events) is written by the billing services only and is
view-only for everyone."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path

from billing.forms import RefundForm
from billing.models import (
    BankPayout,
    Charge,
    ConnectedAccount,
    FeeSchedule,
    Invoice,
    InvoiceCounter,
    LedgerEntry,
    Payout,
    PlanUsage,
    ReconciliationMismatch,
    ReconciliationRun,
    Refund,
    StripeEvent,
    Subscription,
    SubscriptionInvoice,
    TransferReversal,
)
from billing.services import RefundError, RefundPending, refund_supplier_order
from dropship.core.admin_utils import (
    AuditedModelAdmin,
    ViewOnlyAdminMixin,
    ViewOnlyTabularInline,
    admin_link,
    money,
    pretty_json,
)
from orders.models import OrderItem


@admin.register(FeeSchedule)
class FeeScheduleAdmin(AuditedModelAdmin):
    list_display = [
        "plan",
        "monthly_price",
        "order_fee",
        "commission_percent",
        "monthly_order_limit",
        "supplier_limit",
        "store_limit",
        "overage_order_fee",
        "trial_days",
        "currency",
        "updated_at",
    ]
    # The Stripe ids are written by `manage.py sync_stripe_plans` (run it after a price change).
    readonly_fields = ["stripe_product_id", "stripe_price_id", "created_at", "updated_at"]


@admin.register(Subscription)
class SubscriptionAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Mirrors Stripe Billing (billing/services/plans.py): changed only by Stripe's events."""

    list_display = [
        "retailer",
        "plan",
        "status",
        "current_period_end",
        "cancel_at_period_end",
        "past_due_since",
    ]
    list_filter = ["status", "plan", "cancel_at_period_end"]
    search_fields = ["stripe_subscription_id", "retailer__business_name"]
    list_select_related = ["retailer"]


@admin.register(SubscriptionInvoice)
class SubscriptionInvoiceAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "number",
        "retailer",
        "billing_reason",
        "status",
        "amount_due",
        "amount_paid",
        "currency",
        "issued_at",
        "booked_at",
    ]
    list_filter = ["status", "billing_reason"]
    search_fields = ["number", "stripe_invoice_id", "retailer__business_name"]
    list_select_related = ["retailer"]


@admin.register(PlanUsage)
class PlanUsageAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["retailer", "month", "routed_orders", "overage_orders"]
    list_filter = ["month"]
    search_fields = ["retailer__business_name"]
    list_select_related = ["retailer"]


class ChargeRefundInline(ViewOnlyTabularInline):
    model = Refund
    fk_name = "charge"
    fields = (
        "created_at",
        "source",
        "status",
        "amount",
        "reason",
        "created_by",
        "stripe_refund_id",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


@admin.register(Charge)
class ChargeAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Charges are written by the payment services; support refunds them from here."""

    inlines = [ChargeRefundInline]
    actions = ["refund_selected"]
    change_form_template = "admin/billing/charge/change_form.html"
    list_display = [
        "created_at",
        "supplier_order",
        "retailer",
        "method",
        "status",
        "charged",
        "refunded",
        "stripe_payment_intent_id",
    ]
    list_filter = ["status", "method", "currency"]
    search_fields = [
        "supplier_order__number",
        "retailer__business_name",
        "stripe_payment_intent_id",
        "stripe_charge_id",
        "idempotency_key",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["supplier_order", "retailer"]

    @admin.display(description="amount", ordering="amount")
    def charged(self, obj: Charge) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description="refunded", ordering="amount_refunded")
    def refunded(self, obj: Charge) -> str:
        return money(obj.amount_refunded, obj.currency)

    # --- refunds (permission billing.refund_charge: support agents and platform admins) --------
    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("billing.refund_charge")

    @admin.action(description="Refund the selected charge…", permissions=["refund"])
    def refund_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Refund one charge at a time.", messages.WARNING)
            return None
        return redirect("admin:billing_charge_refund", queryset.get().pk)

    def get_urls(self):
        return [
            path(
                "<int:charge_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="billing_charge_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request, charge_id: int):
        if not self.has_refund_permission(request):
            raise PermissionDenied
        charge = get_object_or_404(
            Charge.objects.select_related("supplier_order__order", "retailer"), pk=charge_id
        )
        supplier_order = charge.supplier_order
        items = list(
            OrderItem.objects.filter(
                supplier_order=supplier_order, wholesale_unit_price__isnull=False
            ).order_by("pk")
        )
        form = RefundForm(request.POST or None, items=items)
        if request.method == "POST" and form.is_valid():
            try:
                refund = refund_supplier_order(
                    supplier_order=supplier_order,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    **form.refund_kwargs(),
                )
            except RefundPending as exc:
                self.message_user(request, exc.message, messages.WARNING)
                return redirect("admin:billing_charge_change", charge.pk)
            except RefundError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                if refund.status == Refund.Status.FAILED:
                    form.add_error(None, refund.failure_message)
                else:
                    self.message_user(
                        request,
                        f"Refunded {money(refund.amount, refund.currency)} on "
                        f"{supplier_order.number}.",
                        messages.SUCCESS,
                    )
                    return redirect("admin:billing_charge_change", charge.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund {supplier_order.number}",
            "opts": self.model._meta,
            "charge": charge,
            "supplier_order": supplier_order,
            "form": form,
            "refundable": money(charge.refundable, charge.currency),
        }
        return TemplateResponse(request, "admin/billing/charge/refund.html", context)

    def render_change_form(self, request, context, *args, **kwargs):
        obj = kwargs.get("obj") or context.get("original")
        context["can_refund"] = bool(
            obj is not None
            and obj.is_paid
            and obj.refundable
            and self.has_refund_permission(request)
        )
        return super().render_change_form(request, context, *args, **kwargs)


class InvoiceChargeInline(ViewOnlyTabularInline):
    model = Charge
    fields = ("supplier_order", "method", "status", "amount", "currency", "created_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("supplier_order")


@admin.register(Invoice)
class InvoiceAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "number",
        "retailer",
        "status",
        "invoice_total",
        "period_start",
        "period_end",
        "issued_at",
        "due_at",
        "paid_at",
    ]
    list_filter = ["status", "year", "currency"]
    search_fields = ["number", "retailer__business_name"]
    date_hierarchy = "issued_at"
    list_select_related = ["retailer"]
    exclude = ["lines"]
    readonly_fields = ["lines_json"]
    inlines = [InvoiceChargeInline]

    @admin.display(description="total", ordering="total")
    def invoice_total(self, obj: Invoice) -> str:
        return money(obj.total, obj.currency)

    @admin.display(description="lines")
    def lines_json(self, obj: Invoice) -> str:
        return pretty_json(obj.lines)


@admin.register(InvoiceCounter)
class InvoiceCounterAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["year", "last_sequence"]


@admin.register(Payout)
class PayoutAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "created_at",
        "supplier",
        "supplier_order",
        "status",
        "payout_amount",
        "available_at",
        "paid_at",
        "stripe_transfer_id",
    ]
    list_filter = ["status", "currency"]
    search_fields = [
        "supplier__company_name",
        "supplier_order__number",
        "stripe_transfer_id",
        "transfer_group",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["supplier", "supplier_order"]

    @admin.display(description="amount", ordering="amount")
    def payout_amount(self, obj: Payout) -> str:
        return money(obj.amount, obj.currency)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "created_at",
        "transaction_id",
        "kind",
        "account",
        "signed_amount",
        "retailer",
        "supplier",
        "supplier_order",
        "memo",
    ]
    list_filter = ["kind", "account", "currency"]
    search_fields = [
        "transaction_id__exact",
        "memo",
        "supplier_order__number",
        "supplier__company_name",
        "retailer__business_name",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["retailer", "supplier", "supplier_order"]

    @admin.display(description="amount", ordering="amount")
    def signed_amount(self, obj: LedgerEntry) -> str:
        return money(obj.amount, obj.currency)


@admin.register(Refund)
class RefundAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "created_at",
        "supplier_order",
        "source",
        "status",
        "refund_amount",
        "supplier_share",
        "platform_fee_share",
        "commission_returned",
        "created_by",
        "reversed_at",
    ]
    list_filter = ["status", "source", "currency", ("reversed_at", admin.EmptyFieldListFilter)]
    search_fields = ["supplier_order__number", "stripe_refund_id", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["supplier_order", "created_by"]

    @admin.display(description="amount", ordering="amount")
    def refund_amount(self, obj: Refund) -> str:
        return money(obj.amount, obj.currency)


@admin.register(TransferReversal)
class TransferReversalAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["created_at", "payout", "status", "reversal_amount", "stripe_reversal_id"]
    list_filter = ["status", "currency"]
    search_fields = ["stripe_reversal_id", "payout__supplier_order__number"]
    list_select_related = ["payout__supplier_order"]

    @admin.display(description="amount", ordering="amount")
    def reversal_amount(self, obj: TransferReversal) -> str:
        return money(obj.amount, obj.currency)


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "supplier",
        "stripe_account_id",
        "details_submitted",
        "payouts_enabled",
        "transfers_active",
        "disabled_reason",
        "synced_at",
    ]
    list_filter = ["payouts_enabled", "transfers_active"]
    search_fields = ["stripe_account_id", "supplier__company_name"]
    list_select_related = ["supplier"]


@admin.register(BankPayout)
class BankPayoutAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["reported_at", "supplier", "stripe_payout_id", "status", "bank_amount"]
    list_filter = ["status", "currency"]
    search_fields = ["stripe_payout_id", "supplier__company_name"]
    list_select_related = ["supplier"]

    @admin.display(description="amount", ordering="amount")
    def bank_amount(self, obj: BankPayout) -> str:
        return money(obj.amount, obj.currency)


class MismatchInline(ViewOnlyTabularInline):
    model = ReconciliationMismatch
    fields = ("kind", "reference", "supplier_order", "expected", "actual", "message", "is_resolved")
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("supplier_order")


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "day",
        "status",
        "mismatch_count",
        "balance_transactions_checked",
        "supplier_orders_checked",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status"]
    date_hierarchy = "day"
    inlines = [MismatchInline]


@admin.register(ReconciliationMismatch)
class ReconciliationMismatchAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """What reconciliation found; an admin marks each one resolved once it is explained."""

    list_display = [
        "created_at",
        "kind",
        "reference",
        "order_link",
        "expected",
        "actual",
        "message",
        "is_resolved",
    ]
    list_filter = ["is_resolved", "kind", "run__day"]
    search_fields = ["reference", "message", "supplier_order__number"]
    list_select_related = ["supplier_order", "run"]
    actions = ["mark_resolved"]

    @admin.display(description="supplier order")
    def order_link(self, obj: ReconciliationMismatch) -> str:
        return admin_link(obj.supplier_order)

    def has_resolve_permission(self, request) -> bool:
        return request.user.has_perm("billing.change_reconciliationmismatch")

    @admin.action(description="Mark resolved", permissions=["resolve"])
    def mark_resolved(self, request, queryset):
        count = queryset.filter(is_resolved=False).update(
            is_resolved=True, resolved_by=request.user
        )
        self.message_user(request, f"{count} mismatch(es) marked resolved.", messages.SUCCESS)


@admin.register(StripeEvent)
class StripeEventAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["event_id", "type", "created", "processed_at"]
    list_filter = ["type"]
    search_fields = ["=event_id", "type"]
    date_hierarchy = "created"
    fields = ("event_id", "type", "created", "processed_at", "payload_json")
    readonly_fields = fields

    @admin.display(description="payload")
    def payload_json(self, obj: StripeEvent) -> str:
        return pretty_json(obj.payload)
