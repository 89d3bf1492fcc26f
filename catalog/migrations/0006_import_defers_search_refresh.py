import importlib
import re

from django.db import migrations

# The search triggers of 0004, each made to stand aside while `catalog.search_deferred` is on in
# the current transaction: the catalog import (catalog/imports/postgresql.py) writes a batch in
# a few statements and then refreshes the products it touched once, instead of once per statement.
DEFERRABLE = (
    "catalog_product_search_ins",
    "catalog_product_search_upd",
    "catalog_variant_search_ins",
    "catalog_variant_search_upd",
)
GUARD = (
    "IF current_setting('catalog.search_deferred', true) = 'on' THEN\n"
    "        RETURN NULL;\n"
    "    END IF;\n"
)


def _definitions() -> dict[str, str]:
    search_sql = importlib.import_module("catalog.migrations.0004_product_search").SEARCH_SQL
    return {
        name: re.search(
            rf"CREATE OR REPLACE FUNCTION {name}\(\).*?\$fn\$;", search_sql, re.DOTALL
        ).group(0)
        for name in DEFERRABLE
    }


def _deferrable(definition: str) -> str:
    head, body = definition.split("BEGIN\n", 1)
    return f"{head}BEGIN\n    {GUARD}{body}"


def make_deferrable(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for definition in _definitions().values():
            schema_editor.execute(_deferrable(definition))


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for definition in _definitions().values():
            schema_editor.execute(definition)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_remove_product_search_vector"),
    ]

    operations = [migrations.RunPython(make_deferrable, restore, elidable=False)]
