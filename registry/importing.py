"""Importing the directory and the use case inventory, and exporting the inventory back.

Imports are all or nothing: every row is checked before anything is written, every problem
is reported as `row N, column C: message`, and the writes happen set-based in one
transaction. Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.bulk import bulk_update_with_history
from .models import (
    BusinessUnit,
    Decision,
    Frequency,
    Person,
    Stage,
    StageTransition,
    TransitionSource,
    UseCase,
)
from core.actors import acting_user
from core.tabular import UnreadableFile, read_table, write_table

BATCH_SIZE = 2000
# A progress bar is worth showing from here on; below, the import is over before it would help.
PROGRESS_THRESHOLD_ROWS = 300

USE_CASE_COLUMNS = [
    "external_id",
    "title",
    "summary",
    "capability",
    "business_unit",
    "decision",
    "decision_owner",
    "decision_frequency",
    "cost_of_error",
    "business_owner",
    "technical_owner",
    "stage",
    "stage_since",
]
# The columns above; other formats (published inventories) are read by registry/federal.py.
CONTRACT_FORMAT = "contract"
INVENTORY_FORMATS = (CONTRACT_FORMAT, "omb-2025", "omb-2024")
USE_CASE_REQUIRED = ["external_id", "title", "business_unit", "decision"]
PEOPLE_COLUMNS = ["email", "name", "business_unit", "active"]
TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}

Progress = Callable[[Iterable], Iterable]


@dataclass(frozen=True, order=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self):
        if not self.row:
            return self.message
        return f"row {self.row}, column {self.column}: {self.message}" if self.column else f"row {self.row}: {self.message}"


class ImportFailed(Exception):
    """Nothing was written; `errors` names every problem found."""

    def __init__(self, errors: list[RowError]):
        self.errors = sorted(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    ignored_columns: list[str] = field(default_factory=list)

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
            text += f" Ignored unknown columns: {', '.join(self.ignored_columns)}."
        return text


def _no_progress(rows: Iterable) -> Iterable:
    return rows


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


def _check_columns(columns: list[str], required: list[str], known: list[str]) -> list[str]:
    missing = [c for c in required if c not in columns]
    if missing:
        raise ImportFailed(
            [RowError(0, "", f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")]
        )
    return [c for c in columns if c and c not in known]


def _read(path: str | Path):
    try:
        table = read_table(path)
    except UnreadableFile as exc:
        raise ImportFailed([RowError(0, "", f"{path}: {exc}")]) from None
    if not table.rows:
        raise ImportFailed([RowError(0, "", f"{path}: the file has a header row but no data rows")])
    return table


def _chunks(items: list, size: int = BATCH_SIZE):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _people_by_email(emails: set[str]) -> dict[str, Person]:
    people = {}
    for chunk in _chunks(sorted(emails)):
        people.update({p.email: p for p in Person.objects.filter(email__in=chunk)})
    return people


def _units_by_name(names: Iterable[str], actor, *, create: bool) -> dict[str, BusinessUnit]:
    """Units keyed by lower-cased name; with `create`, the missing ones are created."""
    wanted = {" ".join(n.split()).lower(): " ".join(n.split()) for n in names if n}
    units = {u.name.lower(): u for u in BusinessUnit.objects.all()}
    missing = [BusinessUnit(name=wanted[key]) for key in wanted if key not in units]
    if create and missing:
        for unit in bulk_create_with_history(missing, BusinessUnit, default_user=actor, default_change_reason="import"):
            units[unit.name.lower()] = unit
    return units


# People -----------------------------------------------------------------------------------


def import_people(path: str | Path, *, actor=None, dry_run: bool = False, progress: Progress = _no_progress) -> ImportReport:
    """Upsert directory people by email. Blank cells leave a known person's value as it is."""
    table = _read(path)
    report = ImportReport(rows=len(table.rows), dry_run=dry_run)
    report.ignored_columns = _check_columns(table.columns, ["email"], PEOPLE_COLUMNS)
    errors: list[RowError] = []
    parsed: list[tuple[str, str, str, bool | None]] = []
    first_row_of: dict[str, int] = {}
    for number, row in enumerate(progress(table.rows), start=1):
        reader = RowReader(row, number, errors)
        email = reader.text("email", max_length=254, required=True).lower()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                reader.fail("email", f"'{email[:80]}' is not an email address")
            if email in first_row_of:
                reader.fail("email", f"{email} already appears in row {first_row_of[email]}")
            first_row_of.setdefault(email, number)
        name = reader.text("name", max_length=200)
        unit = reader.text("business_unit", max_length=200)
        active_word = row.get("active", "").strip().lower()
        active = None
        if active_word in TRUE_WORDS:
            active = True
        elif active_word in FALSE_WORDS:
            active = False
        elif active_word:
            reader.fail("active", f"'{active_word[:40]}' is not one of: true, false, 1, 0, yes, no")
        parsed.append((email, name, unit, active))
    if errors:
        raise ImportFailed(errors)

    actor = acting_user(actor)
    with transaction.atomic():
        units = _units_by_name({unit for _, _, unit, _ in parsed}, actor, create=not dry_run)
        existing = _people_by_email({email for email, *_ in parsed})
        to_create, to_update = [], []
        for email, name, unit_name, active in parsed:
            unit = units.get(" ".join(unit_name.split()).lower()) if unit_name else None
            person = existing.get(email)
            if person is None:
                to_create.append(Person(email=email, name=name, business_unit=unit, active=True if active is None else active))
                continue
            changed = False
            for attribute, value in (("name", name or None), ("business_unit", unit), ("active", active)):
                if value is not None and getattr(person, attribute) != value:
                    setattr(person, attribute, value)
                    changed = True
            if changed:
                to_update.append(person)
        if not dry_run:
            bulk_create_with_history(to_create, Person, batch_size=BATCH_SIZE, default_user=actor, default_change_reason="import")
            bulk_update_with_history(
                to_update, ["name", "business_unit", "active"], default_user=actor, default_change_reason="import"
            )
    return report.count(created=to_create, updated=to_update)


