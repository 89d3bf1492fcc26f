"""The ledger's invariants in the database (PostgreSQL): balanced per transaction, append-only.

A deferred constraint trigger checks, at commit, that the legs of every transaction touched sum to
zero per currency; a row trigger refuses UPDATE and DELETE (corrections are reversing movements).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION billing_ledger_balanced() RETURNS trigger AS $$
DECLARE
    offending record;
BEGIN
    SELECT currency, SUM(amount) AS total INTO offending
      FROM billing_ledgerentry
     WHERE transaction_id = NEW.transaction_id
     GROUP BY currency
    HAVING SUM(amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: legs sum to % %',
            NEW.transaction_id, offending.total, offending.currency
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER billing_ledger_balanced
    AFTER INSERT ON billing_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_balanced();

CREATE OR REPLACE FUNCTION billing_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only; record a reversing movement instead'
        USING ERRCODE = 'check_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_ledger_append_only
    BEFORE UPDATE OR DELETE ON billing_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS billing_ledger_append_only ON billing_ledgerentry;
DROP FUNCTION IF EXISTS billing_ledger_append_only();
DROP TRIGGER IF EXISTS billing_ledger_balanced ON billing_ledgerentry;
DROP FUNCTION IF EXISTS billing_ledger_balanced();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            # No params: psycopg must not read plpgsql's RAISE '%' markers as placeholders.
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_default_fee_schedules")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
