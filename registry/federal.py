"""The US federal AI use case inventories (OMB), read as published and written back.

Two formats, named on the command line with ``--format``:

- ``omb-2025`` — the 2025 inventory (``federal_ai_use_cases.csv``): 36 columns, one use case
  a row, an ``id`` per agency that is blank or repeated in places.
- ``omb-2024`` — the 2024 inventory (``federal_ai_use_cases_2024.csv``): 62 columns headed by
  the questions themselves (some headers repeat), no id, no contact, and a date per stage.

The files are read as published: UTF-8 with or without a byte-order mark (cp1252 for older
copies that are not UTF-8), line breaks inside quoted fields, cells kept exactly as written.

**Mapping** (both formats)

| source | Last Mile |
| --- | --- |
| agency (``agency_name (agency)``) | business unit, created if new |
| ``use_case_name`` | title (whitespace collapsed, cut at 200 characters; a blank name: ``Untitled use case KEY``) |
| problem solved, benefits, system outputs | summary, paragraphs in that order (cut at 5,000) |
| classification and topic area | capability, ``classification — topic area`` |
| ``development_stage`` | stage (table below) |
| ``contact_email`` | business owner; a person is created for an address not yet known |
| every column | ``source_record`` on the use case, verbatim, with ``source_format`` |

The bureau is not a business unit of its own: the unit is the agency, so the duplicates scan
(which looks across units) reports the same capability across agencies, and each agency has
one placeholder decision. The bureau stays in the source record and goes back out on export.

The contact is the **business owner**: the inventory names one point of contact, answerable
for the use case, which is what the business owner is in Last Mile (the person asked to state
the decision). The technical owner is left blank: the source names nobody who runs the
system, and the orphaned-ownership scan says so for use cases in production. When a cell
holds several addresses (``a@x.gov, cc: b@x.gov``) the first is the owner; a cell that holds
no address (a web form, a name) gives no owner. The cell itself is kept as written.

**Stages**

| source value | stage |
| --- | --- |
| 2025 ``Pre-deployment`` | validating |
| 2025 ``Pilot`` | pilot |
| 2025 ``Deployed`` | production |
| 2025 ``Retired`` | retired |
| 2024 ``Initiated``, ``Planned``, ``Ideation`` | proposed |
| 2024 ``Acquisition and/or Development`` | validating |
| 2024 ``Implementation and Assessment`` | pilot |
| 2024 ``Operation and Maintenance``, ``In production``, ``In mission`` | production |
| 2024 ``Retired``, ``Research or Administrative Action Complete`` | retired |
| blank (either year) | proposed: the agency reported no stage |

Values are matched ignoring case and repeated spaces. Any other value is an error for that
row, naming the column: nothing is imported until the mapping knows it.

**Stage dates.** 2025: a use case in pilot or production entered its stage on its
``operational_date`` when that is a readable date not in the future (ISO, ``M/D/YYYY``,
``MM/YYYY``, ``Mon-YY``, ``YYYY``; a month or a year alone counts from its first day);
otherwise on the import day. 2024: each stage date gives a transition — ``Date Initiated``
→ proposed, ``Date when Acquisition and/or Development began`` → validating, ``Date
Implemented`` → pilot for a use case reported in implementation and assessment, production
for one in operation or retired, ``Date Retired`` → retired — as far as the stage the row
reports (a date for a later stage is a plan, not history). A date earlier than the step
before it counts as that step's date, so the trail reads in order. When the reported stage
has no date of its own it is entered on the import day: no duration is invented.

**The stable key** (``external_id``), from the row alone:

- 2025: the agency code and the agency's ``id`` (whitespace collapsed): the id itself when
  it already starts with the agency code (``DOJ-0160``), else ``AGENCY-id`` (``EPA-34``,
  ``NSF-34``). A blank id, or a placeholder (``TBD``, ``N/A``), gives ``AGENCY-h`` followed by
  the first 10 hex digits of the SHA-1 of the bureau and the use case name, lower-cased with
  whitespace collapsed (``HHS-h3f9c0a81b2``).
- 2024 (no ids): ``AGENCY-2024-h`` and the same digest.
- When several rows of one file still share a key (``DOJ-0357`` given twice, ``TBD`` twice,
  two identical rows), the first in file order keeps it and the n-th gets ``~n``
  (``DOJ-0357~2``).

So re-importing the file, or next year's file with the same ids, updates and never
duplicates; a renamed use case without an id becomes a new one. The 2024 rows have no ids
and are not matched to the 2025 rows: the two years import as separate inventories.

**Decisions.** The inventory names no decision. Each use case is created under its unit's
placeholder decision (``is_defined`` false); re-importing never moves a use case whose owner
has since stated its decision (``services.state_decision``) back under the placeholder.

**Export** (``omb-2025``) writes the 36 columns in the published order, UTF-8 with a
byte-order mark: a use case imported from that format gets back its source cells, except
where it changed in Last Mile — title, business owner (``contact_email``), stage
(``development_stage``: proposed and validating → Pre-deployment, pilot → Pilot, production
→ Deployed, retired → Retired), and an edited summary (written to ``problem_solved``). Other
use cases get their key as ``id``, unit, title, owner, stage and summary.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from .models import BusinessUnit, Decision, Person, Stage, StageTransition, TransitionSource, UseCase
from core.actors import acting_user

OMB_2025 = "omb-2025"
OMB_2024 = "omb-2024"
FORMATS = (OMB_2025, OMB_2024)

PLACEHOLDER_STATEMENT = "Not yet defined: the source inventory names no decision"

COLUMNS_2025 = [
    "agency", "agency_name", "id", "use_case_name", "agency_bureau", "contact_email", "is_withheld",
    "development_stage", "is_high_impact", "HI_justification", "topic_area", "classification", "problem_solved",
    "benefits", "system_outputs", "operational_date", "contracting_usage", "vendor_name", "have_ato",
    "system_name_ato", "data_description", "link_to_data", "has_pii", "pia_url", "demographic_features",
    "has_custom_code", "code_url", "hi_testing_conducted", "hi_assessment_completed", "hi_potential_impacts",
    "hi_independent_review", "hi_ongoing_monitoring", "hi_training_established", "hi_failsafe_presence",
    "hi_appeal_process", "hi_public_consultation",
]

# The 2024 columns this module reads (the others are kept in the source record only).
C24_NAME = "Use Case Name"
C24_AGENCY = "Agency"
C24_ABBREVIATION = "Agency Abbreviation"
C24_BUREAU = "Bureau"
C24_TOPIC = "Use Case Topic Area"
C24_PURPOSE = "What is the intended purpose and expected benefits of the AI?"
C24_OUTPUTS = "Describe the AI system’s outputs."
C24_STAGE = "Stage of Development"
C24_INITIATED = "Date Initiated"
C24_DEVELOPMENT = "Date when Acquisition and/or Development began"
C24_IMPLEMENTED = "Date Implemented"
C24_RETIRED = "Date Retired"

REQUIRED = {
    OMB_2025: ["agency", "use_case_name", "development_stage", "contact_email"],
    OMB_2024: [C24_NAME, C24_AGENCY, C24_STAGE],
}

STAGES_2025 = {
    "pre-deployment": Stage.VALIDATING,
    "pilot": Stage.PILOT,
    "deployed": Stage.PRODUCTION,
    "retired": Stage.RETIRED,
    "": Stage.PROPOSED,
}
STAGES_2024 = {
    "initiated": Stage.PROPOSED,
    "planned": Stage.PROPOSED,
    "ideation": Stage.PROPOSED,
    "acquisition and/or development": Stage.VALIDATING,
    "implementation and assessment": Stage.PILOT,
    "operation and maintenance": Stage.PRODUCTION,
    "in production": Stage.PRODUCTION,
    "in mission": Stage.PRODUCTION,
    "retired": Stage.RETIRED,
    "research or administrative action complete": Stage.RETIRED,
    "": Stage.PROPOSED,
}
STAGE_TO_2025 = {
    Stage.PROPOSED: "Pre-deployment",
    Stage.VALIDATING: "Pre-deployment",
    Stage.PILOT: "Pilot",
    Stage.PRODUCTION: "Deployed",
    Stage.RETIRED: "Retired",
}
STAGE_ORDER = [Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION, Stage.RETIRED]
PLACEHOLDER_IDS = {"", "tbd", "n/a", "na", "none", "-"}

TITLE_MAX, SUMMARY_MAX, CAPABILITY_MAX, UNIT_MAX = 200, 5000, 200, 200


# Reading the published file -----------------------------------------------------------------


def _errors():
    from .importing import ImportFailed, RowError

    return ImportFailed, RowError


def read_published(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a published inventory, cells exactly as written."""
    ImportFailed, RowError = _errors()
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
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise ImportFailed([RowError(0, "", f"{path}: the CSV cannot be parsed: {exc}")]) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise ImportFailed([RowError(0, "", f"{path}: the file is empty: expected a header row and data rows")])
    header = [cell.strip() for cell in records[0]]
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