# Use cases --------------------------------------------------------------------------------


@dataclass
class UseCaseRow:
    number: int
    external_id: str
    title: str
    summary: str
    capability: str
    unit_name: str
    statement: str
    decision_attributes: dict
    business_owner: Person | None
    technical_owner: Person | None
    stage: str
    stage_since: datetime.date | None


DECISION_COLUMN_TO_FIELD = {"decision_owner": "owner", "decision_frequency": "frequency", "cost_of_error": "cost_of_error"}


def _parse_use_case_rows(table, people, today, progress) -> list[UseCaseRow]:
    errors: list[RowError] = []
    rows: list[UseCaseRow] = []
    first_row_of_id: dict[str, int] = {}
    decision_seen: dict[tuple[str, str], tuple[int, dict]] = {}
    for number, row in enumerate(progress(table.rows), start=1):
        reader = RowReader(row, number, errors)
        external_id = reader.text("external_id", max_length=100, required=True)
        if external_id in first_row_of_id:
            reader.fail("external_id", f"'{external_id}' already appears in row {first_row_of_id[external_id]}")
        elif external_id:
            first_row_of_id[external_id] = number
        unit_name = " ".join(reader.text("business_unit", max_length=200, required=True).split())
        statement = " ".join(reader.text("decision", max_length=300, required=True).split())
        decision_attributes = {}
        for column, parse in (
            ("decision_owner", lambda c: reader.person(c, people)),
            ("decision_frequency", lambda c: reader.choice(c, Frequency.values)),
            ("cost_of_error", reader.amount),
        ):
            if reader.has(column):
                errors_before = len(errors)
                value = parse(column)
                # An unreadable value is reported once, not again as a conflict with other rows.
                if len(errors) == errors_before:
                    decision_attributes[DECISION_COLUMN_TO_FIELD[column]] = value
        decision_key = (unit_name.lower(), statement)
        if unit_name and statement:
            if decision_key in decision_seen:
                first_row, first_attributes = decision_seen[decision_key]
                for attribute, value in decision_attributes.items():
                    if attribute in first_attributes and first_attributes[attribute] != value:
                        column = next(c for c, f in DECISION_COLUMN_TO_FIELD.items() if f == attribute)
                        reader.fail(column, f"differs from row {first_row}, which gives the same decision")
            else:
                decision_seen[decision_key] = (number, decision_attributes)
        rows.append(
            UseCaseRow(
                number=number,
                external_id=external_id,
                title=reader.text("title", max_length=200, required=True),
                summary=reader.text("summary", max_length=5000),
                capability=reader.text("capability", max_length=200),
                unit_name=unit_name,
                statement=statement,
                decision_attributes=decision_attributes,
                business_owner=reader.person("business_owner", people),
                technical_owner=reader.person("technical_owner", people),
                stage=reader.choice("stage", Stage.values, default=Stage.PROPOSED),
                stage_since=reader.date("stage_since", not_after=today),
            )
        )
    if errors:
        raise ImportFailed(errors)
    return rows


