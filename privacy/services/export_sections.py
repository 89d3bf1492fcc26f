"""What a data export holds: one Section per file, each a queryset and the fields it shows.

Secrets never appear: no password or API key hash, no store credentials or webhook secret, no
two-factor secret. A supplier's supplier orders carry no shopper data (the retailer is its
controller)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db.models import Q, QuerySet

from billing.models import Charge, Invoice, LedgerEntry, Payout, Refund
from catalog.models import Product, Variant
from dropship.accounts.models import ApiKey, Invitation, Membership, User
from dropship.core.models import AuditLogEntry
from messaging.models import Message
from orders.models import Order, OrderItem, Shipment, SupplierOrder
from privacy.models import DataExport
from retailers.models import Listing, PricingRule, Retailer, Store
from suppliers.models import Supplier


@dataclass(frozen=True)
class Section:
    name: str
    fields: tuple[str, ...]
    rows: Callable[[], QuerySet[Any]]


def _plain(value: object) -> object:
    """A JSON-safe value (amounts as strings so no float rounding creeps in)."""
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def section_rows(section: Section) -> list[dict[str, object]]:
    return [
        {field: _plain(value) for field, value in row.items()}
        for row in section.rows().values(*section.fields).order_by("pk")
    ]


# --- what is exported ---------------------------------------------------------------------------
def user_sections(user: User) -> list[Section]:
    """Everything about one person (not their organisation's business data)."""
    return [
        Section(
            "profile",
            ("id", "email", "full_name", "first_name", "last_name", "date_joined", "last_login"),
            lambda: User.objects.filter(pk=user.pk),
        ),
        Section(
            "email_addresses",
            ("email", "verified", "primary"),
            lambda: EmailAddress.objects.filter(user=user),
        ),
        Section(
            "membership",
            ("supplier__company_name", "retailer__business_name", "role", "created_at"),
            lambda: Membership.objects.filter(user=user),
        ),
        Section(
            "two_factor_methods",
            ("type", "created_at", "last_used_at"),
            lambda: Authenticator.objects.filter(user=user),
        ),
        Section(
            "api_keys_created",
            ("name", "prefix", "created_at", "last_used_at", "revoked_at"),
            lambda: ApiKey.objects.filter(created_by=user),
        ),
        Section(
            "invitations",
            ("email", "role", "created_at", "accepted_at", "invited_by__email"),
            lambda: Invitation.objects.filter(
                Q(invited_by=user) | Q(accepted_by=user) | Q(email__iexact=user.email)
            ),
        ),
        Section(
            "audit_entries",
            ("created_at", "action", "target_type", "target_id", "summary", "data"),
            lambda: AuditLogEntry.objects.filter(
                Q(actor=user) | Q(target_type="accounts.user", target_id=str(user.pk))
            ),
        ),
        Section(
            "messages_written",
            ("thread__supplier_order__number", "side", "body", "created_at"),
            lambda: Message.objects.filter(author=user),
        ),
        Section(
            "data_exports",
            ("scope", "status", "created_at", "finished_at", "expires_at"),
            lambda: DataExport.objects.filter(requested_by=user),
        ),
    ]


def _common_organisation_sections(organisation: Supplier | Retailer) -> list[Section]:
    key = "supplier" if isinstance(organisation, Supplier) else "retailer"
    scope = {key: organisation}
    member_ids = Membership.objects.filter(**scope).values("user_id")
    return [
        Section(
            "members",
            ("user__email", "user__full_name", "role", "created_at"),
            lambda: Membership.objects.filter(**scope),
        ),
        Section(
            "invitations",
            ("email", "role", "created_at", "expires_at", "accepted_at"),
            lambda: Invitation.objects.filter(**scope),
        ),
        Section(
            "api_keys",
            ("name", "prefix", "created_by__email", "created_at", "last_used_at", "revoked_at"),
            lambda: ApiKey.objects.filter(**scope),
        ),
        Section(
            "messages",
            (
                "thread__supplier_order__number",
                "side",
                "author__email",
                "body",
                "created_at",
                "attachments__name",
            ),
            lambda: Message.objects.filter(**{f"thread__{key}": organisation}),
        ),
        Section(
            "ledger_lines",
            (
                "created_at",
                "transaction_id",
                "kind",
                "account",
                "supplier_order__number",
                "amount",
                "currency",
                "memo",
            ),
            lambda: LedgerEntry.objects.filter(**scope),
        ),
        Section(
            "audit_entries",
            (
                "created_at",
                "actor_label",
                "action",
                "target_type",
                "target_id",
                "summary",
                "changes",
                "data",
            ),
            lambda: AuditLogEntry.objects.filter(
                Q(**{organisation._meta.model_name or "": organisation})
                | Q(target_type=organisation._meta.label_lower, target_id=str(organisation.pk))
                | Q(actor__in=member_ids)
            ),
        ),
    ]


def retailer_sections(retailer: Retailer) -> list[Section]:
    stores = Store.objects.filter(retailer=retailer)
    orders = Order.objects.filter(retailer=retailer)
    return [
        Section(
            "organisation",
            (
                "business_name",
                "slug",
                "contact_email",
                "status",
                "plan",
                "currency",
                "has_payment_terms",
                "brand_name",
                "packing_slip_message",
                "home_country",
                "processing_fee_percent",
                "processing_fee_fixed",
                "card_brand",
                "card_last4",
                "created_at",
            ),
            lambda: Retailer.objects.filter(pk=retailer.pk),
        ),
        *_common_organisation_sections(retailer),
        # Store credentials and webhook secrets are never exported.
        Section(
            "stores",
            ("public_id", "name", "platform", "domain", "status", "currency", "connected_at"),
            lambda: stores,
        ),
        Section(
            "pricing_rules",
            ("name", "store__name", "category__name", "method", "value", "rounding"),
            lambda: PricingRule.objects.filter(retailer=retailer),
        ),
        Section(
            "listings",
            (
                "store__name",
                "product__title",
                "title",
                "store_product_id",
                "status",
                "sync_status",
                "last_synced_at",
            ),
            lambda: Listing.objects.filter(store__retailer=retailer),
        ),
        Section(
            "orders",
            (
                "number",
                "store__name",
                "store_order_id",
                "status",
                "currency",
                "retail_total",
                "shopper_name",
                "shopper_email",
                "shipping_address",
                "shipping_country",
                "placed_at",
                "cancelled_at",
                "is_redacted",
            ),
            lambda: orders,
        ),
        Section(
            "order_items",
            ("order__number", "sku", "title", "quantity", "quantity_shipped", "status"),
            lambda: OrderItem.objects.filter(order__retailer=retailer),
        ),
        Section(
            "supplier_orders",
            _SUPPLIER_ORDER_FIELDS,
            lambda: SupplierOrder.objects.filter(order__retailer=retailer),
        ),
        Section(
            "shipments",
            _SHIPMENT_FIELDS,
            lambda: Shipment.objects.filter(supplier_order__order__retailer=retailer),
        ),
        Section(
            "charges",
            (
                "supplier_order__number",
                "method",
                "status",
                "amount",
                "amount_refunded",
                "currency",
                "card_label",
                "created_at",
            ),
            lambda: Charge.objects.filter(retailer=retailer),
        ),
        Section(
            "refunds",
            ("supplier_order__number", "status", "amount", "currency", "reason", "refunded_at"),
            lambda: Refund.objects.filter(supplier_order__order__retailer=retailer),
        ),
        Section(
            "invoices",
            (
                "number",
                "status",
                "period_start",
                "period_end",
                "subtotal",
                "total",
                "currency",
                "issued_at",
                "due_at",
                "paid_at",
                "lines",
            ),
            lambda: Invoice.objects.filter(retailer=retailer),
        ),
    ]


_SUPPLIER_ORDER_FIELDS = (
    "number",
    "order__number",
    "supplier__company_name",
    "status",
    "currency",
    "wholesale_total",
    "shipping_total",
    "platform_fee",
    "carrier",
    "tracking_number",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
)
_SHIPMENT_FIELDS = (
    "supplier_order__number",
    "carrier",
    "tracking_number",
    "tracking_url",
    "shipped_at",
    "push_status",
)


def supplier_sections(supplier: Supplier) -> list[Section]:
    return [
        Section(
            "organisation",
            (
                "company_name",
                "legal_name",
                "slug",
                "business_type",
                "description",
                "contact_email",
                "phone",
                "website",
                "ship_from_country",
                "handling_days",
                "currency",
                "status",
                "order_channel",
                "webhook_url",
                "order_email",
                "created_at",
            ),
            lambda: Supplier.objects.filter(pk=supplier.pk),
        ),
        *_common_organisation_sections(supplier),
        Section(
            "products",
            ("id", "handle", "title", "description", "status", "attributes", "created_at"),
            lambda: Product.objects.filter(supplier=supplier),
        ),
        Section(
            "variants",
            (
                "product__handle",
                "sku",
                "options",
                "wholesale_price",
                "msrp",
                "weight_grams",
                "stock_on_hand",
                "stock_reserved",
            ),
            lambda: Variant.objects.filter(supplier=supplier),
        ),
        # A supplier order without the shopper's data: the retailer is its controller.
        Section(
            "supplier_orders",
            _SUPPLIER_ORDER_FIELDS,
            lambda: SupplierOrder.objects.filter(supplier=supplier),
        ),
        Section(
            "shipments",
            _SHIPMENT_FIELDS,
            lambda: Shipment.objects.filter(supplier_order__supplier=supplier),
        ),
        Section(
            "payouts",
            (
                "supplier_order__number",
                "amount",
                "amount_reversed",
                "currency",
                "status",
                "available_at",
                "paid_at",
            ),
            lambda: Payout.objects.filter(supplier=supplier),
        ),
    ]


def export_sections(export: DataExport) -> list[Section]:
    if export.scope == DataExport.Scope.USER:
        return user_sections(export.requested_by)
    if export.supplier is not None:
        return supplier_sections(export.supplier)
    assert export.retailer is not None  # the scope constraint  # noqa: S101
    return retailer_sections(export.retailer)
