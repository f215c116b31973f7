"""Trigram indexes for the text search of use cases and decisions (PostgreSQL only).

`icontains` cannot use a B-tree index; on PostgreSQL a GIN index with pg_trgm's operator
class answers it, so a search of 100,000 use cases reads a few pages instead of the table.
pg_trgm is a trusted extension: the database owner may create it. Elsewhere nothing is done.
"""

from django.db import migrations

INDEXES = [
    ("registry_usecase_title_trgm", "registry_usecase", "title"),
    ("registry_usecase_external_id_trgm", "registry_usecase", "external_id"),
    ("registry_usecase_summary_trgm", "registry_usecase", "summary"),
    ("registry_usecase_capability_trgm", "registry_usecase", "capability"),
    ("registry_decision_statement_trgm", "registry_decision", "statement"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0004_federal_inventory")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