# Values -----------------------------------------------------------------------------------


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def derive_title(name: str, key: str) -> str:
    """The title from the use case name; a row with no name (there is one) is titled by its key."""
    return _cut(_collapse(name), TITLE_MAX) or f"Untitled use case {key}"


def derive_summary(parts: Iterable[str]) -> str:
    return _cut("\n\n".join(p.strip() for p in parts if p.strip()), SUMMARY_MAX)


def derive_capability(parts: Iterable[str]) -> str:
    return _cut(" — ".join(_collapse(p) for p in parts if p.strip()), CAPABILITY_MAX)


def unit_name(agency: str, agency_name: str) -> str:
    agency, agency_name = _collapse(agency), _collapse(agency_name)
    if agency and agency_name and agency.lower() != agency_name.lower():
        return _cut(f"{agency_name} ({agency})", UNIT_MAX)
    return _cut(agency or agency_name, UNIT_MAX)


def split_unit_name(name: str) -> tuple[str, str]:
    """(agency, agency_name) back from a unit's name."""
    found = re.fullmatch(r"(.*) \(([^()]+)\)", name)
    return (found.group(2), found.group(1)) if found else (name, name)


def owner_email(contact: str) -> str | None:
    """The first email address in a contact cell, lower-cased; None when it holds none."""
    for token in re.split(r"[\s,;]+", contact):
        token = token.strip().strip("<>()").lower()
        if "@" not in token or len(token) > 254:
            continue
        try:
            validate_email(token)
        except ValidationError:
            continue
        return token
    return None


