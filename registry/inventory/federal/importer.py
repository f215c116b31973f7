"""Importing a published US federal inventory: read the file as published, map its rows, and
write them all or nothing.

The files are read as published: UTF-8 with or without a byte-order mark (cp1252 for older
copies that are not UTF-8), line breaks inside quoted fields, cells kept exactly as written.

**The inventory's date** (``as_of``, recorded on each row as ``source_as_of``): given on import
(``--as-of``), else the latest date the file reports as already reached, not after the import
day — 2025: the ``operational_date`` of use cases in pilot, deployed or retired (a
pre-deployment row's date is a plan); 2024: the stage dates up to the stage each row reports.
The scans judge the ages of imported rows at that date until the product sees newer activity
on them (``portfolio.detectors.stalled_pilots``): the import day is neither activity nor a
stage entry.

**Stage dates.** 2025: a use case in pilot, production or retired entered its stage on its
``operational_date`` when that is a readable date not after the inventory's date (ISO,
``M/D/YYYY``, ``MM/YYYY``, ``Mon-YY``, ``YYYY``; a month or a year alone counts from its first
day). 2024: each stage date gives a transition — ``Date Initiated`` → proposed, ``Date when
Acquisition and/or Development began`` → validating, ``Date Implemented`` → pilot for a use
case reported in implementation and assessment, production for one in operation or retired,
``Date Retired`` → retired — as far as the stage the row reports (a date for a later stage is
a plan, not history). A date earlier than the step before it counts as that step's date, so
the trail reads in order. **No duration is invented**: a stage reported without a date of its
own is an undated transition on the inventory's date (``StageTransition.dated`` false: held
by then, entered on a day nobody reported), and the use case's ``stage_entered_on`` is blank.
A blank stage is ``unreported`` ("Stage not reported"), never proposed.

**Earlier reports.** Where both years are loaded (in either order), each 2025 row is linked to
its 2024 row (``UseCase.earlier_report``) when exactly one row of each file has the same
agency code and normalised name (lower case, letters and digits only): the 2024 row's stage
history is then the 2025 row's past (``registry.selectors.stages``), so a row still in
development since 2021 shows it, and the scans judge only the 2025 row.

**Decisions.** The inventory names no decision. Each use case is created under its unit's
placeholder decision (``is_defined`` false); re-importing never moves a use case whose owner
has since stated its decision (``services.state_decision``) back under the placeholder.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.actors import acting_user, names_its_actor
from core.bulk import bulk_update_with_history
from core.errors import InvalidInput
from core.tabular import NUL, Limits, UnreadableFile, bounded
from core.text import collapse_whitespace

from ... import access
from ...models import (
    BusinessUnit, Decision, OMBDetermination, Person, PracticeRecord, PracticeStatus, Stage, StageTransition,
    TransitionSource, UseCase,
)
from ..common import (
    BATCH_SIZE,
    NUL_MESSAGE,
    ImportFailed,
    ImportReport,
    Progress,
    RowError,
    RowErrors,
    chunks,
    existing_use_cases,
    no_progress,
    start_of_day,
    units_by_name,
    write_use_cases,
    writing,
)
from .high_impact import (
    IS_HIGH_IMPACT, PRACTICE_COLUMN, BadCell, Determination, Reported, agrees, determination_agrees,
    read_determination, read_practices, reported_note,
)
from .keys import base_key, stable_keys
from .mapping import (
    C24_ABBREVIATION,
    C24_AGENCY,
    C24_BUREAU,
    C24_DEVELOPMENT,
    C24_IMPLEMENTED,
    C24_INITIATED,
    C24_NAME,
    C24_OUTPUTS,
    C24_PURPOSE,
    C24_RETIRED,
    C24_STAGE,
    C24_TOPIC,
    FEDERAL_FORMATS,
    OMB_2025,
    PLACEHOLDER_STATEMENT,
    REQUIRED,
    STAGE_ORDER,
    STAGES_2024,
    STAGES_2025,
    derive_capability,
    derive_summary,
    derive_title,
    map_stage,
    owner_email,
    parse_source_date,
    unit_name,
)
from .reports import link_reports

NOT_ALLOWED = "Imports are the program office's."


# Reading the published file -----------------------------------------------------------------


def read_published(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a published inventory, cells exactly as written."""
    path = Path(path)
    if not path.is_file():
        raise ImportFailed([RowError(0, "", f"{path}: no such file")])
    data = path.read_bytes()
    if path.suffix.lower() == ".xlsx" or data[:4] == b"PK\x03\x04" or b"\x00" in data[:8192]:
        raise ImportFailed([RowError(0, "", f"{path}: the inventory formats read the CSV file as published, not a workbook")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # older copies were saved from Excel
    try:
        records = list(bounded(csv.reader(io.StringIO(text, newline=""), strict=True), Limits.from_settings()))
    except csv.Error as exc:
        raise ImportFailed([RowError(0, "", f"{path}: the CSV cannot be parsed: {exc}")]) from None
    except UnreadableFile as exc:  # past a limit
        raise ImportFailed([RowError(0, "", f"{path}: {exc}")]) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise ImportFailed([RowError(0, "", f"{path}: the file is empty: expected a header row and data rows")])
    header = [cell.strip() for cell in records[0]]
    if any(NUL in name for name in header):
        raise ImportFailed([RowError(0, "", f"{path}: the header row contains a NUL character (byte 0); remove it "
                                              f"and save the file again as CSV (UTF-8)")])
    rows = []
    for number, cells in enumerate(records[1:], start=1):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header):]):
            raise ImportFailed([RowError(number, "", f"has {len(cells)} cells but the header has {len(header)} columns")])
        rows.append((cells + [""] * len(header))[:len(header)])
    if not rows:
        raise ImportFailed([RowError(0, "", f"{path}: the file has a header row but no data rows")])
    return header, rows