def _existing_use_cases(external_ids: list[str]) -> dict[str, UseCase]:
    """Use cases by external id; an id that is a bare number also finds the use case of that
    primary key that has no external id, which is how an export names such use cases."""
    found = {}
    for chunk in _chunks(external_ids):
        found.update({u.external_id: u for u in UseCase.objects.filter(external_id__in=chunk)})
    unmatched_numbers = [int(i) for i in external_ids if i not in found and i.isdigit()]
    for chunk in _chunks(unmatched_numbers):
        found.update({str(u.pk): u for u in UseCase.objects.filter(pk__in=chunk, external_id__isnull=True)})
    return found


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def import_use_cases(
    path: str | Path,
    *,
    actor=None,
    dry_run: bool = False,
    today: datetime.date | None = None,
    progress: Progress = _no_progress,
    format: str = CONTRACT_FORMAT,
) -> ImportReport:
    """Create or update use cases (and their decisions and units) from a CSV or XLSX file.

    A column present in the file is the source of truth for that field: a blank cell clears
    it. A column absent from the file leaves the field as it is. The stage is recorded as
    the source reports it (gates apply to moves made in the product), with a transition
    whose source is the import.

    `format` other than the CONTRACT's columns reads a published inventory instead
    (`omb-2025`, `omb-2024`: see registry/federal.py).
    """
    if format != CONTRACT_FORMAT:
        from .federal import import_federal

        return import_federal(path, fmt=format, actor=actor, dry_run=dry_run, today=today, progress=progress)
    today = today or timezone.localdate()
    now = timezone.now()
    actor = acting_user(actor)
    table = _read(path)
    report = ImportReport(rows=len(table.rows), dry_run=dry_run)
    report.ignored_columns = _check_columns(table.columns, USE_CASE_REQUIRED, USE_CASE_COLUMNS)
    columns = set(table.columns)
    owner_emails = {
        row.get(column, "").strip().lower()
        for row in table.rows
        for column in ("decision_owner", "business_owner", "technical_owner")
    } - {""}
    rows = _parse_use_case_rows(table, _people_by_email(owner_emails), today, progress)
    reason = f"imported from {Path(path).name}"

    with transaction.atomic():
        units = _units_by_name({r.unit_name for r in rows}, actor, create=not dry_run)
        decisions = _plan_decisions(rows, units, today)
        new_decisions = [d for d in decisions.values() if d.pk is None]
        changed_decisions = [d for d in decisions.values() if d.pk is not None and getattr(d, "_import_changed", False)]
        existing = _existing_use_cases([r.external_id for r in rows])

        to_create: list[UseCase] = []
        to_update: list[UseCase] = []
        transitions: list[StageTransition] = []
        changed_fields: set[str] = set()
        out_of_order: list[RowError] = []
        for row in rows:
            unit = units.get(row.unit_name.lower())
            decision = decisions[(row.unit_name.lower(), row.statement)]
            use_case = existing.get(row.external_id)
            if use_case is None:
                stage_entered_on = row.stage_since or today
                use_case = UseCase(
                    external_id=row.external_id, decision=decision, business_unit=unit, title=row.title,
                    summary=row.summary, capability=row.capability, business_owner=row.business_owner,
                    business_owner_confirmed_on=today if row.business_owner else None,
                    technical_owner=row.technical_owner,
                    technical_owner_confirmed_on=today if row.technical_owner else None,
                    stage=row.stage, stage_entered_on=stage_entered_on, created_at=now, updated_at=now,
                )
                to_create.append(use_case)
                transitions.append(
                    StageTransition(use_case=use_case, from_stage="", to_stage=row.stage,
                                    occurred_at=_start_of_day(stage_entered_on), actor=actor,
                                    source=TransitionSource.IMPORT, reason=reason)
                )
                continue
            changed = _apply_row(use_case, row, columns, decision, unit, today)
            if "stage" in columns and use_case.stage != row.stage:
                moved_on = row.stage_since or today
                if moved_on < use_case.stage_entered_on:
                    # The trail of stages must read in order: this move cannot predate the last.
                    out_of_order.append(RowError(
                        row.number, "stage_since",
                        f"{moved_on.isoformat()} is before {use_case.stage_entered_on.isoformat()}, when "
                        f"'{row.external_id}' entered {use_case.stage}",
                    ))
                transitions.append(
                    StageTransition(use_case=use_case, from_stage=use_case.stage, to_stage=row.stage,
                                    occurred_at=_start_of_day(row.stage_since or today), actor=actor,
                                    source=TransitionSource.IMPORT, reason=reason)
                )
                use_case.stage = row.stage
                use_case.stage_entered_on = row.stage_since or today
                changed |= {"stage", "stage_entered_on"}
            elif row.stage_since and use_case.stage_entered_on != row.stage_since and (
                "stage" not in columns or use_case.stage == row.stage
            ):
                use_case.stage_entered_on = row.stage_since
                changed.add("stage_entered_on")
            if changed:
                use_case.version += 1
                use_case.updated_at = now
                to_update.append(use_case)
                changed_fields |= changed | {"version", "updated_at"}

        if out_of_order:
            raise ImportFailed(out_of_order)
        if not dry_run:
            bulk_create_with_history(new_decisions, Decision, batch_size=BATCH_SIZE, default_user=actor, default_change_reason=reason)
            bulk_update_with_history(
                changed_decisions, ["owner", "owner_confirmed_on", "frequency", "cost_of_error", "updated_at"],
                default_user=actor, default_change_reason=reason,
            )
            write_use_cases(to_create=to_create, to_update=to_update, changed_fields=changed_fields,
                            transitions=transitions, actor=actor, reason=reason)
    return report.count(created=to_create, updated=to_update)


