"""Re-encrypt every encrypted column with the newest key (the first of FIELD_ENCRYPTION_KEYS).

Run after prepending a new key; once it reports 0 rows left on old keys, the old key may be removed.
Works on the raw column so no plaintext passes through model code, in batches, idempotently.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from dropship.core.fields import ENCRYPTED_FIELD_TYPES, get_fernet, is_encrypted_with_primary_key

BATCH_SIZE = 500


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the first key in FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        fernet = get_fernet()
        total = 0
        for model in apps.get_models():
            fields = [
                f for f in model._meta.concrete_fields if isinstance(f, ENCRYPTED_FIELD_TYPES)
            ]
            for field in fields:
                moved = self._rotate_column(model, field, fernet)
                if moved:
                    self.stdout.write(
                        f"{model._meta.label}.{field.name}: {moved} rows re-encrypted"
                    )
                total += moved
        self.stdout.write(self.style.SUCCESS(f"Done: {total} values moved to the newest key."))

    def _rotate_column(self, model, field, fernet) -> int:
        qn = connection.ops.quote_name
        table, column, pk = qn(model._meta.db_table), qn(field.column), qn(model._meta.pk.column)
        moved, last_pk = 0, None
        while True:
            with connection.cursor() as cursor:
                where = f"WHERE {column} IS NOT NULL AND {column} <> ''"
                params: list = []
                if last_pk is not None:
                    where += f" AND {pk} > %s"
                    params.append(last_pk)
                cursor.execute(
                    f"SELECT {pk}, {column} FROM {table} {where} ORDER BY {pk} LIMIT {BATCH_SIZE}",  # noqa: S608
                    params,
                )
                rows = cursor.fetchall()
            if not rows:
                return moved
            last_pk = rows[-1][0]
            stale = [
                (row_pk, token)
                for row_pk, token in rows
                if not is_encrypted_with_primary_key(token)
            ]
            with transaction.atomic(), connection.cursor() as cursor:
                for row_pk, token in stale:
                    new_token = fernet.rotate(token.encode()).decode()
                    cursor.execute(
                        f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s",  # noqa: S608
                        [new_token, row_pk, token],
                    )
                    moved += cursor.rowcount
