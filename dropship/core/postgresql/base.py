"""Django's PostgreSQL backend, with bulk writes kept under the protocol's parameter limit.

With server-side binding (settings: DB_SERVER_SIDE_BINDING) every value of a statement is a
bound parameter and PostgreSQL takes at most 65,535 of them, so bulk_create and bulk_update
split their rows into batches that fit (Django 5.2 does this only for SQLite and Oracle).
bulk_update spends two parameters per field per row (WHEN pk THEN value), hence the halving.
"""

from django.db.backends.postgresql import base, operations

MAX_QUERY_PARAMS = 65_535


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs):
        if not self.connection.features.uses_server_side_binding or not fields:
            return super().bulk_batch_size(fields, objs)
        return max(1, min(len(objs), MAX_QUERY_PARAMS // (2 * len(fields))))


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
