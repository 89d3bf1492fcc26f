"""Billing in the admin. Fee schedules are set here by platform admins; every other money record
(charges, invoices, payouts, ledger, Stripe events) is written by the billing services only and is
view-only for everyone."""

from django.contrib import admin

from billing.models import (
    Charge,
    FeeSchedule,
    Invoice,
    InvoiceCounter,
    LedgerEntry,
    Payout,
    StripeEvent,
)
from dropship.core.admin_utils import ViewOnlyAdminMixin, ViewOnlyTabularInline, money, pretty_json


@admin.register(FeeSchedule)
class FeeScheduleAdmin(admin.ModelAdmin):
    list_display = [
        "plan",
        "monthly_price",
        "order_fee",
        "commission_percent",
        "monthly_order_limit",
        "supplier_limit",
        "currency",
        "updated_at",
    ]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Charge)
class ChargeAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
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


class InvoiceChargeInline(ViewOnlyTabularInline):
    model = Charge
    fields = ["supplier_order", "method", "status", "amount", "currency", "created_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("supplier_order")


@admin.register(Invoice)
class InvoiceAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
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
class InvoiceCounterAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["year", "last_sequence"]


@admin.register(Payout)
class PayoutAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
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
class LedgerEntryAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
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


@admin.register(StripeEvent)
class StripeEventAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["event_id", "type", "created", "processed_at"]
    list_filter = ["type"]
    search_fields = ["=event_id", "type"]
    date_hierarchy = "created"
    fields = ["event_id", "type", "created", "processed_at", "payload_json"]
    readonly_fields = fields

    @admin.display(description="payload")
    def payload_json(self, obj: StripeEvent) -> str:
        return pretty_json(obj.payload)