def write_use_cases(*, to_create: list[UseCase], to_update: list[UseCase], changed_fields: set[str],
                    transitions: list[StageTransition], actor, reason: str) -> None:
    """Write an import's new and changed use cases, with their history and stage transitions."""
    bulk_create_with_history(to_create, UseCase, batch_size=BATCH_SIZE, default_user=actor, default_change_reason=reason)
    bulk_update_with_history(to_update, sorted(changed_fields), default_user=actor, default_change_reason=reason)
    StageTransition.objects.bulk_create(transitions, batch_size=BATCH_SIZE)


def _plan_decisions(rows: list[UseCaseRow], units, today) -> dict[tuple[str, str], Decision]:
    """The decision of every row, existing or new (unsaved), with the file's attributes applied."""
    unit_ids = {u.pk for u in units.values() if u.pk}
    statements = {r.statement for r in rows}
    existing = {}
    for chunk in _chunks(sorted(statements)):
        for decision in Decision.objects.filter(business_unit_id__in=unit_ids, statement__in=chunk).select_related("business_unit"):
            existing[(decision.business_unit.name.lower(), decision.statement)] = decision
    now = timezone.now()
    planned: dict[tuple[str, str], Decision] = {}
    for row in rows:
        key = (row.unit_name.lower(), row.statement)
        if key in planned:
            continue
        decision = existing.get(key)
        if decision is None:
            decision = Decision(statement=row.statement, business_unit=units.get(row.unit_name.lower()), created_at=now, updated_at=now)
        for attribute, value in row.decision_attributes.items():
            if attribute == "frequency":
                value = value or ""
            current = decision.owner_id if attribute == "owner" else getattr(decision, attribute)
            if current != (value.pk if attribute == "owner" and value else value):
                setattr(decision, attribute, value)
                decision._import_changed = True
                if attribute == "owner":
                    decision.owner_confirmed_on = today if value else None
        if decision.pk is None and decision.owner_id and decision.owner_confirmed_on is None:
            decision.owner_confirmed_on = today
        if decision.pk is not None and getattr(decision, "_import_changed", False):
            decision.updated_at = now
        planned[key] = decision
    return planned


