"""Account and organisation deletion: personal data gone, what the law keeps kept, the ledger
intact and balanced, and a clear refusal listing what to do first."""

from decimal import Decimal
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.sessions.models import Session

from billing.models import Invoice, LedgerEntry
from billing.services import invoices, ledger
from dropship.accounts.models import ApiKey, Membership, Role, User
from dropship.accounts.services import create_api_key
from dropship.core.models import AuditLogEntry
from integrations.models import InboundWebhook
from orders.models import Order, SupplierOrder
from privacy.models import DataExport, Erasure
from privacy.services import erasure, exports
from retailers.models import Retailer, Store
from suppliers.models import Supplier
from tests import factories
from tests.mfa import login_with_second_factor

# The Privacy page and the retention job are README flows: they run on SQLite too.
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _book_a_sale(supplier_order: SupplierOrder) -> None:
    order = supplier_order.order
    ledger.record_movement(
        kind=LedgerEntry.Kind.CHARGE,
        legs=[
            ledger.Leg(LedgerEntry.Account.STRIPE_CLEARING, Decimal("27.00")),
            ledger.Leg(
                LedgerEntry.Account.SUPPLIER_PAYABLE,
                Decimal("-25.00"),
                supplier=supplier_order.supplier,
            ),
            ledger.Leg(
                LedgerEntry.Account.PLATFORM_REVENUE, Decimal("-2.00"), retailer=order.retailer
            ),
        ],
        currency="USD",
        supplier_order=supplier_order,
    )


def _ledger_snapshot():
    return list(LedgerEntry.objects.order_by("pk").values_list("pk", "transaction_id", "amount"))


@pytest.fixture
def closed_retailer(retailer_member):
    """A retailer whose only order was delivered and paid, with an invoice and ledger lines."""
    retailer = retailer_member.retailer
    store = factories.StoreFactory(retailer=retailer)
    order = factories.OrderFactory(
        store=store, shopper_email="bob@example.com", status=Order.Status.DELIVERED
    )
    supplier_order = factories.SupplierOrderFactory(
        order=order, status=SupplierOrder.Status.DELIVERED
    )
    _book_a_sale(supplier_order)
    invoice = invoices.issue_invoice(
        retailer=retailer,
        lines=[{"description": "Order #1", "quantity": 1, "unit_amount": "27.00"}],
        currency="USD",
        status=Invoice.Status.PAID,
    )
    InboundWebhook.objects.create(
        source="SHOPIFY",
        store=store,
        topic="orders/create",
        dedup_key="e1",
        body=b'{"email":"bob@example.com"}',
    )
    return retailer_member, store, order, invoice


def test_deleting_a_retailer_erases_personal_data_and_keeps_the_books(client, closed_retailer):
    member, store, order, invoice = closed_retailer
    retailer, user = member.retailer, member.user
    _, _secret = create_api_key(organisation=retailer, name="shop sync", created_by=user)
    before = _ledger_snapshot()
    kept = (order.number, order.store_order_id, order.retail_total, order.placed_at)
    client.force_login(user)

    response = client.post(
        "/privacy/delete-organisation/", {"organisation-confirmation": retailer.business_name}
    )

    assert response.status_code == 302
    retailer.refresh_from_db()
    assert retailer.business_name == member.retailer.business_name  # kept for the invoices
    assert (retailer.contact_email, retailer.status) == ("", Retailer.Status.SUSPENDED)
    store.refresh_from_db()
    assert (store.credentials, store.webhook_secret, store.status) == (None, "", "DISCONNECTED")
    order.refresh_from_db()
    assert (order.shopper_name, order.shopper_email, order.shipping_address) == ("", "", None)
    assert order.is_redacted
    assert (order.number, order.store_order_id, order.retail_total, order.placed_at) == kept
    assert bytes(InboundWebhook.objects.get(store=store).body) == b""
    # The books: every ledger line as it was, balanced; the invoice untouched.
    assert _ledger_snapshot() == before
    assert ledger.unbalanced_transactions() == {}
    assert Invoice.objects.get(pk=invoice.pk).total == invoice.total
    assert ApiKey.objects.get(retailer=retailer).revoked_at is not None
    # The owner's account went with it.
    user.refresh_from_db()
    assert user.email.endswith("@deleted.invalid")
    assert (user.full_name, user.is_active, user.has_usable_password()) == ("", False, False)
    assert not Membership.objects.filter(user=user).exists()
    assert Erasure.objects.filter(retailer=retailer).exists()
    assert AuditLogEntry.objects.filter(action="privacy.organisation_deleted").count() == 1
    assert client.get("/privacy/").status_code == 302  # logged out


def test_deleting_a_supplier_hides_its_catalog_and_keeps_its_legal_name(client, supplier_member):
    supplier, user = supplier_member.supplier, supplier_member.user
    supplier.legal_name = "Maple Goods Trading LLC"
    supplier.phone = "+1 555 0100"
    supplier.save()
    product = factories.ProductFactory(supplier=supplier)
    client.force_login(user)

    response = client.post(
        "/privacy/delete-organisation/", {"organisation-confirmation": supplier.company_name}
    )

    assert response.status_code == 302
    supplier.refresh_from_db()
    assert (supplier.legal_name, supplier.phone, supplier.contact_email) == (
        "Maple Goods Trading LLC",
        "",
        "",
    )
    assert supplier.status == Supplier.Status.SUSPENDED
    product.refresh_from_db()
    assert product.status == "DISCONTINUED"


