"""The CONTRACT.md inventory format: one use case a row, in the columns `import_use_cases`
reads and `export_use_cases` writes back, so an export imports back unchanged.

A column present in the file is the source of truth for that field; a column absent leaves
it as it is. Decisions are keyed by (business unit, statement) and units by name, both
created if new; an unknown owner email is an error for its row (import people first).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.actors import acting_user
from core.bulk import bulk_update_with_history
from core.tabular import write_table
from core.text import collapse_whitespace

from .. import access
from ..models import BusinessUnit, Decision, Frequency, Person, Stage, StageTransition, TransitionSource, UseCase
from .common import (
    BATCH_SIZE,
    CHANGES_KEPT,
    ImportFailed,
    ImportReport,
    Progress,
    RowError,
    RowErrors,
    RowChange,
    RowReader,
    check_columns,
    chunks,
    existing_use_cases,
    no_progress,
    people_by_email,
    read_rows,
    start_of_day,
    units_by_name,
    write_use_cases,
    writing,
)

CONTRACT_FORMAT = "contract"
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
USE_CASE_REQUIRED = ["external_id", "title", "business_unit", "decision"]
NOT_ALLOWED = "Imports are the program office's."


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


def _parse_use_case_rows(table, people, today, progress, errors: RowErrors) -> list[UseCaseRow]:
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
        unit_name = collapse_whitespace(reader.text("business_unit", max_length=200, required=True))
        statement = collapse_whitespace(reader.text("decision", max_length=300, required=True))
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


def import_use_cases(
    path: str | Path,
    *,
    actor,
    dry_run: bool = False,
    today: datetime.date | None = None,
    progress: Progress = no_progress,
) -> ImportReport:
    """Create or update use cases (and their decisions and units) from a CSV or XLSX file.

    A column present in the file is the source of truth for that field: a blank cell clears
    it. A column absent from the file leaves the field as it is. The stage is recorded as
    the source reports it (gates apply to moves made in the product), with a transition
    whose source is the import.

    Other formats (published inventories) have importers of their own: see `formats`.
    Refuses (NotAllowed) unless the actor may import.
    """
    access.require(access.can_import(actor), NOT_ALLOWED)
    today = today or timezone.localdate()
    now = timezone.now()
    actor = acting_user(actor)
    errors = RowErrors()
    table = read_rows(path, errors)
    report = ImportReport(rows=len(table.rows), dry_run=dry_run)
    report.ignored_columns = check_columns(table.columns, USE_CASE_REQUIRED, USE_CASE_COLUMNS)
    columns = set(table.columns)
    owner_emails = {
        row.get(column, "").strip().lower()
        for row in table.rows
        for column in ("decision_owner", "business_owner", "technical_owner")
    } - {""}
    rows = _parse_use_case_rows(table, people_by_email(owner_emails), today, progress, errors)
    reason = f"imported from {Path(path).name}"

    with writing(_rows_by_key(rows), dry_run=dry_run), transaction.atomic():
        units = units_by_name({r.unit_name for r in rows}, actor, create=not dry_run, reason="import")
        decisions = _plan_decisions(rows, units, today)
        new_decisions = [d for d in decisions.values() if d.pk is None]
        changed_decisions = [d for d in decisions.values() if d.pk is not None and getattr(d, "_import_changed", False)]
        existing = existing_use_cases([r.external_id for r in rows])

        to_create: list[UseCase] = []
        to_update: list[UseCase] = []
        transitions: list[StageTransition] = []
        changed_fields: set[str] = set()
        out_of_order: list[RowError] = []
        updated_rows: list[tuple[UseCaseRow, UseCase, dict, set[str]]] = []
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
                                    occurred_at=start_of_day(stage_entered_on), actor=actor,
                                    source=TransitionSource.IMPORT, reason=reason)
                )
                continue
            before = _shown_state(use_case)
            changed = _apply_row(use_case, row, columns, decision, unit, today)
            if "stage" in columns and use_case.stage != row.stage:
                moved_on = row.stage_since or today
                if use_case.stage_entered_on is not None and moved_on < use_case.stage_entered_on:
                    # The trail of stages must read in order: this move cannot predate the last.
                    out_of_order.append(RowError(
                        row.number, "stage_since",
                        f"{moved_on.isoformat()} is before {use_case.stage_entered_on.isoformat()}, when "
                        f"'{row.external_id}' entered {use_case.stage}",
                    ))
                transitions.append(
                    StageTransition(use_case=use_case, from_stage=use_case.stage, to_stage=row.stage,
                                    occurred_at=start_of_day(row.stage_since or today), actor=actor,
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
                if len(updated_rows) < CHANGES_KEPT:
                    updated_rows.append((row, use_case, before, changed))

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
    report.changes = _describe_changes(updated_rows)
    return report.count(created=to_create, updated=to_update)


# What a report shows of an updated row: these fields, a related record by its name.
SHOWN_FIELDS = ("title", "summary", "capability", "business_unit", "decision", "business_owner", "technical_owner",
                "stage", "stage_entered_on")


def _shown_state(use_case: UseCase) -> dict:
    """The shown fields' values, related records by id (read without a query)."""
    return {name: getattr(use_case, f"{name}_id" if name in RELATED_ATTRIBUTES else name) for name in SHOWN_FIELDS}


