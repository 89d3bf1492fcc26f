"""Data exports from the Privacy page: a user's own data and an owner's organisation data, built
by the task into a ZIP of JSON and CSV files, e-mailed, downloadable only by the requester until
it expires."""

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from dropship.accounts.models import Role
from dropship.core.audit import record_audit
from privacy.models import DataExport
from privacy.services import exports
from tests import factories

# The Privacy page and the retention job are README flows: they run on SQLite too.
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _archive(client, export: DataExport) -> zipfile.ZipFile:
    response = client.get(f"/privacy/exports/{export.public_id}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _csv(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(archive.read(name).decode())))


def test_a_user_exports_their_own_data_and_gets_a_link_by_email(
    client, retailer_member, django_capture_on_commit_callbacks
):
    user = retailer_member.user
    other = factories.RetailerMemberFactory().user
    record_audit(actor=user, action="store.connected", target=retailer_member.retailer)
    record_audit(actor=other, action="store.connected", target=retailer_member.retailer)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/privacy/exports/", {"scope": "USER"})

    assert response.status_code == 302
    export = DataExport.objects.get(requested_by=user)
    assert (export.status, export.progress, export.scope) == ("READY", 100, "USER")
    assert export.expires_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert f"/privacy/exports/{export.public_id}/download/" in mail.outbox[0].body
    page = client.get("/privacy/").content.decode()
    assert f"/privacy/exports/{export.public_id}/download/" in page

    archive = _archive(client, export)
    names = set(archive.namelist())
    assert {
        "README.txt",
        "data.json",
        "profile.csv",
        "email_addresses.csv",
        "membership.csv",
        "two_factor_methods.csv",
        "api_keys_created.csv",
        "invitations.csv",
        "audit_entries.csv",
        "data_exports.csv",
    } <= names
    data = json.loads(archive.read("data.json"))
    assert data["profile"][0]["email"] == user.email
    assert "password" not in data["profile"][0]
    # the user's own entries only: their store.connected (not the other user's), and the request
    # for this export, which the audit trail records like any other change
    assert [e["action"] for e in data["audit_entries"] if e["action"] == "store.connected"] == [
        "store.connected"
    ]
    everything = b"".join(archive.read(n) for n in names)
    assert other.email.encode() not in everything
    assert _csv(archive, "profile.csv")[1][1] == user.email


def test_an_owner_exports_the_organisation_without_secrets_or_other_tenants(
    client, retailer_member, django_capture_on_commit_callbacks
):
    retailer = retailer_member.retailer
    store = factories.StoreFactory(retailer=retailer, name="Maple & Co")
    order = factories.OrderFactory(store=store, shopper_email="bob@example.com")
    factories.OrderItemFactory(order=order, title="Mug")
    factories.SupplierOrderFactory(order=order)
    stranger = factories.OrderFactory(shopper_name="Eve Stranger", shopper_email="eve@example.com")
    client.force_login(retailer_member.user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/privacy/exports/", {"scope": "ORGANISATION"})

    export = DataExport.objects.get(requested_by=retailer_member.user)
    assert export.retailer == retailer
    archive = _archive(client, export)
    for name in (
        "organisation",
        "members",
        "invitations",
        "api_keys",
        "stores",
        "pricing_rules",
        "listings",
        "orders",
        "order_items",
        "supplier_orders",
        "shipments",
        "charges",
        "refunds",
        "invoices",
        "ledger_lines",
        "audit_entries",
    ):
        assert f"{name}.csv" in archive.namelist(), name
    data = json.loads(archive.read("data.json"))
    assert [o["number"] for o in data["orders"]] == [order.number]
    assert data["orders"][0]["shopper_email"] == "bob@example.com"
    assert data["members"][0]["user__email"] == retailer_member.user.email
    assert [s["name"] for s in data["stores"]] == ["Maple & Co"]
    everything = b"".join(archive.read(n) for n in archive.namelist())
    for secret in (b"shpat_test_token", b"whsec-store", b"credentials", b"webhook_secret"):
        assert secret not in everything
    assert stranger.shopper_email.encode() not in everything
    assert stranger.store.name.encode() not in everything


def test_a_staff_member_cannot_export_the_organisation(client, retailer_member):
    staff = factories.RetailerMemberFactory(retailer=retailer_member.retailer, role=Role.STAFF)
    client.force_login(staff.user)

    response = client.post("/privacy/exports/", {"scope": "ORGANISATION"}, follow=True)

    assert "Only an owner can export the organisation" in response.content.decode()
    assert not DataExport.objects.exists()


def test_a_second_request_while_one_is_prepared_is_refused(retailer_member):
    exports.request_data_export(user=retailer_member.user, scope="USER")
    with pytest.raises(exports.DataExportError, match="already being prepared"):
        exports.request_data_export(user=retailer_member.user, scope="USER")
    assert DataExport.objects.count() == 1


def test_an_unknown_scope_is_refused(client, retailer_member):
    client.force_login(retailer_member.user)
    response = client.post("/privacy/exports/", {"scope": "EVERYTHING"}, follow=True)
    assert "Choose what to export" in response.content.decode()
    assert not DataExport.objects.exists()


def test_only_the_requester_can_download_others_get_404(
    client, retailer_member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.request_data_export(user=retailer_member.user, scope="ORGANISATION")
    colleague = factories.RetailerMemberFactory(retailer=retailer_member.retailer).user
    client.force_login(colleague)

    assert client.get(f"/privacy/exports/{export.public_id}/download/").status_code == 404
    assert client.get(f"/privacy/exports/{export.public_id}/progress/").status_code == 404
    client.logout()
    response = client.get(f"/privacy/exports/{export.public_id}/download/")
    assert response.status_code == 302  # to the login page
    assert "/accounts/login/" in response["Location"]


def test_an_expired_export_is_deleted_and_answers_404(
    client, retailer_member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.request_data_export(user=retailer_member.user, scope="USER")
    export.refresh_from_db()
    path = export.file.path
    client.force_login(retailer_member.user)

    assert exports.delete_expired_data_exports(now=timezone.now()) == 0
    assert exports.delete_expired_data_exports(now=export.expires_at + timedelta(seconds=1)) == 1

    export.refresh_from_db()
    assert export.status == "EXPIRED"
    assert not export.file
    assert not __import__("os").path.exists(path)
    assert client.get(f"/privacy/exports/{export.public_id}/download/").status_code == 404


def test_the_build_task_is_safe_to_run_twice(retailer_member):
    from privacy.tasks import build_data_export_task

    export = DataExport.objects.create(requested_by=retailer_member.user, scope="USER")
    build_data_export_task(export.pk)
    build_data_export_task(export.pk)
    export.refresh_from_db()
    assert export.status == "READY"
    assert len(mail.outbox) == 1


def test_the_progress_row_polls_while_running_and_stops_when_ready(client, retailer_member):
    export = DataExport.objects.create(requested_by=retailer_member.user, scope="USER", progress=40)
    client.force_login(retailer_member.user)

    running = client.get(f"/privacy/exports/{export.public_id}/progress/").content.decode()
    assert 'hx-trigger="every 2s"' in running
    assert 'value="40"' in running

    exports.build_data_export(export_id=export.pk)
    ready = client.get(f"/privacy/exports/{export.public_id}/progress/").content.decode()
    assert "hx-trigger" not in ready
    assert "Download" in ready