def record_keys(header: list[str]) -> list[str]:
    """Keys of the source record: the header, a repeated header numbered (``If Other… (2)``)."""
    seen: Counter = Counter()
    keys = []
    for name in header:
        seen[name] += 1
        keys.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return keys


# Mapping a row ------------------------------------------------------------------------------


@dataclass
class FederalRow:
    number: int
    key: str
    unit: str
    title: str
    summary: str
    capability: str
    owner_email: str | None
    stage: str
    # The stage history, oldest first, the last one the current stage: (stage, day, dated).
    steps: list[tuple[str, datetime.date, bool]] = field(default_factory=list)
    record: dict = field(default_factory=dict)
    # What the 2025 high-impact columns report (`high_impact`); the 2024 format has no such columns.
    determination: Determination | None = None
    practices: dict[str, Reported] = field(default_factory=dict)

    @property
    def entered_on(self) -> datetime.date | None:
        """The day the current stage began, when the source says; None: nobody reported it."""
        stage, day, dated = self.steps[-1]
        return day if dated else None


def _dates_2024(record: dict, stage: str, until: datetime.date) -> list[tuple[str, datetime.date]]:
    """The stage dates of a 2024 row up to its reported stage and not after `until`, in order."""
    if stage == Stage.UNREPORTED:
        return []
    rank = STAGE_ORDER.index(stage)
    implemented_stage = Stage.PILOT if stage == Stage.PILOT else Stage.PRODUCTION
    candidates = [
        (Stage.PROPOSED, record.get(C24_INITIATED, "")),
        (Stage.VALIDATING, record.get(C24_DEVELOPMENT, "")),
        (implemented_stage, record.get(C24_IMPLEMENTED, "")),
        (Stage.RETIRED, record.get(C24_RETIRED, "")),
    ]
    steps: list[tuple[str, datetime.date]] = []
    for step_stage, text in candidates:
        day = parse_source_date(text)
        if day is None or day > until or STAGE_ORDER.index(step_stage) > rank:
            continue
        if step_stage == Stage.RETIRED and stage != Stage.RETIRED:
            continue
        if steps and day < steps[-1][1]:
            day = steps[-1][1]
        steps.append((step_stage, day))
    return steps