def map_stage(value: str, table: dict) -> str | None:
    return table.get(_collapse(value).lower())


MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


def parse_source_date(text: str) -> datetime.date | None:
    """A date as agencies wrote it; a month or year alone is its first day; None if unreadable."""
    text = text.strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][\d:.]+)?", text):
            return datetime.date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: [\d:]+(?: ?[AP]M)?)?", text, re.I):
            return datetime.date(int(m[3]), int(m[1]), int(m[2]))
        if m := re.fullmatch(r"(\d{1,2})/(\d{4})", text):
            return datetime.date(int(m[2]), int(m[1]), 1)
        if m := re.fullmatch(r"([A-Za-z]{3})[a-z]*[- ](\d{2}|\d{4})", text):
            month = MONTHS.get(m[1].lower())
            year = int(m[2]) + (2000 if len(m[2]) == 2 else 0)
            return datetime.date(year, month, 1) if month else None
        if m := re.fullmatch(r"(19|20)\d{2}", text):
            return datetime.date(int(text), 1, 1)
    except ValueError:
        return None
    return None


def _digest(*parts: str) -> str:
    return hashlib.sha1("\n".join(_collapse(p).lower() for p in parts).encode()).hexdigest()[:10]


def base_key(fmt: str, agency: str, source_id: str, bureau: str, name: str) -> str:
    agency = _collapse(agency).upper() or "UNKNOWN"
    if fmt == OMB_2024:
        return f"{agency}-2024-h{_digest(bureau, name)}"
    source_id = _collapse(source_id)
    if source_id.lower() in PLACEHOLDER_IDS:
        return f"{agency}-h{_digest(bureau, name)}"
    if source_id.upper().startswith(agency):
        return source_id
    return f"{agency}-{source_id}"


def stable_keys(bases: list[str]) -> list[str]:
    """The n-th row sharing a key in the file gets ``~n``; the first keeps it."""
    seen: Counter = Counter()
    keys = []
    for base in bases:
        seen[base] += 1
        keys.append(base if seen[base] == 1 else f"{base}~{seen[base]}")
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
    steps: list[tuple[str, datetime.date]]  # the stage history, oldest first; last = current
    record: dict = field(default_factory=dict)


def _history_2024(record: dict, stage: str, today: datetime.date) -> list[tuple[str, datetime.date]]:
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
        if day is None or day > today or STAGE_ORDER.index(step_stage) > rank:
            continue
        if step_stage == Stage.RETIRED and stage != Stage.RETIRED:
            continue
        if steps and day < steps[-1][1]:
            day = steps[-1][1]
        steps.append((step_stage, day))
    if not steps or steps[-1][0] != stage:
        steps.append((stage, max(today, steps[-1][1]) if steps else today))
    return steps


