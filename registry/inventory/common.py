"""What every import shares: the all-or-nothing error and its row errors, the report, reading
a file's rows and values, and the set-based lookups and writes of the formats.

Nothing here knows a format's columns; `contract`, `directory` and `federal` do.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.bulk import bulk_update_with_history
from core.errors import InvalidInput
from core.tabular import NUL, Table, UnreadableFile, read_table
from core.text import collapse_whitespace

from ..models import BusinessUnit, Person, StageTransition, UseCase
from ..signals import texts_changed

BATCH_SIZE = 2000
# A progress bar is worth showing from here on; below, the import is over before it would help.
PROGRESS_THRESHOLD_ROWS = 300
# The report names at most this many columns it ignored, each cut to this length.
IGNORED_COLUMNS_SHOWN = 20
COLUMN_NAME_SHOWN = 60
NUL_MESSAGE = "contains a NUL character (byte 0); remove it and save the file again as CSV (UTF-8) or XLSX"

Progress = Callable[[Iterable], Iterable]


def no_progress(rows: Iterable) -> Iterable:
    return rows


# Errors and the report ---------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self):
        if not self.row:
            return self.message
        return f"row {self.row}, column {self.column}: {self.message}" if self.column else f"row {self.row}: {self.message}"


def max_errors() -> int:
    """How many problems an import lists at most (the setting IMPORT_MAX_ERRORS)."""
    return getattr(settings, "IMPORT_MAX_ERRORS", 1000)


class RowErrors:
    """The problems an import finds, collected as a list would be but keeping only the first
    `limit` (default: max_errors()); `len()` counts every problem found, kept or not."""

    def __init__(self, limit: int | None = None):
        self.limit = max_errors() if limit is None else limit
        self.kept: list[RowError] = []
        self.dropped = 0

    def append(self, error: RowError) -> None:
        if len(self.kept) < self.limit:
            self.kept.append(error)
        else:
            self.dropped += 1

    def extend(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.append(error)

    def __len__(self) -> int:
        return len(self.kept) + self.dropped

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[RowError]:
        return iter(self.kept)


class ImportFailed(InvalidInput):
    """Nothing was written; `errors` names the problems found.

    Unlike other InvalidInput, `errors` is the list of RowErrors in row order (each prints as
    `row N, column C: message`): at most max_errors() of them, `more` counting the others.
    `lines` is what to show (the errors, then "… and N more problems" if any were left out),
    and the message is those lines joined.
    """

    def __init__(self, errors: RowErrors | list[RowError]):
        total = len(errors)
        row_errors = sorted(errors)[:max_errors()]
        more = total - len(row_errors)
        super().__init__("\n".join(self._lines(row_errors, more)))
        self.errors, self.more = row_errors, more

    def field_errors(self) -> dict[str, list[str]]:
        return {"__all__": self.lines}

    @property
    def count(self) -> int:
        """Every problem found, listed or not."""
        return len(self.errors) + self.more

    @property
    def lines(self) -> list[str]:
        return self._lines(self.errors, self.more)

    @staticmethod
    def _lines(errors: list[RowError], more: int) -> list[str]:
        lines = [str(e) for e in errors]
        if more:
            lines.append(f"… and {more:,} more problem{'s' if more > 1 else ''} "
                         f"(only the first {len(errors):,} are listed)")
        return lines


class ImportWriteFailed(Exception):
    """The database refused an import that passed its checks (a concurrent writer took a key,
    or a bug); the transaction rolled back, so nothing was written. `row` is the data row the
    database's error names, when it names one; `str()` is one line for the person importing."""

    def __init__(self, cause: DatabaseError, *, row: int | None = None, dry_run: bool = False):
        self.cause, self.row = cause, row
        first_line = (str(cause).strip().splitlines() or [""])[0][:200]
        what = "checked against" if dry_run else "written to"
        text = f"could not be {what} the registry ({cause.__class__.__name__}: {first_line}); nothing was imported."
        super().__init__(f"row {row}: {text}" if row else text)


# What PostgreSQL says of a unique key it refused: "Key (external_id)=(FIN-7) already exists."
_KEY_DETAIL = re.compile(r"Key \((?P<columns>.*?)\)=\((?P<values>.*)\)")


def _row_named_by(error: DatabaseError, rows_by_key: Mapping[str, int]) -> int | None:
    """The data row whose key the database's error names (PostgreSQL names a refused key's
    values; a composite key's last value is the one a row gives), if any."""
    detail = getattr(getattr(error.__cause__, "diag", None), "message_detail", None) or ""
    found = _KEY_DETAIL.search(detail)
    if found is None:
        return None
    values = found["values"]
    if values in rows_by_key:
        return rows_by_key[values]
    rows = [number for key, number in rows_by_key.items() if values.endswith(f", {key}")]
    return min(rows) if rows else None


