"""The audit log is append-only in the database, on PostgreSQL and SQLite (like the ledger).

A row trigger refuses every UPDATE, and every DELETE except the retention purge's: the purge
(dropship/core/audit.py, purge_audit_entries) states its cutoff for its own transaction only, and
the trigger lets through a DELETE of a row created before that cutoff.

- PostgreSQL: the cutoff is the transaction-local setting `dropship.audit_purge_before`
  (`set_config(..., true)`), gone at commit or rollback.
- SQLite: the cutoff is what the connection's function `dropship_audit_purge_before()` answers
  (registered on every Django connection by dropship/core/append_only.py); a connection without
  it (the sqlite3 shell) cannot delete at all.

TRUNCATE (PostgreSQL) is not a row operation and stays possible for the database owner (the test
suite's flush uses it). On SQLite a migration that remakes this table drops its triggers: such a
migration must create them again (tests/core/test_audit_append_only.py checks they exist).
"""

from django.db import migrations

PG_CREATE = """
CREATE OR REPLACE FUNCTION core_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.created_at < NULLIF(
        current_setting('dropship.audit_purge_before', true), ''
    )::timestamptz THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit log entries are append-only (only the retention purge deletes them)'
        USING ERRCODE = 'check_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER core_audit_append_only
    BEFORE UPDATE OR DELETE ON core_auditlogentry
    FOR EACH ROW EXECUTE FUNCTION core_audit_append_only();
"""

PG_DROP = """
DROP TRIGGER IF EXISTS core_audit_append_only ON core_auditlogentry;
DROP FUNCTION IF EXISTS core_audit_append_only();
"""

SQLITE_CREATE = [
    """
    CREATE TRIGGER core_audit_no_update BEFORE UPDATE ON core_auditlogentry
    BEGIN
        SELECT RAISE(ABORT, 'audit log entries are append-only');
    END
    """,
    """
    CREATE TRIGGER core_audit_no_delete BEFORE DELETE ON core_auditlogentry
    WHEN OLD.created_at >= COALESCE(dropship_audit_purge_before(), '')
    BEGIN
        SELECT RAISE(ABORT, 'audit log entries are append-only (only the retention purge deletes them)');
    END
    """,
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS core_audit_no_update",
    "DROP TRIGGER IF EXISTS core_audit_no_delete",
]


def _run(*, postgresql, sqlite):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        statements = {"postgresql": [postgresql], "sqlite": sqlite}.get(vendor, [])
        # No params: psycopg must not read plpgsql's markers as placeholders.
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_trail")]

    operations = [
        migrations.RunPython(
            _run(postgresql=PG_CREATE, sqlite=SQLITE_CREATE),
            _run(postgresql=PG_DROP, sqlite=SQLITE_DROP),
        )
    ]
