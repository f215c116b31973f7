"""The migration operation that fills a table of derived rows and installs the triggers that keep
it, on PostgreSQL (functions and triggers in one script) and on SQLite (the quick start: one
`CREATE TRIGGER` per trigger, row triggers only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

from django.db import migrations


def kept_by_triggers(*, fill: Sequence[str], postgresql: str, postgresql_reverse: str,
                     sqlite: Mapping[str, str], sqlite_fill: Sequence[str] | None = None) -> migrations.RunPython:
    """Runs `fill` (the rows of what is already there; `sqlite_fill` instead on SQLite where its SQL
    differs), then installs the triggers: `postgresql` as one script, or each of `sqlite`, a
    trigger's name to the rest of its `CREATE TRIGGER`. Reversed, it drops the triggers
    (`postgresql_reverse`, or each of `sqlite` by name); the table's own removal takes the rows.
    Partials of module functions, not closures, so that squashmigrations can write them out."""
    return migrations.RunPython(
        partial(_install, fill=list(fill), sqlite_fill=None if sqlite_fill is None else list(sqlite_fill),
                postgresql=postgresql, sqlite=dict(sqlite)),
        partial(_drop, postgresql_reverse=postgresql_reverse, sqlite=list(sqlite)),
    )


def _install(apps, schema_editor, *, fill: list[str], sqlite_fill: list[str] | None, postgresql: str,
             sqlite: dict[str, str]) -> None:
    postgresql_database = schema_editor.connection.vendor == "postgresql"
    for statement in fill if postgresql_database or sqlite_fill is None else sqlite_fill:
        schema_editor.execute(statement, params=None)
    if postgresql_database:
        schema_editor.execute(postgresql, params=None)
    else:
        for name, body in sqlite.items():
            schema_editor.execute(f"CREATE TRIGGER {name} {body}", params=None)


def _drop(apps, schema_editor, *, postgresql_reverse: str, sqlite: list[str]) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(postgresql_reverse, params=None)
    else:
        for name in sqlite:
            schema_editor.execute(f"DROP TRIGGER {name}", params=None)


def set_sqlite_triggers_aside(apps, schema_editor, *, sqlite: Mapping[str, str]) -> None:
    """SQLite alters a column by rebuilding its table, which drops the triggers on it and breaks
    those naming it: a migration sets them aside (the `sqlite` of `kept_by_triggers`) first...
    (A RunPython's code, with `sqlite` bound by `functools.partial`.)"""
    if schema_editor.connection.vendor == "sqlite":
        for name in sqlite:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}", params=None)


def restore_sqlite_triggers(apps, schema_editor, *, sqlite: Mapping[str, str]) -> None:
    """...and installs them again after."""
    if schema_editor.connection.vendor == "sqlite":
        for name, body in sqlite.items():
            schema_editor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}", params=None)