def map_rows(fmt: str, header: list[str], rows: list[list[str]], today: datetime.date, progress) -> list[FederalRow]:
    ImportFailed, RowError = _errors()
    keys = record_keys(header)
    missing = [c for c in REQUIRED[fmt] if c not in keys]
    if missing:
        raise ImportFailed([RowError(0, "", f"not an {fmt} inventory: missing column{'s' if len(missing) > 1 else ''} "
                                              f"{', '.join(missing)}")])
    records = [dict(zip(keys, cells)) for cells in rows]
    if fmt == OMB_2025:
        bases = [base_key(fmt, r["agency"], r.get("id", ""), r.get("agency_bureau", ""), r["use_case_name"]) for r in records]
    else:
        bases = [base_key(fmt, r.get(C24_ABBREVIATION) or r[C24_AGENCY], "", r.get(C24_BUREAU, ""), r[C24_NAME])
                 for r in records]
    row_keys = stable_keys(bases)
    errors = []
    mapped = []
    for number, (record, key) in enumerate(progress(list(zip(records, row_keys))), start=1):
        if fmt == OMB_2025:
            agency, agency_name, name = record["agency"], record.get("agency_name", ""), record["use_case_name"]
            stage_column, table = "development_stage", STAGES_2025
            summary = derive_summary(record.get(c, "") for c in ("problem_solved", "benefits", "system_outputs"))
            capability = derive_capability(record.get(c, "") for c in ("classification", "topic_area"))
            owner = owner_email(record.get("contact_email", ""))
            agency_column = "agency"
        else:
            agency, agency_name, name = record.get(C24_ABBREVIATION, ""), record[C24_AGENCY], record[C24_NAME]
            stage_column, table = C24_STAGE, STAGES_2024
            summary = derive_summary(record.get(c, "") for c in (C24_PURPOSE, C24_OUTPUTS))
            capability = derive_capability([record.get(C24_TOPIC, "")])
            owner = None
            agency_column = C24_AGENCY
        unit = unit_name(agency, agency_name)
        if not unit:
            errors.append(RowError(number, agency_column, "is required: the agency becomes the business unit"))
        stage = map_stage(record[stage_column], table)
        if stage is None:
            shown = _collapse(record[stage_column])[:60]
            known = ", ".join(sorted({k for k in table if k}))
            errors.append(RowError(number, stage_column, f"'{shown}' is not a stage this importer knows ({known})"))
            continue
        if fmt == OMB_2025:
            since = None
            if stage in (Stage.PILOT, Stage.PRODUCTION):
                since = parse_source_date(record.get("operational_date", ""))
                if since is not None and since > today:
                    since = None
            steps = [(stage, since or today)]
        else:
            steps = _history_2024(record, stage, today)
        mapped.append(FederalRow(number, key, unit, derive_title(name, key), summary, capability, owner, stage, steps, record))
    if errors:
        raise ImportFailed(errors)
    return mapped


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


