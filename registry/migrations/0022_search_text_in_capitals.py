"""The search text is kept in capitals, with its trigram index on the column itself.

A search compared UPPER(document) with the words in capitals, so every row a search checked
(each candidate the trigram index returns, or each row of a page's order walked) had its whole
text put in capitals first: most of the time of checking it (a pass over 100,000 texts at
load 5: 1.6 s against 0.33 s comparing them as stored). Kept in capitals by the view that every
trigger of migration 0021 reads, the text is compared as it is stored, and finds the same rows:
UPPER of a concatenation is the concatenation of each part's UPPER.
"""

import importlib

from django.db import migrations

_SEARCH_TEXT = importlib.import_module("registry.migrations.0021_use_case_search_text")


def _source(newline: str, *, capitals: bool) -> str:
    text = f" || {newline} || ".join(f"COALESCE({field}, '')" for field in _SEARCH_TEXT._FIELDS)
    view = _SEARCH_TEXT._DOCUMENT.format(fields=f"UPPER({text})" if capitals else text)
    return f"CREATE VIEW registry_usecasesearch_source AS {view}"


# Every text written again from the view, into an emptied table (an UPDATE of every row would
# leave the old ones dead beside them until a vacuum).
_REFILL = _SEARCH_TEXT.FILL


def _postgresql(capitals: bool) -> list[str]:
    dropped, created = ("registry_usecasesearchtext_upper_trgm", "registry_usecasesearchtext_trgm") if capitals else (
        "registry_usecasesearchtext_trgm", "registry_usecasesearchtext_upper_trgm")
    indexed = "document" if capitals else "(UPPER(document))"
    return [
        f"DROP INDEX {dropped}",
        _source("chr(10)", capitals=capitals).replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1),
        "TRUNCATE registry_usecasesearchtext",
        _REFILL,
        # The refill's foreign key checks, deferred to the commit, would forbid the index here.
        "SET CONSTRAINTS ALL IMMEDIATE",
        "SET CONSTRAINTS ALL DEFERRED",
        f"CREATE INDEX {created} ON registry_usecasesearchtext USING gin ({indexed} gin_trgm_ops)",
        "ANALYZE registry_usecasesearchtext",  # the planner weighs each word by the new column's statistics
    ]


def _sqlite(capitals: bool) -> list[str]:
    # SQLite's UPPER and LIKE both fold ASCII letters only: a search finds what it found before.
    return ["DROP VIEW registry_usecasesearch_source", _source("char(10)", capitals=capitals),
            "DELETE FROM registry_usecasesearchtext", _REFILL]


def _rewrite(capitals: bool):
    def run(apps, schema_editor):
        postgresql = schema_editor.connection.vendor == "postgresql"
        for statement in _postgresql(capitals) if postgresql else _sqlite(capitals):
            schema_editor.execute(statement, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0021_use_case_search_text"),
    ]

    operations = [
        migrations.RunPython(_rewrite(capitals=True), _rewrite(capitals=False)),
    ]
