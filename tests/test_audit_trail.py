"""Every state-changing action writes an audit entry saying who, for which organisation, what,
on which object, before/after, from which IP and request: pages, API, admin and webhooks; staff
reads of shoppers' personal data are logged too."""

import json
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from dropship.accounts.services import create_api_key
from dropship.core.admin_utils import AuditedAdminMixin
from dropship.core.audit import audit_context, diff, record_audit, snapshot
from dropship.core.models import AuditLogEntry
from integrations import services as inbox
from integrations.models import InboundWebhook
from orders.models import FraudRule, SupplierOrder
from tests import factories
from tests.integrations.helpers import post_shopify

pytestmark = pytest.mark.django_db

OUR_APPS = (
    "accounts",
    "core",
    "suppliers",
    "catalog",
    "retailers",
    "orders",
    "billing",
    "privacy",
)


def _only_entry(**filters) -> AuditLogEntry:
    [entry] = AuditLogEntry.objects.filter(**filters)
    return entry


def _only_entry_after_the_key() -> AuditLogEntry:
    """The one entry besides the API key's own creation (audited too)."""
    return AuditLogEntry.objects.exclude(action="api_key.created").get()


# --- pages ---------------------------------------------------------------------------------------
@pytest.mark.embedded
def test_a_page_action_records_the_member_organisation_before_after_ip_and_request_id(
    supplier_client,
):
    supplier = supplier_client.supplier
    supplier_order = factories.make_supplier_order(supplier=supplier)

    response = supplier_client.post(
        reverse("supplier_orders:accept", args=[supplier_order.pk]),
        HTTP_X_REQUEST_ID="req-accept-1",
        REMOTE_ADDR="203.0.113.9",
    )

    assert response.status_code == 302
    assert response["X-Request-ID"] == "req-accept-1"
    entry = _only_entry()
    member = supplier.memberships.get().user
    assert (entry.action, entry.target_type, entry.target_id) == (
        "supplier_order.accepted",
        "orders.supplierorder",
        str(supplier_order.pk),
    )
    assert (entry.actor_kind, entry.actor_id, entry.actor_label) == (
        "USER",
        member.pk,
        member.email,
    )
    assert (entry.supplier_id, entry.retailer_id) == (supplier.pk, None)
    assert entry.changes["status"] == ["SENT", "ACCEPTED"]
    assert entry.changes["accepted_at"][0] is None
    assert (entry.ip_address, entry.request_id) == ("203.0.113.9", "req-accept-1")


@pytest.mark.embedded
def test_a_page_change_no_service_recorded_gets_a_request_entry(supplier_client):
    response = supplier_client.post(
        reverse("accounts:team"), {"email": "colleague@example.com", "role": "STAFF"}
    )

    assert response.status_code == 302
    entry = _only_entry()
    assert (entry.action, entry.target_type, entry.target_id) == (
        "page.post",
        "request",
        "accounts:team",
    )
    assert entry.summary == "POST /team/"
    assert entry.supplier_id == supplier_client.supplier.pk
    assert entry.data == {"status": 302, "view": "accounts:team"}
    assert entry.request_id == response["X-Request-ID"]


def test_a_refused_or_read_only_request_writes_nothing(supplier_client):
    other = factories.make_supplier_order()  # another supplier's

    assert supplier_client.get(reverse("accounts:team")).status_code == 200
    response = supplier_client.post(reverse("supplier_orders:accept", args=[other.pk]))

    assert response.status_code == 404
    assert AuditLogEntry.objects.count() == 0


# --- API -----------------------------------------------------------------------------------------
def test_an_api_call_with_a_key_records_the_key_as_actor(client):
    supplier = factories.SupplierFactory()
    api_key, secret = create_api_key(organisation=supplier, name="ERP", created_by=None)
    supplier_order = factories.make_supplier_order(supplier=supplier)

    response = client.post(
        f"/api/v1/supplier/orders/{supplier_order.pk}/accept",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )

    assert response.status_code == 200, response.content
    entry = _only_entry_after_the_key()
    assert (entry.action, entry.actor_kind, entry.api_key_id, entry.actor_id) == (
        "supplier_order.accepted",
        "API_KEY",
        api_key.pk,
        None,
    )
    assert entry.actor_label == f"API key “ERP” ({api_key.prefix}…)"
    assert entry.supplier_id == supplier.pk
    assert entry.changes["status"] == ["SENT", "ACCEPTED"]


def test_an_api_change_no_service_recorded_gets_a_request_entry(client):
    supplier = factories.SupplierFactory()
    api_key, secret = create_api_key(organisation=supplier, name="WMS", created_by=None)
    supplier_order = factories.make_supplier_order(supplier=supplier)
    supplier_order.status = SupplierOrder.Status.ACCEPTED
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=SupplierOrder.Status.ACCEPTED)

    # Accepting an accepted order changes nothing, so no service entry; the call still succeeded.
    response = client.post(
        f"/api/v1/supplier/orders/{supplier_order.pk}/accept",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )

    assert response.status_code == 200
    entry = _only_entry_after_the_key()
    assert (entry.action, entry.target_type, entry.actor_kind, entry.api_key_id) == (
        "api.post",
        "request",
        "API_KEY",
        api_key.pk,
    )
    assert entry.supplier_id == supplier.pk