@contextmanager
def writing(rows_by_key: Mapping[str, int], *, dry_run: bool = False):
    """Around an import's transaction: a DatabaseError becomes ImportWriteFailed naming the data
    row when the error names one of `rows_by_key` (a key the file gives → its row number).
    Outside the transaction, so that it has rolled back when this reports."""
    try:
        yield
    except DatabaseError as exc:
        raise ImportWriteFailed(exc, row=_row_named_by(exc, rows_by_key), dry_run=dry_run) from exc


@dataclass
class RowChange:
    """One updated row: its number, its key and each field that changes as (field, old, new)."""

    row: int
    key: str
    fields: list[tuple[str, str, str]]


CHANGES_KEPT = 1000


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    ignored_columns: list[str] = field(default_factory=list)
    as_of: datetime.date | None = None  # the date an inventory speaks for, when the format has one
    linked: int | None = None  # rows linked to their report in an earlier inventory
    # What the updated rows change, field by field (the first CHANGES_KEPT of them; `updated` counts all).
    changes: list[RowChange] = field(default_factory=list)

    def count(self, *, created: list, updated: list) -> ImportReport:
        """Tally what the import created and updated; every other row it read was unchanged."""
        self.created, self.updated = len(created), len(updated)
        self.unchanged = self.rows - self.created - self.updated
        return self

    def summary(self, noun: str) -> str:
        verb = "would be" if self.dry_run else "were"
        text = (
            f"{self.rows} rows read: {self.created} {noun} {verb} created, {self.updated} updated, "
            f"{self.unchanged} unchanged."
        )
        if self.ignored_columns:
            shown = [name if len(name) <= COLUMN_NAME_SHOWN else name[:COLUMN_NAME_SHOWN] + "…"
                     for name in self.ignored_columns[:IGNORED_COLUMNS_SHOWN]]
            more = len(self.ignored_columns) - len(shown)
            text += f" Ignored unknown columns: {', '.join(shown)}{f' and {more:,} more' if more else ''}."
        if self.as_of is not None:
            text += f" The inventory speaks as of {self.as_of.isoformat()}."
        if self.linked:
            text += f" {self.linked:,} OMB 2025 rows are linked to their OMB 2024 rows."
        return text


# Reading -----------------------------------------------------------------------------------


class RowReader:
    """Reads typed values out of one row, collecting every problem instead of stopping."""

    def __init__(self, row: dict[str, str], number: int, errors: list[RowError]):
        self.row, self.number, self.errors = row, number, errors

    def has(self, column: str) -> bool:
        return column in self.row

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))

    def text(self, column: str, *, max_length: int, required: bool = False) -> str:
        value = self.row.get(column, "").strip()
        if required and not value:
            self.fail(column, "is required")
        elif len(value) > max_length:
            self.fail(column, f"is {len(value):,} characters long; at most {max_length:,} are allowed")
            return value[:max_length]
        return value

    def choice(self, column: str, allowed: list[str], default: str = "") -> str:
        value = self.row.get(column, "").strip().lower()
        if not value:
            return default
        if value not in allowed:
            shown = value if len(value) <= 40 else value[:40] + "…"
            self.fail(column, f"'{shown}' is not one of: {', '.join(allowed)}")
            return default
        return value

    def amount(self, column: str) -> Decimal | None:
        raw = self.row.get(column, "").strip()
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.fail(column, f"'{raw[:40]}' is not a number")
            return None
        if not value.is_finite():
            self.fail(column, f"'{raw[:40]}' is not a number")
        elif value < 0:
            self.fail(column, f"must not be negative (got {raw})")
        elif value >= Decimal(10) ** 14:
            self.fail(column, f"{raw} is too large")
        elif value != value.quantize(Decimal("0.01")):
            self.fail(column, f"{raw} has more than 2 decimal places")
        else:
            return value
        return None

    def date(self, column: str, *, not_after: datetime.date) -> datetime.date | None:
        raw = self.row.get(column, "").strip()
        if not raw:
            return None
        try:
            value = datetime.date.fromisoformat(raw)
        except ValueError:
            self.fail(column, f"'{raw[:40]}' is not a date in the form YYYY-MM-DD")
            return None
        if value > not_after:
            self.fail(column, f"{raw} is in the future")
            return None
        return value

    def person(self, column: str, people: dict[str, Person]) -> Person | None:
        email = self.row.get(column, "").strip().lower()
        if not email:
            return None
        person = people.get(email)
        if person is None:
            shown = email if len(email) <= 80 else email[:80] + "…"
            self.fail(column, f"no person with email '{shown}' in the directory (import people first)")
        return person