def test_organisation_deletion_is_refused_with_what_to_do_first(client, retailer_member):
    retailer = retailer_member.retailer
    factories.RetailerMemberFactory(retailer=retailer, role=Role.STAFF)
    factories.OrderFactory(
        store=factories.StoreFactory(retailer=retailer), status=Order.Status.CONFIRMED
    )
    invoices.issue_invoice(
        retailer=retailer,
        lines=[{"description": "Fees", "quantity": 1, "unit_amount": "5.00"}],
        currency="USD",
    )
    client.force_login(retailer_member.user)

    response = client.post(
        "/privacy/delete-organisation/", {"organisation-confirmation": retailer.business_name}
    )

    assert response.status_code == 409
    page = response.content.decode()
    assert f"{retailer.business_name} cannot be deleted yet." in page
    assert "Remove the other 1 member(s) from the team." in page
    assert "Ship or cancel the 1 open order(s)." in page
    assert "Pay the 1 unpaid invoice(s)." in page
    retailer.refresh_from_db()
    assert retailer.contact_email != ""
    assert not Erasure.objects.exists()
    assert Membership.objects.filter(user=retailer_member.user).exists()


def test_a_wrong_confirmation_changes_nothing(client, retailer_member):
    client.force_login(retailer_member.user)
    response = client.post("/privacy/delete-organisation/", {"organisation-confirmation": "nope"})
    assert response.status_code == 400
    assert "Type the organisation&#x27;s name exactly to confirm." in response.content.decode()
    assert not Erasure.objects.exists()


def test_a_staff_member_cannot_delete_the_organisation(client, retailer_member):
    staff = factories.RetailerMemberFactory(retailer=retailer_member.retailer, role=Role.STAFF)
    client.force_login(staff.user)
    response = client.post(
        "/privacy/delete-organisation/",
        {"organisation-confirmation": retailer_member.retailer.business_name},
    )
    assert response.status_code == 404
    assert not Erasure.objects.exists()


def test_deleting_an_account_anonymises_it_and_ends_its_sessions(client, retailer_member):
    retailer = retailer_member.retailer
    staff = factories.RetailerMemberFactory(retailer=retailer, role=Role.STAFF)
    user = staff.user
    api_key, _ = create_api_key(organisation=retailer, name="ci", created_by=user)
    login_with_second_factor(client, user)  # a TOTP authenticator and a session
    export = exports.request_data_export(user=user, scope="USER")
    exports.build_data_export(export_id=export.pk)
    export.refresh_from_db()
    archive = Path(export.file.path)
    assert archive.exists()
    other_session = Session.objects.count()
    email = user.email

    response = client.post("/privacy/delete-account/", {"account-confirmation": email.upper()})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email != email
    assert user.email.startswith(f"deleted-{user.pk}-")
    assert (user.full_name, user.is_active, user.has_usable_password()) == ("", False, False)
    assert not Authenticator.objects.filter(user=user).exists()
    assert not Membership.objects.filter(user=user).exists()
    api_key.refresh_from_db()
    assert (api_key.created_by, api_key.revoked_at) == (None, None)  # the key stays, unlinked
    assert Session.objects.count() == other_session - 1
    assert not User.objects.filter(email=email).exists()
    assert Erasure.objects.get(user=user).kind == "USER"
    # The archive held the very data being erased.
    assert not DataExport.objects.filter(requested_by=user).exists()
    assert not archive.exists()


def test_the_only_owner_is_told_to_delete_the_organisation_first(client, retailer_member):
    client.force_login(retailer_member.user)
    response = client.post(
        "/privacy/delete-account/", {"account-confirmation": retailer_member.user.email}
    )
    assert response.status_code == 409
    assert "delete the organisation first" in response.content.decode()
    retailer_member.user.refresh_from_db()
    assert retailer_member.user.is_active


def test_an_owner_with_a_team_is_told_to_name_another_owner(retailer_member):
    factories.RetailerMemberFactory(retailer=retailer_member.retailer, role=Role.STAFF)
    assert erasure.account_deletion_blockers(user=retailer_member.user) == [
        f"You are the only owner of {retailer_member.retailer}: make another member an owner "
        "on the Team page first."
    ]


def test_the_privacy_page_shows_the_blockers_before_anyone_tries(client, retailer_member):
    factories.OrderFactory(
        store=factories.StoreFactory(retailer=retailer_member.retailer),
        status=Order.Status.CONFIRMED,
    )
    client.force_login(retailer_member.user)
    page = client.get("/privacy/").content.decode()
    assert "Ship or cancel the 1 open order(s)." in page
    assert 'action="/privacy/delete-organisation/"' not in page
    assert Store.objects.count() == 1