def _date_2025(record: dict, stage: str, until: datetime.date) -> datetime.date | None:
    """When a 2025 row's stage began: its operational date, for a use case that reached operation."""
    if stage not in (Stage.PILOT, Stage.PRODUCTION, Stage.RETIRED):
        return None  # a pre-deployment row's operational date is a plan
    day = parse_source_date(record.get("operational_date", ""))
    return day if day is not None and day <= until else None


def inventory_date(fmt: str, staged: list[tuple[dict, str]], today: datetime.date) -> datetime.date:
    """The latest date the file reports as already reached, not after `today` (else `today`)."""
    if fmt == OMB_2025:
        days = [_date_2025(record, stage, today) for record, stage in staged]
    else:
        days = [day for record, stage in staged for _, day in _dates_2024(record, stage, today)]
    return max((day for day in days if day is not None), default=today)


def _steps(fmt: str, record: dict, stage: str, as_of: datetime.date) -> list[tuple[str, datetime.date, bool]]:
    if fmt == OMB_2025:
        day = _date_2025(record, stage, as_of) if stage != Stage.RETIRED else None
        steps = [(stage, day, True)] if day is not None else []
    else:
        steps = [(step_stage, day, True) for step_stage, day in _dates_2024(record, stage, as_of)]
    if not steps or steps[-1][0] != stage:
        steps.append((stage, as_of, False))  # held by the inventory's date; entered when, nobody said
    return steps


def map_rows(fmt: str, header: list[str], rows: list[list[str]], today: datetime.date, progress,
             as_of: datetime.date | None = None) -> tuple[list[FederalRow], datetime.date]:
    """The mapped rows and the inventory's date (`as_of` when given, else `inventory_date`)."""
    keys = record_keys(header)
    missing = [c for c in REQUIRED[fmt] if c not in keys]
    if missing:
        raise ImportFailed([RowError(0, "", f"not an {fmt} inventory: missing column{'s' if len(missing) > 1 else ''} "
                                              f"{', '.join(missing)}")])
    errors = RowErrors()
    records = [dict(zip(keys, cells)) for cells in rows]
    for number, record in enumerate(records, start=1):
        for column, value in record.items():
            if NUL in value:  # no database text takes it: the cell's problem (see common.read_rows)
                errors.append(RowError(number, column, NUL_MESSAGE))
                record[column] = value.replace(NUL, "")
    if fmt == OMB_2025:
        bases = [base_key(fmt, r["agency"], r.get("id", ""), r.get("agency_bureau", ""), r["use_case_name"]) for r in records]
    else:
        bases = [base_key(fmt, r.get(C24_ABBREVIATION) or r[C24_AGENCY], "", r.get(C24_BUREAU, ""), r[C24_NAME])
                 for r in records]
    row_keys = stable_keys(bases)
    mapped = []
    for number, (record, key) in enumerate(progress(list(zip(records, row_keys))), start=1):
        if fmt == OMB_2025:
            agency, agency_name, name = record["agency"], record.get("agency_name", ""), record["use_case_name"]
            stage_column, table = "development_stage", STAGES_2025
            summary = derive_summary(record.get(c, "") for c in ("problem_solved", "benefits", "system_outputs"))
            capability = derive_capability(record.get(c, "") for c in ("classification", "topic_area"))
            owner = owner_email(record.get("contact_email", ""))
            agency_column = "agency"
            try:
                determination = read_determination(record)
            except BadCell as exc:
                errors.append(RowError(number, IS_HIGH_IMPACT, str(exc)))
                determination = None
            practices, bad_cells = read_practices(record)
            errors.extend(RowError(number, column, message) for column, message in bad_cells)
        else:
            agency, agency_name, name = record.get(C24_ABBREVIATION, ""), record[C24_AGENCY], record[C24_NAME]
            stage_column, table = C24_STAGE, STAGES_2024
            summary = derive_summary(record.get(c, "") for c in (C24_PURPOSE, C24_OUTPUTS))
            capability = derive_capability([record.get(C24_TOPIC, "")])
            owner = None
            agency_column = C24_AGENCY
            determination, practices = None, {}
        unit = unit_name(agency, agency_name)
        if not unit:
            errors.append(RowError(number, agency_column, "is required: the agency becomes the business unit"))
        stage = map_stage(record[stage_column], table)
        if stage is None:
            shown = collapse_whitespace(record[stage_column])[:60]
            known = ", ".join(sorted({k for k in table if k}))
            errors.append(RowError(number, stage_column, f"'{shown}' is not a stage this importer knows ({known})"))
            continue
        mapped.append(FederalRow(number, key, unit, derive_title(name, key), summary, capability, owner, stage,
                                 record=record, determination=determination, practices=practices))
    if errors:
        raise ImportFailed(errors)
    as_of = as_of or inventory_date(fmt, [(row.record, row.stage) for row in mapped], today)
    for row in mapped:
        row.steps = _steps(fmt, row.record, row.stage, as_of)
    return mapped, as_of


