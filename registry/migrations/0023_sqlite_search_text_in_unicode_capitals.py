"""SQLite's search texts written again, now that its UPPER puts every letter in capitals
(registry/apps.py): those written before hold "ø" where a search for "øresund" asks for "Ø".
PostgreSQL's UPPER did so already."""

import importlib

from django.db import migrations

_SEARCH_TEXT = importlib.import_module("registry.migrations.0021_use_case_search_text")


def rewrite_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DELETE FROM registry_usecasesearchtext", params=None)
        schema_editor.execute(_SEARCH_TEXT.FILL, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0022_search_text_in_capitals"),
    ]

    operations = [
        migrations.RunPython(rewrite_on_sqlite, migrations.RunPython.noop),
    ]