def _describe_changes(updated_rows: list[tuple[UseCaseRow, UseCase, dict, set[str]]]) -> list[RowChange]:
    """Each updated row's changes as text, old → new; the names of the records they were
    related to before are read in one query per kind of record."""
    old_ids = {name: {before[name] for _, _, before, _ in updated_rows} - {None} for name in RELATED_ATTRIBUTES}
    people = dict(Person.objects.filter(pk__in=old_ids["business_owner"] | old_ids["technical_owner"])
                  .values_list("pk", "email"))
    names = {
        "business_unit": dict(BusinessUnit.objects.filter(pk__in=old_ids["business_unit"]).values_list("pk", "name")),
        "decision": dict(Decision.objects.filter(pk__in=old_ids["decision"]).values_list("pk", "statement")),
        "business_owner": people, "technical_owner": people,
    }

    def shown(name, value) -> str:
        if value is None:
            return ""
        if name in RELATED_ATTRIBUTES:
            return value if isinstance(value, str) else names[name].get(value, str(value))
        return value.isoformat() if isinstance(value, datetime.date) else str(value)

    def new_value(use_case, name):
        if name not in RELATED_ATTRIBUTES:
            return getattr(use_case, name)
        related = getattr(use_case, name)
        if related is None:
            return None
        return {"business_unit": lambda r: r.name, "decision": lambda r: r.statement}.get(name, lambda r: r.email)(related)

    changes = []
    for row, use_case, before, changed in updated_rows:
        fields = [(name, shown(name, before[name]), shown(name, new_value(use_case, name)))
                  for name in SHOWN_FIELDS if name in changed]
        changes.append(RowChange(row.number, row.external_id, fields))
    return changes


def _rows_by_key(rows: list[UseCaseRow]) -> dict[str, int]:
    """The first row giving each key the database may name in a refusal: an external id, a
    decision's statement, a unit's name as its case-insensitive key holds it."""
    keys: dict[str, int] = {}
    for row in rows:
        keys.setdefault(row.external_id, row.number)
        keys.setdefault(row.statement, row.number)
        keys.setdefault(row.unit_name.lower(), row.number)
    return keys


def _plan_decisions(rows: list[UseCaseRow], units, today) -> dict[tuple[str, str], Decision]:
    """The decision of every row, existing or new (unsaved), with the file's attributes applied."""
    unit_ids = {u.pk for u in units.values() if u.pk}
    statements = {r.statement for r in rows}
    existing = {}
    for chunk in chunks(sorted(statements)):
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


def export_use_cases(path: str | Path) -> int:
    """Write every use case in the columns `import_use_cases` reads; returns the row count.

    Other formats have exporters of their own: see `formats`.
    """
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
                _blank(use_case.stage_entered_on),
            ]

    return write_table(path, USE_CASE_COLUMNS, rows())
