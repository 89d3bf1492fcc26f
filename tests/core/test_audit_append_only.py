"""The audit log is append-only in the database, on PostgreSQL and SQLite: UPDATE and DELETE are
refused by a trigger, whatever the code path; only the retention purge deletes, and only entries
older than AUDIT_RETENTION_DAYS."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from dropship.core.append_only import purge_permission
from dropship.core.audit import purge_audit_entries, record_audit
from dropship.core.models import AuditLogEntry
from dropship.core.tasks import purge_audit_entries_task
from tests import factories

pytestmark = [pytest.mark.embedded, pytest.mark.django_db]


def _write_old_entry(days_old: int) -> int:
    """INSERT with an explicit created_at (auto_now_add would overwrite it in save())."""
    created = timezone.now() - timedelta(days=days_old)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_auditlogentry (created_at, actor_kind, actor_label, action,"
            " target_type, target_id, summary, data, changes, request_id)"
            " VALUES (%s, 'SYSTEM', 'system', 'old.action', 'request', 'x', %s, '{}', '{}', '')",
            [connection.ops.adapt_datetimefield_value(created), f"{days_old} days old"],
        )
    return AuditLogEntry.objects.get(summary=f"{days_old} days old").pk


def test_an_entry_cannot_be_updated_by_the_orm_or_sql():
    entry = record_audit(actor=None, action="supplier.approve", target=factories.SupplierFactory())
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditLogEntry.objects.filter(pk=entry.pk).update(summary="rewritten")
    entry.summary = "rewritten"
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        entry.save()
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE core_auditlogentry SET action = 'x'")
    entry.refresh_from_db()
    assert (entry.action, entry.summary) == ("supplier.approve", "")


def test_an_entry_cannot_be_deleted_not_even_an_old_one():
    recent = record_audit(actor=None, action="supplier.approve", target=factories.SupplierFactory())
    old_id = _write_old_entry(days_old=1000)
    for pk in (recent.pk, old_id):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            AuditLogEntry.objects.filter(pk=pk).delete()
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM core_auditlogentry")
    assert AuditLogEntry.objects.count() == 2


def test_deleting_the_actor_keeps_the_entry_and_its_label():
    user = factories.UserFactory(email="gone@example.com")
    supplier = factories.SupplierFactory()
    entry = record_audit(actor=user, action="supplier.approve", target=supplier)
    user_id, supplier_id = user.pk, supplier.pk
    user.delete()
    supplier.delete()
    entry.refresh_from_db()
    assert (entry.actor_kind, entry.actor_label, entry.actor_id, entry.supplier_id) == (
        "USER",
        "gone@example.com",
        user_id,
        supplier_id,
    )


def test_the_purge_permission_covers_only_entries_older_than_its_cutoff():
    recent = record_audit(actor=None, action="supplier.approve", target=factories.SupplierFactory())
    old_id = _write_old_entry(days_old=30)
    with transaction.atomic(), purge_permission(before=timezone.now() - timedelta(days=10)):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            AuditLogEntry.objects.filter(pk=recent.pk).delete()
        AuditLogEntry.objects.filter(pk=old_id).delete()
    assert list(AuditLogEntry.objects.values_list("pk", flat=True)) == [recent.pk]
    # The permission ended with its transaction.
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditLogEntry.objects.filter(pk=recent.pk).delete()


@pytest.mark.django_db(transaction=True)
def test_the_permission_is_refused_outside_a_transaction():
    with (
        pytest.raises(RuntimeError, match=r"inside transaction\.atomic"),
        purge_permission(before=timezone.now()),
    ):
        pass


def test_the_purge_deletes_entries_past_the_retention_period_and_keeps_the_rest(settings):
    settings.AUDIT_RETENTION_DAYS = 400
    kept_recent = record_audit(
        actor=None, action="supplier.approve", target=factories.SupplierFactory()
    )
    kept_old = _write_old_entry(days_old=399)
    for days in (401, 500, 2000):
        _write_old_entry(days_old=days)

    assert purge_audit_entries(batch_size=2) == 3
    assert purge_audit_entries() == 0  # running twice deletes nothing more

    assert set(AuditLogEntry.objects.values_list("pk", flat=True)) == {kept_recent.pk, kept_old}


def test_the_nightly_task_purges_with_the_configured_retention(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    _write_old_entry(days_old=31)
    kept = _write_old_entry(days_old=29)

    assert purge_audit_entries_task.apply().get() == 1

    assert list(AuditLogEntry.objects.values_list("pk", flat=True)) == [kept]