# Import -----------------------------------------------------------------------------------


def _placeholders(units: dict[str, BusinessUnit], now) -> tuple[dict[str, Decision], list[Decision]]:
    """Each unit's placeholder decision (by lower-cased unit name), and those to create."""
    existing = {
        d.business_unit_id: d
        for d in Decision.objects.filter(statement=PLACEHOLDER_STATEMENT, business_unit__in=[u for u in units.values() if u.pk])
    }
    found, new = {}, []
    for key, unit in units.items():
        decision = existing.get(unit.pk) if unit.pk else None
        if decision is None:
            decision = Decision(statement=PLACEHOLDER_STATEMENT, business_unit=unit, is_defined=False,
                                created_at=now, updated_at=now)
            new.append(decision)
        found[key] = decision
    return found, new


@names_its_actor
def import_federal(
    path: str | Path,
    *,
    fmt: str,
    actor,
    dry_run: bool = False,
    today: datetime.date | None = None,
    as_of: datetime.date | None = None,
    progress: Progress = no_progress,
):
    """Import a published US federal inventory (see the package's and this module's docstrings);
    all or nothing. `as_of` is the date the inventory speaks for (default: the latest date it
    reports as reached). Refuses (NotAllowed) unless the actor may import."""
    access.require(access.can_import(actor), NOT_ALLOWED)
    if fmt not in FEDERAL_FORMATS:
        raise InvalidInput(f"Unknown inventory format {fmt!r}; known: {', '.join(FEDERAL_FORMATS)}", field="format")
    today = today or timezone.localdate()
    if as_of is not None and not isinstance(as_of, datetime.date):
        raise InvalidInput(f"as_of: {as_of!r} is not a date (YYYY-MM-DD)", field="as_of")
    if as_of is not None and as_of > today:
        raise InvalidInput(f"as_of: {as_of.isoformat()} is after today ({today.isoformat()}): an inventory "
                           "cannot speak for a day that has not come", field="as_of")
    now = timezone.now()
    actor = acting_user(actor)
    header, raw_rows = read_published(path)
    rows, as_of = map_rows(fmt, header, raw_rows, today, progress, as_of=as_of)
    report = ImportReport(rows=len(rows), dry_run=dry_run, as_of=as_of)
    reason = f"imported from {Path(path).name} ({fmt}, as of {as_of.isoformat()})"

    rows_by_key = {}
    for row in rows:
        rows_by_key.setdefault(row.key, row.number)
        rows_by_key.setdefault(row.unit.lower(), row.number)
        if row.owner_email:
            rows_by_key.setdefault(row.owner_email, row.number)
    with writing(rows_by_key, dry_run=dry_run), transaction.atomic():
        units = units_by_name({r.unit for r in rows}, actor, create=not dry_run, reason="import")
        for r in rows:  # a dry run creates no unit: plan with unsaved ones
            units.setdefault(r.unit.lower(), BusinessUnit(name=r.unit))
        placeholders, new_placeholders = _placeholders({r.unit.lower(): units[r.unit.lower()] for r in rows}, now)
        if not dry_run:
            bulk_create_with_history(new_placeholders, Decision, default_user=actor, default_change_reason=reason)

        emails = {r.owner_email for r in rows if r.owner_email}
        people = {}
        for chunk in chunks(sorted(emails)):
            people.update({p.email: p for p in Person.objects.filter(email__in=chunk)})
        unit_of_email = {}
        for r in rows:
            if r.owner_email:
                unit_of_email.setdefault(r.owner_email, units.get(r.unit.lower()))
        new_people = [Person(email=e, business_unit=unit_of_email[e]) for e in sorted(emails - set(people))]
        if not dry_run:
            bulk_create_with_history(new_people, Person, batch_size=BATCH_SIZE, default_user=actor, default_change_reason=reason)
        people.update({p.email: p for p in new_people})

        existing = existing_use_cases([r.key for r in rows])
        high_impact = HighImpactPlan.of(list(existing.values()), as_of)
        to_create, to_update, transitions = [], [], []
        changed_fields: set[str] = set()
        for row in rows:
            unit = units.get(row.unit.lower())
            owner = people.get(row.owner_email) if row.owner_email else None
            use_case = existing.get(row.key)
            if use_case is None:
                use_case = UseCase(
                    external_id=row.key, decision=placeholders[row.unit.lower()], business_unit=unit, title=row.title,
                    summary=row.summary, capability=row.capability, business_owner=owner,
                    business_owner_confirmed_on=today if owner else None, stage=row.stage,
                    stage_entered_on=row.entered_on, source_format=fmt, source_record=row.record, source_as_of=as_of,
                    created_at=now, updated_at=now,
                )
                to_create.append(use_case)
                previous = ""
                for step_stage, day, dated in row.steps:
                    transitions.append(StageTransition(
                        use_case=use_case, from_stage=previous, to_stage=step_stage, occurred_at=start_of_day(day),
                        dated=dated, actor=actor, source=TransitionSource.IMPORT, reason=reason,
                    ))
                    previous = step_stage
                high_impact.plan(row, use_case)
                continue
            changed = _apply(use_case, row, fmt, unit, owner, placeholders, today)
            # A determination or practice is a gate condition: changing one is a new version of the use case.
            determined = high_impact.plan(row, use_case)
            if use_case.source_as_of != as_of:
                use_case.source_as_of = as_of
                changed.add("source_as_of")
            if use_case.stage != row.stage:
                _, moved_on, dated = row.steps[-1]
                last_move = _last_move_day(use_case)
                if last_move is not None and moved_on < last_move:  # the trail must read in order
                    moved_on, dated = max(last_move, as_of), False
                transitions.append(StageTransition(
                    use_case=use_case, from_stage=use_case.stage, to_stage=row.stage, occurred_at=start_of_day(moved_on),
                    dated=dated, actor=actor, source=TransitionSource.IMPORT, reason=reason,
                ))
                use_case.stage, use_case.stage_entered_on = row.stage, moved_on if dated else None
                changed |= {"stage", "stage_entered_on"}
            if changed or determined:
                use_case.version += 1
                use_case.updated_at = now
                to_update.append(use_case)
                changed_fields |= changed | {"version", "updated_at"}
        if not dry_run:
            write_use_cases(to_create=to_create, to_update=to_update, changed_fields=changed_fields,
                            transitions=transitions, actor=actor, reason=reason)
            high_impact.write(actor=actor, reason=reason)
            report.linked = link_reports(actor=actor, reason=reason)
    return report.count(created=to_create, updated=to_update)