def check_columns(columns: list[str], required: list[str], known: list[str]) -> list[str]:
    """Refuse a file lacking a required column; returns the columns the format does not know."""
    missing = [c for c in required if c not in columns]
    if missing:
        raise ImportFailed(
            [RowError(0, "", f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")]
        )
    return [c for c in columns if c and c not in known]


def read_rows(path: str | Path, errors: RowErrors | list[RowError]) -> Table:
    """The table of a CSV or XLSX file with a header row and data rows, else ImportFailed; read
    within the settings' limits (core.tabular.Limits).

    A cell holding a NUL character (which no database text takes) is a problem of its row and
    column, appended to `errors`; its NULs are dropped, so that the checks that follow (and their
    look-ups) read it safely and do not report the cell again. The import fails on the problem,
    so the cell is never written.
    """
    try:
        table = read_table(path)
    except UnreadableFile as exc:
        raise ImportFailed([RowError(0, "", f"{path}: {exc}")]) from None
    if not table.rows:
        raise ImportFailed([RowError(0, "", f"{path}: the file has a header row but no data rows")])
    for number, row in enumerate(table.rows, start=1):
        for column, value in row.items():
            if NUL in value:
                errors.append(RowError(number, column, NUL_MESSAGE))
                row[column] = value.replace(NUL, "")
    return table


# Set-based lookups and writes --------------------------------------------------------------


def chunks(items: list, size: int = BATCH_SIZE):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def people_by_email(emails: set[str]) -> dict[str, Person]:
    people = {}
    for chunk in chunks(sorted(emails)):
        people.update({p.email: p for p in Person.objects.filter(email__in=chunk)})
    return people


def units_by_name(names: Iterable[str], actor, *, create: bool, reason: str | None) -> dict[str, BusinessUnit]:
    """Units keyed by lower-cased name (whitespace collapsed); with `create`, the missing ones
    are created, with a history record each naming `actor` (a login or None) and `reason`."""
    wanted = {collapse_whitespace(n).lower(): collapse_whitespace(n) for n in names if n}
    units = {u.name.lower(): u for u in BusinessUnit.objects.all()}
    missing = [BusinessUnit(name=wanted[key]) for key in wanted if key not in units]
    if create and missing:
        for unit in bulk_create_with_history(missing, BusinessUnit, default_user=actor, default_change_reason=reason):
            units[unit.name.lower()] = unit
    return units


def existing_use_cases(external_ids: list[str]) -> dict[str, UseCase]:
    """Use cases by external id; an id that is a bare number also finds the use case of that
    primary key that has no external id, which is how an export names such use cases."""
    found = {}
    for chunk in chunks(external_ids):
        found.update({u.external_id: u for u in UseCase.objects.filter(external_id__in=chunk)})
    unmatched_numbers = [int(i) for i in external_ids if i not in found and i.isdigit()]
    for chunk in chunks(unmatched_numbers):
        found.update({str(u.pk): u for u in UseCase.objects.filter(pk__in=chunk, external_id__isnull=True)})
    return found


def start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _point_at_created(use_cases: list[UseCase], fields: Iterable[str]) -> None:
    """A use case moved to a decision (or unit) this import creates was given it before it had
    a key: point its foreign key at the key it has now. (bulk_create does this for new use
    cases; the set-based update writes the key columns as they are.)"""
    relations = [f for f in UseCase._meta.concrete_fields if f.many_to_one and f.name in set(fields)]
    for use_case in use_cases:
        for relation in relations:
            if relation.is_cached(use_case):
                related = relation.get_cached_value(use_case)
                if related is not None and getattr(use_case, relation.attname) != related.pk:
                    setattr(use_case, relation.attname, related.pk)


def write_use_cases(*, to_create: list[UseCase], to_update: list[UseCase], changed_fields: set[str],
                    transitions: list[StageTransition], actor, reason: str) -> None:
    """Write an import's new and changed use cases, with their history and stage transitions."""
    _point_at_created(to_update, changed_fields)
    bulk_create_with_history(to_create, UseCase, batch_size=BATCH_SIZE, default_user=actor, default_change_reason=reason)
    bulk_update_with_history(to_update, sorted(changed_fields), default_user=actor, default_change_reason=reason)
    StageTransition.objects.bulk_create(transitions, batch_size=BATCH_SIZE)
    rewritten = to_update if changed_fields & {"title", "summary"} else []
    if to_create or rewritten:
        texts_changed.send(sender=UseCase, use_case_ids=[u.pk for u in (*to_create, *rewritten)])