# --- admin ---------------------------------------------------------------------------------------
def _fraud_rule_form(rule: FraudRule, **changes) -> dict:
    form = {
        "retailer": rule.retailer_id,
        "kind": rule.kind,
        "is_enabled": "on",
        "amount": str(rule.amount),
        "max_orders": "",
        "window_hours": "",
    }
    form.update(changes)
    return form


def test_an_admin_change_records_before_and_after_for_the_rows_organisation(admin_client):
    retailer = factories.RetailerFactory()
    rule = FraudRule.objects.create(
        retailer=retailer, kind=FraudRule.Kind.ORDER_VALUE, amount=Decimal("500.00")
    )

    response = admin_client.post(
        reverse("admin:orders_fraudrule_change", args=[rule.pk]),
        _fraud_rule_form(rule, amount="750.00"),
    )

    assert response.status_code == 302
    entry = _only_entry()
    assert (entry.action, entry.target_type, entry.target_id) == (
        "admin.changed",
        "orders.fraudrule",
        str(rule.pk),
    )
    assert entry.changes == {"amount": ["500.00", "750.00"]}
    assert (entry.actor_kind, entry.actor_label) == ("USER", "admin@example.com")
    assert entry.retailer_id == retailer.pk


def test_admin_bulk_delete_records_one_entry_per_row(admin_client):
    rules = [
        FraudRule.objects.create(
            retailer=factories.RetailerFactory(),
            kind=FraudRule.Kind.ORDER_VALUE,
            amount=Decimal("100.00"),
        )
        for _ in range(2)
    ]

    response = admin_client.post(
        reverse("admin:orders_fraudrule_changelist"),
        {"action": "delete_selected", "_selected_action": [r.pk for r in rules], "post": "yes"},
    )

    assert response.status_code == 302
    assert not FraudRule.objects.filter(pk__in=[r.pk for r in rules]).exists()
    assert sorted(
        AuditLogEntry.objects.filter(action="admin.deleted").values_list("target_id", "retailer_id")
    ) == sorted((str(r.pk), r.retailer_id) for r in rules)
    assert AuditLogEntry.objects.count() == 2


def test_staff_reads_of_orders_in_the_admin_are_logged(admin_client):
    order = factories.OrderFactory(shopper_email="bob@example.com")

    assert admin_client.get(reverse("admin:orders_order_changelist")).status_code == 200
    assert (
        admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).status_code == 200
    )

    listed = _only_entry(action="personal_data.viewed", target_id="list")
    assert (listed.target_type, listed.data["ids"], listed.actor_label) == (
        "orders.order",
        [order.pk],
        "admin@example.com",
    )
    viewed = _only_entry(action="personal_data.viewed", target_id=str(order.pk))
    assert (viewed.target_type, viewed.retailer_id) == ("orders.order", order.retailer_id)
    assert AuditLogEntry.objects.count() == 2


def test_every_model_admin_of_ours_writes_the_trail():
    ours = [
        model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in OUR_APPS
        or model._meta.app_label in ("integrations", "retailers_sync")
    ]
    assert ours
    assert [type(a).__name__ for a in ours if not isinstance(a, AuditedAdminMixin)] == []


# --- webhooks and the system -----------------------------------------------------------------
def test_a_processed_webhook_is_recorded_as_the_system_acting_for_the_stores_retailer(client):
    store = factories.StoreFactory(domain="maple-and-co.myshopify.com")
    body = json.dumps({"id": 690933842, "customer": {"email": "bob@example.com"}}).encode()

    response = post_shopify(client, body, topic="app/uninstalled", shop=store.domain)

    assert response.status_code == 200
    webhook = InboundWebhook.objects.get()
    inbox.process_inbound_webhook(webhook_id=webhook.pk)
    webhook.refresh_from_db()
    assert webhook.status == InboundWebhook.Status.PROCESSED
    entries = list(AuditLogEntry.objects.all())
    assert entries, "processing the event wrote no entry"
    assert {(e.actor_kind, e.retailer_id, e.request_id) for e in entries} == {
        ("SYSTEM", store.retailer_id, f"webhook-{webhook.pk}")
    }


def test_outside_any_context_the_system_acts_and_the_target_names_the_organisation():
    supplier_order = factories.make_supplier_order()

    entry = record_audit(action="supplier_order.note", target=supplier_order)

    assert (entry.actor_kind, entry.actor_label, entry.supplier_id) == (
        "SYSTEM",
        "system",
        supplier_order.supplier_id,
    )


def test_secret_fields_never_enter_the_trail():
    store = factories.StoreFactory()
    before = snapshot(store, ["webhook_secret", "name"])
    store.webhook_secret, store.name = "whsec-rotated", "Renamed"

    with audit_context() as context:
        entry = record_audit(action="store.changed", target=store, changes=diff(before, store))

    assert context.entries == 1
    assert entry.changes == {
        "webhook_secret": ["(changed, not shown)", "(changed, not shown)"],
        "name": [before["name"], "Renamed"],
    }
    assert entry.retailer_id == store.retailer_id


def test_a_task_touching_a_listing_puts_the_entry_on_its_stores_retailer():
    listing = factories.ListingFactory()

    entry = record_audit(action="listing.unlisted", target=listing)

    assert (entry.actor_kind, entry.retailer_id, entry.supplier_id) == (
        "SYSTEM",
        listing.store.retailer_id,
        None,
    )