@dataclass
class HighImpactPlan:
    """The determinations and practice records an import creates and changes, planned row by
    row against those Last Mile holds (read once, by use case, before the rows): a row's cell
    that still agrees with Last Mile's record leaves it alone (`high_impact.agrees`), a blank
    one reports nothing."""

    as_of: datetime.date
    determinations: dict[int, OMBDetermination]
    practices: dict[tuple[int, str], PracticeRecord]
    new_determinations: list[OMBDetermination] = field(default_factory=list)
    new_practices: list[PracticeRecord] = field(default_factory=list)
    changed_determinations: list[OMBDetermination] = field(default_factory=list)
    changed_practices: list[PracticeRecord] = field(default_factory=list)

    @classmethod
    def of(cls, use_cases: list[UseCase], as_of: datetime.date) -> HighImpactPlan:
        ids = sorted(use_case.pk for use_case in use_cases)
        determinations, practices = {}, {}
        for chunk in chunks(ids):
            determinations.update((d.use_case_id, d) for d in OMBDetermination.objects.filter(use_case_id__in=chunk))
            practices.update(((p.use_case_id, p.practice), p) for p in PracticeRecord.objects.filter(use_case_id__in=chunk))
        return cls(as_of, determinations, practices)

    def plan(self, row: FederalRow, use_case: UseCase) -> bool:
        """Plan what `row` reports for `use_case`; whether a record of an existing one changes."""
        changed = False
        reported = row.determination
        current = self.determinations.get(use_case.pk) if use_case.pk else None
        if reported is not None and not determination_agrees(reported, current):
            determination = current or OMBDetermination(use_case=use_case)
            determination.is_high_impact = reported.is_high_impact
            determination.hi_justification = reported.hi_justification
            determination.hi_potential_impacts = reported.hi_potential_impacts
            determination.determined_on, determination.determined_by = self.as_of, None
            (self.changed_determinations if current else self.new_determinations).append(determination)
            changed = True
        for practice, reported_practice in row.practices.items():
            record = self.practices.get((use_case.pk, practice)) if use_case.pk else None
            if agrees(reported_practice, record):
                continue
            if record is None:
                record = PracticeRecord(use_case=use_case, practice=practice)
                self.new_practices.append(record)
            else:
                self.changed_practices.append(record)
            record.status, record.updated_on = reported_practice.status, self.as_of
            if reported_practice.note is not None:
                record.evidence_note = reported_practice.note
            elif record.status == PracticeStatus.DONE and not (record.evidence_note or record.evidence_link):
                record.evidence_note = reported_note(practice, row.record[PRACTICE_COLUMN[practice]])
            changed = True
        return changed and use_case.pk is not None

    def write(self, *, actor, reason: str) -> None:
        for records, model in ((self.new_determinations, OMBDetermination), (self.new_practices, PracticeRecord)):
            bulk_create_with_history(records, model, batch_size=BATCH_SIZE, default_user=actor,
                                     default_change_reason=reason)
        bulk_update_with_history(self.changed_determinations, [
            "is_high_impact", "hi_justification", "hi_potential_impacts", "determined_on", "determined_by",
        ], default_user=actor, default_change_reason=reason)
        bulk_update_with_history(self.changed_practices, ["status", "evidence_note", "updated_on"],
                                 default_user=actor, default_change_reason=reason)


def _last_move_day(use_case: UseCase) -> datetime.date | None:
    moved_at = use_case.transitions.order_by("-occurred_at", "-id").values_list("occurred_at", flat=True).first()
    return timezone.localdate(moved_at) if moved_at else None


def _apply(use_case: UseCase, row: FederalRow, fmt: str, unit, owner, placeholders, today) -> set[str]:
    """Set the row's values on an existing use case; the names of the fields that changed."""
    changed = set()
    updates = {"title": row.title, "summary": row.summary, "capability": row.capability,
               "source_format": fmt, "source_record": row.record}
    for attribute, value in updates.items():
        if getattr(use_case, attribute) != value:
            setattr(use_case, attribute, value)
            changed.add(attribute)
    if use_case.business_unit_id != unit.pk:
        use_case.business_unit = unit
        changed.add("business_unit")
        if not use_case.decision.is_defined:
            use_case.decision = placeholders[row.unit.lower()]
            changed.add("decision")
    if fmt == OMB_2025 and use_case.business_owner_id != (owner.pk if owner else None):
        use_case.business_owner = owner
        use_case.business_owner_confirmed_on = today if owner else None
        changed |= {"business_owner", "business_owner_confirmed_on"}
    return changed
