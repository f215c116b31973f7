"""Inventory completeness: what an imported inventory does not tell, one finding per cause.

Which facts each source carries is `registry.sources` (one table). Two kinds of gap, on the
use cases alive on `as_of` (stage from the stage transitions, as the other scans judge it):

- **no_field** — the source has no field for the fact (the OMB inventories name no decision,
  no technical owner, no KPI). That is no row's defect, so the other scans skip those rows
  (missing decision, technical owner, KPI) and this scan opens ONE finding per (source,
  unit, fact) listing the rows: "3,297 use cases from the OMB 2025 inventory state no
  decision: the format has no such field". A row counts only where the per-row rule would
  have judged it: a decision for every live use case still under its unit's placeholder, a
  technical owner and a KPI from the stages that require them (production). Once the product
  holds the fact (a stated decision, an assigned technical owner, a KPI) the row leaves the
  finding and the other scans judge it as any other.
- **blank** — the source has the field but the row left it blank (no contact person: a blank
  cell, a web form or a name; no stage reported; no description; no date for a use case in
  pilot or production, so how long it has been there is unknown and the stalled-pilot scan
  cannot judge it): a real gap in the record, one finding per (source, unit, fact) with its
  rows.

Only imported use cases are judged here (the pages and the API carry every fact; their blanks
are each owner's own, which the other scans report per record).

Severity: a fact the format has no field for → low (a gap in the record nobody could fill);
a blank contact or stage → medium (the agency could have said); a blank description or stage
date → low.

Identity: ("no_field" | "blank", source, unit id, fact). Substance: () — the list of rows
moves with every import; a dismissed finding stays dismissed.
"""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef
from django.db.models.fields.json import KeyTextTransform

from portfolio.models import FindingKind, Severity
from registry import sources
from registry.gates import stages_requiring
from registry.models import KPI, Stage, UseCase

from .base import LIVE_STAGES, Detected, stage_on

KIND = FindingKind.INVENTORY_COMPLETENESS

SEVERITY = {
    ("no_field", None): Severity.LOW,
    ("blank", sources.BUSINESS_OWNER): Severity.MEDIUM,
    ("blank", sources.STAGE): Severity.MEDIUM,
    ("blank", sources.DESCRIPTION): Severity.LOW,
    ("blank", sources.STAGE_DATE): Severity.LOW,
}

# What the rows lack, said of one row and of several: "1 use case … has no KPI", "2 … have".
NO_FIELD_SENTENCE = {
    sources.DECISION: ("states no decision", "state no decision"),
    sources.TECHNICAL_OWNER: ("in production names no technical owner", "in production name no technical owner"),
    sources.KPI: ("in production has no KPI", "in production have no KPI"),
}
BLANK_SENTENCE = {
    sources.BUSINESS_OWNER: ("names no contact person (the cell is blank, a web form or a name)",
                             "name no contact person (the cell is blank, a web form or a name)"),
    sources.STAGE: ("reports no stage (shown as \"Stage not reported\", not as proposed)",
                    "report no stage (shown as \"Stage not reported\", not as proposed)"),
    sources.DESCRIPTION: ("has no description (no problem solved, benefits or outputs)",
                          "have no description (no problem solved, benefits or outputs)"),
    sources.STAGE_DATE: ("in pilot or production gives no date it began, so how long is unknown",
                         "in pilot or production give no date it began, so how long is unknown"),
}


def _missing(row: dict, fact: str, *, source: sources.Source, required: dict[str, tuple]) -> bool:
    stage = row["stage_on"]
    if fact == sources.DECISION:
        return not row["decision__is_defined"]
    if fact == sources.TECHNICAL_OWNER:
        return row["technical_owner_id"] is None and stage in required[fact]
    if fact == sources.KPI:
        return not row["has_kpi"] and stage == Stage.PRODUCTION
    if fact == sources.BUSINESS_OWNER:
        return row["business_owner_id"] is None
    if fact == sources.STAGE:
        return not (row.get(f"stage_cell_{source.name}") or "").strip()
    if fact == sources.DESCRIPTION:
        return not row["summary"].strip()
    if fact == sources.STAGE_DATE:
        return row["stage_entered_on"] is None and stage in (Stage.PILOT, Stage.PRODUCTION)
    raise KeyError(fact)


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    imported = [source for source in sources.SOURCES.values()
                if source.blank_checked or set(sources.FACTS) - source.carries]
    if not imported:
        return []
    stage_cells = {f"stage_cell_{s.name}": KeyTextTransform(s.stage_column, "source_record")
                   for s in imported if s.stage_column}
    rows = (
        UseCase.objects.order_by()
        .filter(source_format__in=[s.name for s in imported])
        .annotate(stage_on=stage_on(as_of))
        .filter(stage_on__in=LIVE_STAGES)
        .annotate(has_kpi=Exists(KPI.objects.filter(use_case=OuterRef("pk"))), **stage_cells)
        .values("pk", "external_id", "source_format", "business_unit_id", "business_unit__name", "stage_on",
                "decision__is_defined", "business_owner_id", "technical_owner_id", "summary", "has_kpi", "stage_entered_on",
                *stage_cells)
    )
    required = {sources.TECHNICAL_OWNER: stages_requiring("technical_owner")}
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        source = sources.source_of(row["source_format"])
        for fact in sources.FACTS:
            if not source.has_field_for(fact):
                reason = "no_field"
            elif fact in source.blank_checked:
                reason = "blank"
            else:
                continue
            if _missing(row, fact, source=source, required=required):
                groups.setdefault((reason, source.name, row["business_unit_id"], fact), []).append(row)

    found = []
    for (reason, source_name, unit_id, fact), members in groups.items():
        source = sources.SOURCES[source_name]
        unit = members[0]["business_unit__name"]
        count = len(members)
        noun, number = ("use case", 0) if count == 1 else ("use cases", 1)
        if reason == "no_field":
            title = (f"{count:,} {noun} of {unit} from {source.label} {NO_FIELD_SENTENCE[fact][number]}: "
                     "the format has no such field")
            severity = SEVERITY[("no_field", None)]
        else:
            title = f"{count:,} {noun} of {unit} from {source.label} {BLANK_SENTENCE[fact][number]}"
            severity = SEVERITY[("blank", fact)]
        by_stage: dict[str, int] = {}
        for member in members:
            by_stage[member["stage_on"]] = by_stage.get(member["stage_on"], 0) + 1
        found.append(
            Detected(
                kind=KIND,
                identity=(reason, source_name, unit_id, fact),
                severity=severity,
                title=title[:300],
                use_case_ids=sorted(member["pk"] for member in members),
                detail={
                    "problem": reason,
                    "fact": fact,
                    "source": source_name,
                    "business_unit": unit,
                    "count": count,
                    "by_stage": dict(sorted(by_stage.items())),
                },
            )
        )
    found.sort(key=lambda d: d.identity)
    return found
