"""Every registered admin page renders with real rows, and list pages do not query per row."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import (
    BankPayout,
    Charge,
    ConnectedAccount,
    FeeSchedule,
    Invoice,
    InvoiceCounter,
    LedgerEntry,
    Payout,
    ReconciliationMismatch,
    ReconciliationRun,
    Refund,
    StripeEvent,
    TransferReversal,
)
from catalog.models import ImportJob, ImportRowError, ProductImage, StockMovement
from dropship.accounts.models import (
    ApiKey,
    IdempotencyRecord,
    Invitation,
    Notification,
    User,
    ViewAsSession,
)
from dropship.core.audit import record_audit
from dropship.core.models import ExchangeRate, ProcessLock
from integrations.models import ApiVersionNotice, InboundWebhook, OutboundPush
from orders.models import (
    CaseAttachment,
    CaseStatement,
    Dispute,
    OrderEvent,
    ReturnLine,
    ReturnPhoto,
    ReturnRequest,
    Shipment,
    ShipmentItem,
    TrackingEvent,
)
from retailers.models import (
    DigestNotice,
    ImportListItem,
    NoticePreference,
    PriceChange,
    PriceDigest,
    PricingRule,
    PricingTier,
    StoreImportItem,
    StoreImportJob,
    VariantChange,
)
from suppliers.models import (
    ReturnPolicy,
    SupplierProfileChange,
    SupplierStatusChange,
    SupplierVerification,
)
from tests import factories
from tests.mfa import login_with_second_factor

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _populate(n: int = 0) -> dict:
    """One row of every registered model, linked the way the domain links them; `n` keeps the
    unique values of each call apart."""
    superuser = User.objects.create_superuser(f"root{n}@example.com", "root-password-123")
    EmailAddress.objects.create(user=superuser, email=superuser.email, verified=True, primary=True)
    member = factories.SupplierMemberFactory()
    supplier = member.supplier
    SupplierVerification.objects.create(
        supplier=supplier,
        registration_number="REG-1",
        country="US",
        answers={"years_trading": "7"},
    )
    SupplierStatusChange.objects.create(
        supplier=supplier, from_status="PENDING", to_status="ACTIVE", actor=superuser
    )
    factories.ShippingRateFactory(supplier=supplier)
    category = factories.CategoryFactory(parent=factories.CategoryFactory())
    product = factories.ProductFactory(supplier=supplier, category=category)
    ProductImage.objects.create(product=product, source_url="https://cdn.example.com/a.jpg")
    variant = factories.VariantFactory(product=product, options={"Size": "M"})
    StockMovement.objects.create(
        variant=variant,
        source=StockMovement.Source.PAGE,
        on_hand_before=90,
        on_hand_after=100,
        reserved_before=0,
        reserved_after=0,
        actor=member.user,
    )
    retailer_member = factories.RetailerMemberFactory()
    retailer = retailer_member.retailer
    store = factories.StoreFactory(retailer=retailer)
    rule = PricingRule.objects.create(retailer=retailer, name="Default")
    PricingTier.objects.create(rule=rule, min_cost=Decimal("0"), method="PERCENT", value=50)
    listing = factories.ListingFactory(store=store, product=product, pricing_rule=rule)
    listing_variant = factories.ListingVariantFactory(listing=listing, variant=variant)
    order = factories.OrderFactory(store=store)
    supplier_order = factories.SupplierOrderFactory(order=order, supplier=supplier)
    item = factories.OrderItemFactory(
        order=order,
        supplier_order=supplier_order,
        variant=variant,
        listing_variant=listing_variant,
        sku=variant.sku,
    )
    shipment = Shipment.objects.create(
        supplier_order=supplier_order,
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
        shipped_at=timezone.now(),
    )
    ShipmentItem.objects.create(shipment=shipment, order_item=item, quantity=1)
    TrackingEvent.objects.create(
        shipment=shipment, status="IN_TRANSIT", occurred_at=timezone.now(), message="Hub"
    )
    NoticePreference.objects.create(retailer=retailer, kind="order_shipped", delivery="DIGEST")
    DigestNotice.objects.create(
        retailer=retailer, kind="order_shipped", subject="Shipped", message="Shipped"
    )
    job = ImportJob.objects.create(
        supplier=supplier,
        original_filename=f"catalog-{n}.csv",
        file=f"imports/catalog-{n}.csv",
        file_format=ImportJob.FileFormat.CSV,
    )
    ImportRowError.objects.create(job=job, row_number=2, column="sku", message="SKU is missing.")
    OrderEvent.objects.create(
        order=order, supplier_order=supplier_order, kind="received", message="Order received"
    )
    return_request = ReturnRequest.objects.create(
        supplier_order=supplier_order,
        number=f"RMA-{supplier_order.number}-1",
        reason_code=ReturnRequest.Reason.NO_LONGER_WANTED,
        reason="Too small",
    )
    ReturnLine.objects.create(return_request=return_request, order_item=item, quantity=1)
    ReturnPhoto.objects.create(
        return_request=return_request, image="returns/scratch.png", content_type="image/png"
    )
    ReturnPolicy.objects.create(supplier=supplier, window_days=30, return_address="1 Dock Road")
    ExchangeRate.objects.get_or_create(
        base="USD", quote="EUR", day=timezone.localdate(), defaults={"rate": Decimal("0.92")}
    )
    SupplierProfileChange.objects.create(supplier=supplier, changes={"tax_id": ["", "GB123456789"]})
    ProcessLock.objects.create(
        namespace=1,
        key=n,
        holder=uuid.uuid4(),
        acquired_at=timezone.now(),
        lease_until=timezone.now() + timedelta(seconds=30),
    )
    VariantChange.objects.create(variant=variant, created_at=timezone.now())
    Dispute.objects.create(supplier_order=supplier_order, stripe_dispute_id=f"dp_{n}", amount=10)
    case = Dispute.objects.create(
        supplier_order=supplier_order, kind=Dispute.Kind.MEDIATION, reason="other", amount=10
    )
    statement = CaseStatement.objects.create(case=case, party="RETAILER", body="Broken")
    CaseAttachment.objects.create(
        statement=statement,
        file=f"cases/{case.pk}/photo.png",
        name="photo.png",
        content_type="image/png",
        size=10,
    )
    charge = Charge.objects.create(
        supplier_order=supplier_order,
        retailer=retailer,
        method=Charge.Method.CARD,
        amount=Decimal("27.00"),
        idempotency_key=f"charge-{n}",
    )
    invoice = Invoice.objects.create(
        retailer=retailer,
        year=2026,
        sequence=n + 1,
        number=f"INV-2026-{n + 1:06d}",
        issued_at=timezone.now(),
        lines=[{"description": "Order", "amount": "27.00"}],
    )
    charge.invoice = invoice
    charge.save(update_fields=["invoice"])
    InvoiceCounter.objects.create(year=2026 + n, last_sequence=1)
    payout = Payout.objects.create(
        supplier=supplier,
        supplier_order=supplier_order,
        amount=Decimal("22.00"),
        available_at=timezone.now() + timedelta(days=7),
    )
    refund = Refund.objects.create(
        charge=charge,
        supplier_order=supplier_order,
        order_item=item,
        amount=Decimal("10.00"),
        supplier_share=Decimal("10.00"),
        platform_fee_share=Decimal("0.00"),
        commission_returned=Decimal("0.50"),
        reason="Arrived broken",
        idempotency_key=f"refund-{n}",
        created_by=superuser,
    )
    TransferReversal.objects.create(
        payout=payout, refund=refund, amount=Decimal("9.50"), idempotency_key=f"reversal-{n}"
    )
    ConnectedAccount.objects.create(supplier=supplier, stripe_account_id=f"acct_{n}")
    BankPayout.objects.create(
        supplier=supplier,
        stripe_payout_id=f"po_{n}",
        amount=Decimal("22.00"),
        status=BankPayout.Status.PAID,
        reported_at=timezone.now(),
    )
    run = ReconciliationRun.objects.create(day=timezone.now().date())
    ReconciliationMismatch.objects.create(
        run=run,
        kind=ReconciliationMismatch.Kind.MISSING_IN_LEDGER,
        reference=f"re_{n}",
        supplier_order=supplier_order,
        message="Stripe refunded $2.50 and our books do not have that refund.",
    )
    transaction_id = uuid.uuid4()
    for account, amount in (("RETAILER_RECEIVABLE", "27.00"), ("STRIPE_CLEARING", "-27.00")):
        LedgerEntry.objects.create(
            transaction_id=transaction_id,
            kind="CHARGE",
            account=account,
            amount=Decimal(amount),
            retailer=retailer,
            supplier_order=supplier_order,
        )
    StripeEvent.objects.create(
        event_id=f"evt_{n}", type="charge.succeeded", created=timezone.now(), payload={"id": n}
    )
    InboundWebhook.objects.create(
        source=InboundWebhook.Source.SHOPIFY,
        store=store,
        topic="orders/create",
        dedup_key=f"evt-shopify-{n}",
        body=b'{"id": 1}',
        headers={"X-Shopify-Topic": "orders/create"},
    )
    OutboundPush.objects.create(
        kind=OutboundPush.Kind.STORE_FULFILLMENT,
        store=store,
        supplier_order=supplier_order,
        shipment=shipment,
        idempotency_key=f"push-{n}",
        payload={"tracking": "1Z"},
    )
    Invitation.objects.create(
        supplier=supplier,
        email=f"new{n}@example.com",
        token_hash=f"{n:064d}",
        invited_by=member.user,
        expires_at=timezone.now() + timedelta(days=7),
    )
    ApiKey.objects.create(supplier=supplier, name="ERP", prefix="dsk_abcd", key_hash=f"{n:064x}")
    Notification.objects.create(retailer=retailer, kind="test", message="Hello")
    IdempotencyRecord.objects.create(
        retailer=retailer,
        key=f"key-{n}",
        request_hash="0" * 64,
        created_at=timezone.now(),
        status_code=201,
    )
    ViewAsSession.objects.create(
        staff_user=superuser,
        retailer=retailer,
        reason="Ticket 1: checking a sync complaint",
        started_at=timezone.now(),
        expires_at=timezone.now() + timedelta(minutes=30),
    )
    ImportListItem.objects.create(retailer=retailer, product=product)
    import_job = StoreImportJob.objects.create(retailer=retailer, store=store, total_count=1)
    StoreImportItem.objects.create(job=import_job, product=product, listing=listing)
    digest = PriceDigest.objects.create(retailer=retailer, day=timezone.now().date() + timedelta(n))
    PriceChange.objects.create(
        retailer=retailer,
        listing=listing,
        listing_variant=listing_variant,
        outcome=PriceChange.Outcome.REPRICED,
        new_cost=Decimal("11.00"),
        old_price=Decimal("24.99"),
        new_price=Decimal("26.99"),
        minimum_price=Decimal("11.00"),
        digest=digest,
    )
    # Inventory sync (issue 6)
    from retailers.sync.models import StockReconciliation, StoreSyncState
    from suppliers.models import SupplierFeed

    StoreSyncState.objects.create(store=store, last_error="Shopify answered 503.")
    StockReconciliation.objects.create(store=store, checked=3, matched=2, drifted=1)
    # Order reconciliation (issue 14)
    from orders.models import StoreOrderSync

    StoreOrderSync.objects.create(
        store=store, webhooks_quiet_since=timezone.now(), quiet_reason="3 orders came by poll."
    )
    ApiVersionNotice.objects.create(
        store=store,
        requested_version="2025-07",
        served_version="2026-01",
        last_seen_at=timezone.now(),
    )
    SupplierFeed.objects.create(supplier=supplier, url=f"https://feeds.example.com/{n}.csv")
    # Measured supplier scorecards (issue 15)
    from suppliers.models import SupplierScorecard

    SupplierScorecard.objects.create(supplier=supplier, computed_at=timezone.now(), score=80)
    # Plans on Stripe Billing (issue 17)
    from billing.models import PlanUsage, Subscription, SubscriptionInvoice

    Subscription.objects.create(
        retailer=retailer, stripe_subscription_id=f"sub_{n}", plan="BASIC", status="active"
    )
    SubscriptionInvoice.objects.create(
        retailer=retailer,
        stripe_invoice_id=f"in_{n}",
        number=f"SBX-{n}",
        status="paid",
        amount_due=Decimal("29.00"),
        amount_paid=Decimal("29.00"),
        currency="USD",
        issued_at=timezone.now(),
    )
    PlanUsage.objects.create(retailer=retailer, month=timezone.now().date().replace(day=1))
    record_audit(actor=superuser, action="supplier.approve", target=supplier)
    # Privacy (issue 19): an export, an erased account, a shopper request support executed.
    from privacy.models import DataExport, Erasure, ShopperDataRequest

    DataExport.objects.create(requested_by=member.user, scope="USER")
    Erasure.objects.create(kind="USER", user=factories.UserFactory(), kept=["the row"])
    ShopperDataRequest.objects.create(
        store=store, action="REDACT", shopper_fingerprint="f" * 64, orders=1, handled_by=superuser
    )
    # Messages (issue 16): a conversation on the supplier order.
    from django.core.files.uploadedfile import SimpleUploadedFile

    from messaging.services import post_message

    post_message(
        supplier_order=supplier_order,
        side="RETAILER",
        body="Swept",
        author=member.user,
        files=[SimpleUploadedFile("slip.pdf", b"%PDF-1.4\n%%EOF\n")],
    )
    assert FeeSchedule.objects.exists()  # created by billing's data migration
    return {"superuser": superuser}


@pytest.fixture
def admin_client_with_rows(client, db):
    rows = _populate()
    login_with_second_factor(client, rows["superuser"])
    return client


def test_every_model_of_every_app_is_registered():
    from django.apps import apps

    ours = {"core", "accounts", "suppliers", "catalog", "retailers", "orders", "billing"}
    ours.add("integrations")
    ours.add("messaging")
    missing = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_label in ours and model not in admin.site._registry
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=[m._meta.label for m, _ in REGISTERED]
)
def test_admin_changelist_search_add_and_change_pages_render_for_a_superuser(
    admin_client_with_rows, model, model_admin, rf
):
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    response = admin_client_with_rows.get(changelist)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1, f"no {opts.label} row to render"

    if model_admin.search_fields:
        response = admin_client_with_rows.get(changelist, {"q": "no-such-thing 123"})
        assert response.status_code == 200

    obj = model._default_manager.order_by("pk").first()
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    assert admin_client_with_rows.get(change).status_code == 200

    request = rf.get(changelist)
    request.user = response.wsgi_request.user
    add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    expected = 200 if model_admin.has_add_permission(request) else 403
    assert admin_client_with_rows.get(add).status_code == expected


def test_no_admin_changelist_queries_per_row(admin_client_with_rows):
    """Each list page runs as many queries with three rows of everything as with one."""

    def counts() -> dict[str, int]:
        return {
            model._meta.label: _changelist_queries(
                admin_client_with_rows,
                reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"),
            )
            for model, _ in REGISTERED
        }

    with_one = counts()
    _populate(1)
    _populate(2)
    with_three = counts()

    grown = {label: (with_one[label], n) for label, n in with_three.items() if n > with_one[label]}
    assert grown == {}


def _changelist_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _add_products(n: int, supplier) -> None:
    for _ in range(n):
        product = factories.ProductFactory(supplier=supplier, category=factories.CategoryFactory())
        factories.VariantFactory.create_batch(2, product=product)


def _add_orders(n: int, store, supplier) -> None:
    for _ in range(n):
        order = factories.OrderFactory(store=store)
        factories.SupplierOrderFactory(order=order, supplier=supplier)


def _add_listings(n: int, store, supplier) -> None:
    for _ in range(n):
        factories.ListingFactory(store=store, product=factories.ProductFactory(supplier=supplier))


@pytest.mark.parametrize(
    ("url_name", "add_rows"),
    [
        ("admin:catalog_product_changelist", "products"),
        ("admin:orders_order_changelist", "orders"),
        ("admin:orders_supplierorder_changelist", "orders"),
        ("admin:retailers_listing_changelist", "listings"),
    ],
)
def test_admin_changelist_queries_do_not_grow_with_rows(
    admin_client, django_assert_max_num_queries, url_name, add_rows
):
    supplier = factories.SupplierFactory()
    store = factories.StoreFactory()
    add = {
        "products": lambda n: _add_products(n, supplier),
        "orders": lambda n: _add_orders(n, store, factories.SupplierFactory()),
        "listings": lambda n: _add_listings(n, store, supplier),
    }[add_rows]
    url = reverse(url_name)
    add(2)
    with_two = _changelist_queries(admin_client, url)
    add(18)
    with django_assert_max_num_queries(with_two):
        response = admin_client.get(url)
    assert response.context["cl"].result_count == 20