RELATED_ATTRIBUTES = ("decision", "business_unit", "business_owner", "technical_owner")


def _differs(use_case: UseCase, attribute: str, value) -> bool:
    if attribute not in RELATED_ATTRIBUTES:
        return getattr(use_case, attribute) != value
    if value is not None and value.pk is None:
        return True  # created by this very import
    return getattr(use_case, f"{attribute}_id") != (value.pk if value is not None else None)


def _apply_row(use_case: UseCase, row: UseCaseRow, columns: set[str], decision, unit, today) -> set[str]:
    """Set the row's values on an existing use case; returns the names of the fields that changed."""
    updates = {"title": row.title, "decision": decision, "business_unit": unit}
    for column in ("summary", "capability", "business_owner", "technical_owner"):
        if column in columns:
            updates[column] = getattr(row, column)
    changed = set()
    for attribute, value in updates.items():
        if _differs(use_case, attribute, value):
            setattr(use_case, attribute, value)
            changed.add(attribute)
            if attribute.endswith("_owner"):
                setattr(use_case, f"{attribute}_confirmed_on", today if value else None)
                changed.add(f"{attribute}_confirmed_on")
    return changed


# Export -----------------------------------------------------------------------------------


def _blank(value) -> str:
    return "" if value is None else str(value)


def export_use_cases(path: str | Path, *, format: str = CONTRACT_FORMAT) -> int:
    """Write every use case in the columns `import_use_cases` reads; returns the row count.

    `format="omb-2025"` writes the US federal inventory's columns instead (registry/federal.py).
    """
    if format != CONTRACT_FORMAT:
        from .federal import export_federal

        return export_federal(path, fmt=format)
    queryset = (
        UseCase.objects.select_related("business_unit", "decision__owner", "business_owner", "technical_owner")
        .order_by("pk")
        .iterator(chunk_size=BATCH_SIZE)
    )

    def rows():
        for use_case in queryset:
            decision = use_case.decision
            yield [
                use_case.key,
                use_case.title,
                use_case.summary,
                use_case.capability,
                use_case.business_unit.name,
                decision.statement,
                decision.owner.email if decision.owner else "",
                decision.frequency,
                _blank(decision.cost_of_error),
                use_case.business_owner.email if use_case.business_owner else "",
                use_case.technical_owner.email if use_case.technical_owner else "",
                use_case.stage,
                use_case.stage_entered_on.isoformat(),
            ]

    return write_table(path, USE_CASE_COLUMNS, rows())
