"""Set-based writes faster than Django's bulk_create and bulk_update, for imports, scans and
the demo portfolio.

`QuerySet.bulk_update` builds a CASE expression per field over each batch, and bulk_create
adapts every value in Python: a fraction of a millisecond per value, tens of seconds for the
tens of thousands of rows a first scan or an import writes. On PostgreSQL, inserts go through
COPY and updates through one `UPDATE … FROM (VALUES …)` (or, for thousands of rows, from a
temporary table filled by COPY), which do the same work in a fraction of that; other databases
keep bulk_create and bulk_update.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator

from django.db import connections, models, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone
from simple_history.utils import get_history_manager_for_model

BATCH_SIZE = 2000
# The most parameters one statement may have when bound on the server (the protocol counts them
# in 16 bits; see DATABASE_PREPARE_THRESHOLD).
MAX_PARAMETERS = 65_535
HISTORY_COLUMNS = ("history_date", "history_change_reason", "history_type", "history_user_id")


class JSONText(str):
    """A JSON field's value already dumped to its text: written as it is rather than dumped again
    (a scan's detector processes dump their findings' details beside the other detectors)."""


def _db_value(field: models.Field, value, connection):
    """`value` of `field` as a statement or COPY takes it."""
    if isinstance(value, JSONText):
        return str(value)
    return field.get_db_prep_save(value, connection)


def _python_value(value):
    """`value` as a model instance holds it (for the other databases, which go through the ORM)."""
    return json.loads(value) if isinstance(value, JSONText) else value


def id_batches(ids: list[int], *, using: str = "default") -> Iterator:
    """Values for `pk__in` (or any `…__in`) that together cover `ids`: on PostgreSQL one array
    parameter, however many; elsewhere batches of BATCH_SIZE, as SQLite caps the parameters of
    a statement. A scan names tens of thousands of findings; an IN list of that many costs
    more to build than to run."""
    if not ids:
        return
    if connections[using].vendor == "postgresql":
        yield RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))
        return
    for start in range(0, len(ids), BATCH_SIZE):
        yield ids[start:start + BATCH_SIZE]


def insert_rows(model: type[models.Model], rows: list[tuple], *, columns: tuple[str, ...] | None = None,
                returning_ids: bool = False, using: str = "default") -> list[int]:
    """Append `rows` (tuples of the `columns` attnames; a NamedTuple names its own) to
    `model`'s table; returns the new primary keys when asked.

    Columns left out get the model's default, as they would from bulk_create. On PostgreSQL
    the keys are drawn from the table's own sequence before the rows are written, so they
    are as safe as those bulk_create returns.
    """
    if not rows:
        return []
    columns = columns or type(rows[0])._fields
    connection = connections[using]
    if connection.vendor != "postgresql":
        objects = [model(**{column: _python_value(value) for column, value in zip(columns, row)}) for row in rows]
        created = model._base_manager.using(using).bulk_create(objects, batch_size=BATCH_SIZE)
        return [obj.pk for obj in created] if returning_ids else []
    from psycopg import sql  # only PostgreSQL gets here

    meta = model._meta
    fields = [meta.get_field(column) for column in columns]
    left_out = [f for f in meta.concrete_fields if f.attname not in columns and not f.primary_key]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in left_out)
    names = [f.column for f in fields + left_out]
    ids = []
    if returning_ids:
        names.insert(0, meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
    # JSON goes in as text: COPY's text format takes any value's text form.
    json_positions = {i for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
    if json_positions:
        rows = [
            tuple(_db_value(f, value, connection) if i in json_positions else value for i, (f, value)
                  in enumerate(zip(fields, row)))
            for row in rows
        ]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(meta.db_table), sql.SQL(", ").join(sql.Identifier(name) for name in names)
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        if returning_ids:
            for pk, row in zip(ids, rows):
                copy.write_row((pk, *row, *defaults))
        else:
            for row in rows:
                copy.write_row((*row, *defaults))
    return ids


def create_objects(objs: list[models.Model], *, reason: str | None = None) -> list[models.Model]:
    """Insert unsaved instances of one model, setting their primary keys; with a `reason`,
    one creation history record each, as simple-history writes on save."""
    if not objs:
        return objs
    model = type(objs[0])
    columns = tuple(f.attname for f in model._meta.concrete_fields if not f.primary_key)
    rows = [tuple(getattr(obj, column) for column in columns) for obj in objs]
    ids = insert_rows(model, rows, columns=columns, returning_ids=True)
    for obj, pk in zip(objs, ids):
        obj.pk = pk
        obj._state.adding = False
    if reason is not None:
        now = timezone.now()
        insert_history_rows(model, ids, rows, [now] * len(rows), reason=reason, columns=columns)
    return objs


def insert_history_rows(model: type[models.Model], ids: list[int], rows: list[tuple], dates: list[datetime.datetime],
                        *, reason: str, change: str = "+", columns: tuple[str, ...] | None = None,
                        returning_ids: bool = False) -> list[int]:
    """One history record per row (the values `insert_rows` wrote under `ids`), as simple-history
    writes on save."""
    if not rows:
        return []
    columns = columns or type(rows[0])._fields
    records = [(pk, *row, date, reason, change, None) for pk, row, date in zip(ids, rows, dates)]
    history_columns = (model._meta.pk.attname, *columns, *HISTORY_COLUMNS)
    return insert_rows(model.history.model, records, columns=history_columns, returning_ids=returning_ids)


def copy_to_history(model: type[models.Model], ids: list[int], *, reason: str, change: str = "+",
                    date: datetime.datetime | None = None, using: str = "default") -> None:
    """One history record per row of `model` in `ids`, copied from the table in the database,
    as simple-history writes on save: nothing crosses to Python and back (a first scan's
    tens of thousands of findings, each with its detail)."""
    if not ids:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    meta, history_meta = model._meta, model.history.model._meta
    copied = [quote(f.column) for f in meta.concrete_fields]
    history_columns = copied + [quote(history_meta.get_field(name).column) for name in HISTORY_COLUMNS]
    when = date or timezone.now()
    select = (
        f"INSERT INTO {quote(history_meta.db_table)} ({', '.join(history_columns)}) "
        f"SELECT {', '.join(copied)}, %s, %s, %s, NULL FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} "
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(select + "= ANY(%s)", [when, reason, change, list(ids)])
            return
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            cursor.execute(select + f"IN ({', '.join(['%s'] * len(chunk))})", [when, reason, change, *chunk])


def bulk_update_fields(objs: list, fields: list[str], *, model: type[models.Model] | None = None,
                       batch_size: int = BATCH_SIZE, using: str = "default") -> None:
    """Write `fields` of every object in `objs` (all of one model) to the database: up to
    `batch_size` in one statement, more through a temporary table on PostgreSQL. With `model`,
    the objects may be any with its `pk` and the fields' attnames (a scan's tens of thousands of
    rows need no model instance each)."""
    if not objs or not fields:
        return
    model = model or type(objs[0])
    meta = model._meta
    targets = [meta.get_field(name) for name in fields]
    connection = connections[using]
    if connection.vendor != "postgresql":
        instances = [obj if isinstance(obj, model) else
                     model(pk=obj.pk, **{field.attname: _python_value(getattr(obj, field.attname)) for field in targets})
                     for obj in objs]
        model._base_manager.using(using).bulk_update(instances, fields, batch_size=min(batch_size, 250))
        return
    if len(objs) > batch_size or len(objs) * (1 + len(targets)) > MAX_PARAMETERS:
        _update_through_copy(connection, meta, targets, objs)
        return
    quote = connection.ops.quote_name
    value_columns = ["pk", *(f"v{i}" for i in range(len(targets)))]
    assignments = ", ".join(
        f"{quote(field.column)} = v.v{i}::{field.cast_db_type(connection)}" for i, field in enumerate(targets)
    )
    pk_type = meta.pk.cast_db_type(connection)
    placeholders = "(" + ", ".join(["%s"] * len(value_columns)) + ")"
    params = []
    for obj in objs:
        params.append(obj.pk)
        params.extend(_db_value(field, getattr(obj, field.attname), connection) for field in targets)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
            f"FROM (VALUES {', '.join([placeholders] * len(objs))}) AS v({', '.join(value_columns)}) "
            f"WHERE t.{quote(meta.pk.column)} = v.pk::{pk_type}",
            params,
        )


def _update_through_copy(connection, meta, targets: list, objs: list) -> None:
    """PostgreSQL: COPY the new values into a temporary table and update from it in one join. For
    tens of thousands of rows that is several times faster than VALUES lists, whose tens of
    thousands of parameters cost more to send and plan than the update itself."""
    from psycopg import sql  # only PostgreSQL gets here

    staging = sql.Identifier(f"bulk_update_{meta.db_table}")
    value_columns = [sql.Identifier(f"v{i}") for i in range(len(targets))]
    column_types = [sql.SQL("pk {}").format(sql.SQL(meta.pk.cast_db_type(connection)))] + [
        sql.SQL("{} {}").format(name, sql.SQL(field.cast_db_type(connection)))
        for name, field in zip(value_columns, targets)]
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = s.{}").format(sql.Identifier(field.column), name) for name, field in zip(value_columns, targets))
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP").format(
            staging, sql.SQL(", ").join(column_types)).as_string(cursor.cursor))
        with cursor.cursor.copy(sql.SQL("COPY {} FROM STDIN").format(staging)) as copy:
            for obj in objs:
                copy.write_row((obj.pk, *(_db_value(field, getattr(obj, field.attname), connection)
                                          for field in targets)))
        cursor.execute(sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE t.{} = s.pk").format(
            sql.Identifier(meta.db_table), assignments, staging, sql.Identifier(meta.pk.column)).as_string(cursor.cursor))
        cursor.execute(sql.SQL("DROP TABLE {}").format(staging).as_string(cursor.cursor))


def bulk_update_with_history(objs: list, fields: list[str], *, default_user=None, default_change_reason: str = "") -> None:
    """bulk_update_fields, plus one history record per object, as simple-history's own does."""
    if not objs:
        return
    bulk_update_fields(objs, fields)
    get_history_manager_for_model(type(objs[0])).bulk_history_create(
        objs, batch_size=BATCH_SIZE, update=True, default_user=default_user, default_change_reason=default_change_reason
    )
