"""Personal data exports: a user's own data, or an organisation's (its owner asks).

`request_data_export` records the request and enqueues the build after commit;
`build_data_export` (the task) writes a ZIP into private storage: `data.json` with every
section, one CSV per section (cells escaped by dropship.core.spreadsheet_export) and a README.
Safe to run twice: the file's name is fixed by the export's id, and only the run that turns the
row READY sends the e-mail. Secrets never leave: no password hash, no API key hash, no store
credentials or webhook secrets, no MFA secrets.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.files import File
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from billing.models import Charge, Invoice, LedgerEntry, Payout, Refund
from catalog.models import Product, Variant
from dropship.accounts.models import ApiKey, Invitation, Membership, User
from dropship.core.errors import DomainError, PermissionDenied
from dropship.core.models import AuditLogEntry
from dropship.core.spreadsheet_export import write_csv
from orders.models import Order, OrderItem, Shipment, SupplierOrder
from privacy.models import DataExport
from retailers.models import Listing, PricingRule, Retailer, Store
from suppliers.models import Supplier

logger = logging.getLogger(__name__)


class DataExportError(DomainError):
    """The export cannot be asked for (already running, not the owner)."""


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


def _section_rows(section: Section) -> list[dict[str, object]]:
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
            ("created_at", "actor__email", "action", "target_type", "target_id", "summary", "data"),
            lambda: AuditLogEntry.objects.filter(
                Q(target_type=organisation._meta.label_lower, target_id=str(organisation.pk))
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


# --- requesting ---------------------------------------------------------------------------------
@transaction.atomic
def request_data_export(*, user: User, scope: str) -> DataExport:
    """Record an export request and build it after commit. An organisation's data is for its
    owner only; a second request while one is being prepared is refused."""
    # local: tasks.py imports this module
    from privacy.tasks import build_data_export_task

    if scope not in DataExport.Scope.values:
        raise DataExportError("Choose what to export: your personal data or your organisation's.")
    organisation: dict[str, Any] = {}
    if scope == DataExport.Scope.ORGANISATION:
        membership = Membership.objects.filter(user=user).first()
        if membership is None or not membership.is_owner:
            raise PermissionDenied("Only an owner can export the organisation's data.")
        organisation = (
            {"supplier": membership.supplier}
            if membership.supplier_id
            else {"retailer": membership.retailer}
        )
    User.objects.select_for_update().filter(pk=user.pk).first()  # one request at a time
    if DataExport.objects.filter(
        requested_by=user,
        scope=scope,
        status__in=[DataExport.Status.PENDING, DataExport.Status.RUNNING],
    ).exists():
        raise DataExportError("An export of this data is already being prepared.")
    export = DataExport.objects.create(requested_by=user, scope=scope, **organisation)
    transaction.on_commit(lambda: build_data_export_task.delay(export.pk))
    return export


# --- building -----------------------------------------------------------------------------------
README = """This archive holds the data Dropship keeps about {subject}, as of {when}.

data.json   every section below, as JSON (amounts as decimal strings, times in UTC, ISO 8601)
<section>.csv   the same sections as spreadsheets; text cells that would start a formula
            (= + - @ tab, carriage return) begin with an apostrophe