def import_federal(
    path: str | Path,
    *,
    fmt: str,
    actor=None,
    dry_run: bool = False,
    today: datetime.date | None = None,
    progress=lambda rows: rows,
):
    """Import a published US federal inventory (see the module docstring); all or nothing."""
    from .importing import (
        BATCH_SIZE, ImportReport, _chunks, _existing_use_cases, _start_of_day, _units_by_name, write_use_cases,
    )

    if fmt not in FORMATS:
        raise ValueError(f"Unknown inventory format {fmt!r}; known: {', '.join(FORMATS)}")
    today = today or timezone.localdate()
    now = timezone.now()
    actor = acting_user(actor)
    header, raw_rows = read_published(path)
    rows = map_rows(fmt, header, raw_rows, today, progress)
    report = ImportReport(rows=len(rows), dry_run=dry_run)
    reason = f"imported from {Path(path).name} ({fmt})"

    with transaction.atomic():
        units = _units_by_name({r.unit for r in rows}, actor, create=not dry_run)
        for r in rows:  # a dry run creates no unit: plan with unsaved ones
            units.setdefault(r.unit.lower(), BusinessUnit(name=r.unit))
        placeholders, new_placeholders = _placeholders({r.unit.lower(): units[r.unit.lower()] for r in rows}, now)
        if not dry_run:
            bulk_create_with_history(new_placeholders, Decision, default_user=actor, default_change_reason=reason)

        emails = {r.owner_email for r in rows if r.owner_email}
        people = {}
        for chunk in _chunks(sorted(emails)):
            people.update({p.email: p for p in Person.objects.filter(email__in=chunk)})
        unit_of_email = {}
        for r in rows:
            if r.owner_email:
                unit_of_email.setdefault(r.owner_email, units.get(r.unit.lower()))
        new_people = [Person(email=e, business_unit=unit_of_email[e]) for e in sorted(emails - set(people))]
        if not dry_run:
            bulk_create_with_history(new_people, Person, batch_size=BATCH_SIZE, default_user=actor, default_change_reason=reason)
        people.update({p.email: p for p in new_people})

        existing = _existing_use_cases([r.key for r in rows])
        to_create, to_update, transitions = [], [], []
        changed_fields: set[str] = set()
        for row in rows:
            unit = units.get(row.unit.lower())
            owner = people.get(row.owner_email) if row.owner_email else None
            use_case = existing.get(row.key)
            if use_case is None:
                stage, entered_on = row.steps[-1]
                use_case = UseCase(
                    external_id=row.key, decision=placeholders[row.unit.lower()], business_unit=unit, title=row.title,
                    summary=row.summary, capability=row.capability, business_owner=owner,
                    business_owner_confirmed_on=today if owner else None, stage=stage, stage_entered_on=entered_on,
                    source_format=fmt, source_record=row.record, created_at=now, updated_at=now,
                )
                to_create.append(use_case)
                previous = ""
                for step_stage, day in row.steps:
                    transitions.append(StageTransition(
                        use_case=use_case, from_stage=previous, to_stage=step_stage, occurred_at=_start_of_day(day),
                        actor=actor, source=TransitionSource.IMPORT, reason=reason,
                    ))
                    previous = step_stage
                continue
            changed = _apply(use_case, row, fmt, unit, owner, placeholders, today)
            if use_case.stage != row.stage:
                moved_on = max(row.steps[-1][1], use_case.stage_entered_on)
                transitions.append(StageTransition(
                    use_case=use_case, from_stage=use_case.stage, to_stage=row.stage, occurred_at=_start_of_day(moved_on),
                    actor=actor, source=TransitionSource.IMPORT, reason=reason,
                ))
                use_case.stage, use_case.stage_entered_on = row.stage, moved_on
                changed |= {"stage", "stage_entered_on"}
            if changed:
                use_case.version += 1
                use_case.updated_at = now
                to_update.append(use_case)
                changed_fields |= changed | {"version", "updated_at"}
        if not dry_run:
            write_use_cases(to_create=to_create, to_update=to_update, changed_fields=changed_fields,
                            transitions=transitions, actor=actor, reason=reason)
    return report.count(created=to_create, updated=to_update)


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


# Export -----------------------------------------------------------------------------------


def _row_2025(use_case: UseCase) -> list[str]:
    record = use_case.source_record if use_case.source_format == OMB_2025 else {}
    owner = use_case.business_owner.email if use_case.business_owner else None
    if not record:
        agency, agency_name = split_unit_name(use_case.business_unit.name)
        values = dict.fromkeys(COLUMNS_2025, "")
        values.update(
            agency=agency, agency_name=agency_name, id=use_case.key, use_case_name=use_case.title,
            contact_email=owner or "", development_stage=STAGE_TO_2025[use_case.stage], problem_solved=use_case.summary,
        )
        if use_case.stage in (Stage.PILOT, Stage.PRODUCTION):
            values["operational_date"] = use_case.stage_entered_on.isoformat()
        return [values[c] for c in COLUMNS_2025]
    values = {c: record.get(c, "") for c in COLUMNS_2025}
    if use_case.title != derive_title(values["use_case_name"], use_case.key):
        values["use_case_name"] = use_case.title
    if owner != owner_email(values["contact_email"]):
        values["contact_email"] = owner or ""
    if use_case.stage != map_stage(values["development_stage"], STAGES_2025):
        values["development_stage"] = STAGE_TO_2025[use_case.stage]
    if use_case.summary != derive_summary(values[c] for c in ("problem_solved", "benefits", "system_outputs")):
        values["problem_solved"] = use_case.summary
    if use_case.business_unit.name.lower() != unit_name(values["agency"], values["agency_name"]).lower():
        values["agency"], values["agency_name"] = split_unit_name(use_case.business_unit.name)
    return [values[c] for c in COLUMNS_2025]


def export_federal(path: str | Path, *, fmt: str = OMB_2025) -> int:
    """Write every use case in the OMB 2025 columns; returns the row count."""
    from .importing import BATCH_SIZE

    if fmt != OMB_2025:
        raise ValueError(f"Export writes the {OMB_2025} format only (asked for {fmt!r}).")
    queryset = UseCase.objects.select_related("business_unit", "business_owner").order_by("pk").iterator(chunk_size=BATCH_SIZE)
    count = 0
    with Path(path).open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS_2025)
        for use_case in queryset:
            writer.writerow(_row_2025(use_case))
            count += 1
    return count
