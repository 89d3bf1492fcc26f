"""`field__in=[...]` with many values becomes `field = ANY(%s)` with one array parameter.

PostgreSQL takes at most 65,535 bound parameters per statement, and with server-side binding
(settings: DB_SERVER_SIDE_BINDING) every value of an IN list is one of them: a stock file or an
inventory sync marking 100,000 variants would fail. One array parameter has no such limit and is
planned like the IN list. Short lists keep the plain IN (...) they had; subqueries, expressions
in the list and other databases are left to Django.
"""

from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.fields.related import ForeignObject
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler

ARRAY_IN_THRESHOLD = 1000


class _ArrayInMixin(In):
    """Mixed in before `In` or `RelatedIn`; `super()` is theirs."""

    # The array is one parameter that is itself a list, which the stubs' params type leaves out.
    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, Sequence[Any]]:
        sql = self._as_array_sql(compiler, connection)
        return sql if sql is not None else super().as_sql(compiler, connection)

    def _as_array_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]] | None:
        if (
            connection.vendor != "postgresql"
            or not self.rhs_is_direct_value()
            or len(self.rhs) <= ARRAY_IN_THRESHOLD
            or isinstance(self.lhs, tuple)
            or len(getattr(self.lhs, "targets", ())) > 1
        ):
            return None
        values = [value for value in self.rhs if value is not None]
        if not values:
            return None  # Django's own path raises EmptyResultSet
        placeholders, params = self.batch_process_rhs(
            compiler,
            connection,
            values,  # type: ignore[arg-type]  # any iterable does; Django passes an OrderedSet
        )
        if any(placeholder != "%s" for placeholder in placeholders):
            return None  # expressions in the list
        field = self.lhs.output_field
        target = field.target_field if field.is_relation else field
        db_type = target.db_type(connection)
        if not db_type:
            return None
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        array_type = db_type.split("(")[0]
        return f"{lhs_sql} = ANY(%s::{array_type}[])", [*lhs_params, list(params)]


class ArrayIn(_ArrayInMixin, In):
    pass


class ArrayRelatedIn(_ArrayInMixin, RelatedIn):
    pass


def register() -> None:
    Field.register_lookup(ArrayIn)
    ForeignObject.register_lookup(ArrayRelatedIn)