Secrets are not included: password hashes, API key hashes, store access tokens, webhook
secrets and two-factor secrets. Sections: {sections}.
"""


def _archive_name(export: DataExport) -> str:
    return f"exports/{export.public_id}.zip"


def _write_archive(*, export: DataExport, handle: Any) -> None:
    sections = export_sections(export)
    subject = (
        export.requested_by.email
        if export.scope == DataExport.Scope.USER
        else str(export.organisation)
    )
    everything: dict[str, list[dict[str, object]]] = {}
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, section in enumerate(sections, start=1):
            rows = _section_rows(section)
            everything[section.name] = rows
            text = io.StringIO()
            write_csv(text, _csv_rows(section.fields, rows))
            archive.writestr(f"{section.name}.csv", text.getvalue())
            DataExport.objects.filter(pk=export.pk).update(
                progress=min(99, done * 100 // (len(sections) + 1))
            )
        archive.writestr(
            "data.json", json.dumps(everything, indent=2, ensure_ascii=False, default=str)
        )
        archive.writestr(
            "README.txt",
            README.format(
                subject=subject,
                when=timezone.now().isoformat(timespec="seconds"),
                sections=", ".join(s.name for s in sections),
            ),
        )


def _csv_rows(fields: Iterable[str], rows: list[dict[str, object]]) -> Iterable[list[object]]:
    names = list(fields)
    yield list[object](names)
    for row in rows:
        yield [
            json.dumps(row[f], ensure_ascii=False) if isinstance(row[f], dict | list) else row[f]
            for f in names
        ]


def build_data_export(*, export_id: int) -> DataExport | None:
    """Build the archive and mark the export READY (e-mailing the link once). A finished or
    expired export is left alone; a failure is recorded on the row."""
    claimed = DataExport.objects.filter(
        pk=export_id, status__in=[DataExport.Status.PENDING, DataExport.Status.RUNNING]
    ).update(status=DataExport.Status.RUNNING)
    if not claimed:
        return None
    export = DataExport.objects.select_related("requested_by", "supplier", "retailer").get(
        pk=export_id
    )
    storage = export.file.storage
    name = _archive_name(export)
    try:
        with tempfile.TemporaryFile() as handle:
            _write_archive(export=export, handle=handle)
            size = handle.tell()
            handle.seek(0)
            if storage.exists(name):  # an earlier run of this task wrote it
                storage.delete(name)
            saved = storage.save(name, File(handle))
    except Exception:
        logger.exception("Data export %s failed", export.pk)
        DataExport.objects.filter(pk=export.pk, status=DataExport.Status.RUNNING).update(
            status=DataExport.Status.FAILED,
            error="The export could not be prepared; ask for a new one.",
        )
        raise
    now = timezone.now()
    expires_at = now + timedelta(hours=settings.DATA_EXPORT_EXPIRY_HOURS)
    finished = DataExport.objects.filter(pk=export.pk, status=DataExport.Status.RUNNING).update(
        status=DataExport.Status.READY,
        file=saved,
        size_bytes=size,
        progress=100,
        finished_at=now,
        expires_at=expires_at,
    )
    export.refresh_from_db()
    if finished:
        _send_ready_email(export)
    elif saved != export.file.name:  # another run finished first; its file is the one kept
        storage.delete(saved)
    return export


def download_url(export: DataExport) -> str:
    return f"{settings.SITE_URL}{reverse('privacy:download', args=[export.public_id])}"


def _send_ready_email(export: DataExport) -> None:
    assert export.expires_at is not None  # noqa: S101
    what = (
        "your personal data"
        if export.scope == DataExport.Scope.USER
        else f"the data of {export.organisation}"
    )
    send_mail(
        "Your Dropship data export is ready",
        f"The export of {what} is ready. Download it (signed in as {export.requested_by.email}) "
        f"until {export.expires_at:%Y-%m-%d %H:%M} UTC:\n\n{download_url(export)}\n\n"
        "The link works only for you; after that time the file is deleted.",
        None,
        [export.requested_by.email],
    )


def delete_exports_of(*, user: User) -> int:
    """Delete every export the user asked for, files included (their account is being erased:
    the archives hold the very data being erased)."""
    owned = DataExport.objects.filter(requested_by=user)
    for export in owned.exclude(file=""):
        if export.file.name:
            export.file.storage.delete(export.file.name)
    deleted, _ = owned.delete()
    return deleted


def delete_expired_data_exports(*, now: datetime | None = None) -> int:
    """Delete the files of exports past their expiry and mark them EXPIRED."""
    now = now or timezone.now()
    expired = 0
    for export in DataExport.objects.filter(
        status=DataExport.Status.READY, expires_at__lte=now
    ).order_by("pk")[:500]:
        if export.file.name:
            export.file.storage.delete(export.file.name)
        expired += DataExport.objects.filter(pk=export.pk, status=DataExport.Status.READY).update(
            status=DataExport.Status.EXPIRED, file="", size_bytes=0
        )
    return expired
