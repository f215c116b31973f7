"""The portfolio's compliance figures: OMB M-25-21 determinations, where the minimum practices of
high-impact use cases in pilot and production stand, EU AI Act classes and roles, and the
high-impact use cases a practice still holds at the gate.

Set-based: a fixed number of GROUP BY queries whatever the portfolio size, and the list of
use cases with gaps is a queryset the caller pages.

How a practice of a high-impact use case is counted, first match wins:

1. **waived**: a waiver of it is in force on the day (granted, not expired, not revoked),
   whatever its record says: the use case relies on the waiver, and a program office reports
   it as waived;
2. otherwise its record's status: **done**, **in progress**, **not applicable**;
3. otherwise (no record, or "not started") **missing**.

A *gap* is what the gate into pilot and production refuses (registry.gates): a practice neither
done nor waived. "Not applicable" is a gap: M-25-21 leaves a practice out only by waiver.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When

from ..gates import LIVE_STAGE_ORDER, practice_statuses, waived_practices
from ..models import (
    BusinessUnit, EURiskClass, EURole, HighImpact, Practice, PracticeRecord, PracticeStatus, Stage, UseCase, Waiver,
)

STAGE_ORDER = [*LIVE_STAGE_ORDER, Stage.RETIRED, Stage.UNREPORTED]
# The stages where a missing practice matters: the gate into them asks for every practice.
PRACTICE_STAGES = [Stage.PILOT, Stage.PRODUCTION]

NOT_DETERMINED = "not_determined"
DETERMINATIONS = [*((value, label) for value, label in HighImpact.choices), (NOT_DETERMINED, "Not determined")]

NOT_CLASSIFIED = "not_classified"
# Short names for table headings; the full label says where the Act puts it.
_EU_CLASS_SHORT = {
    EURiskClass.PROHIBITED: "Prohibited", EURiskClass.HIGH_RISK_ANNEX_I: "High-risk (Annex I)",
    EURiskClass.HIGH_RISK_ANNEX_III: "High-risk (Annex III)", EURiskClass.NOT_SIGNIFICANT_RISK: "Annex III, Art. 6(3)",
    EURiskClass.TRANSPARENCY: "Transparency only", EURiskClass.MINIMAL: "Minimal",
}
EU_CLASSES = [*((value, _EU_CLASS_SHORT[value], label) for value, label in EURiskClass.choices),
              (NOT_CLASSIFIED, "Not classified", "No EU AI Act classification recorded")]
EU_ROLES = [*((value, label, label) for value, label in EURole.choices),
            (NOT_CLASSIFIED, "Not classified", "No EU AI Act classification recorded")]

WAIVED, MISSING = "waived", "missing"
PRACTICE_STATES = [
    (PracticeStatus.DONE.value, "Done"),
    (PracticeStatus.IN_PROGRESS.value, "In progress"),
    (MISSING, "Missing"),
    (PracticeStatus.NOT_APPLICABLE.value, "Not applicable"),
    (WAIVED, "Waived"),
]


@dataclass
class UnitRow:
    """One unit's counts by column (the column keys of the table it belongs to) and its total."""

    unit_id: int
    name: str
    counts: dict[str, int]
    total: int


@dataclass
class PracticeRow:
    practice: str
    label: str
    counts: dict[str, int]  # PRACTICE_STATES keys; they sum to the stage's high-impact use cases


@dataclass
class Compliance:
    unit: BusinessUnit | None
    stage: str | None
    today: datetime.date
    determinations: list[UnitRow]
    determination_totals: dict[str, int]
    high_impact: list[UnitRow]  # only units with a high-impact use case in scope
    high_impact_totals: dict[str, int]
    practice_stages: list[str]  # PRACTICE_STAGES in scope
    practices: dict[str, list[PracticeRow]]  # by stage of practice_stages, in Practice's order
    high_impact_in_stage: dict[str, int]  # by stage of practice_stages
    gaps_in_stage: dict[str, int]  # high-impact use cases with a gap, by stage of practice_stages
    eu_classes: list[UnitRow]
    eu_class_totals: dict[str, int]
    eu_roles: list[UnitRow]
    eu_role_totals: dict[str, int]
    total: int

    @property
    def gaps(self) -> int:
        return sum(self.gaps_in_stage.values())


def waivers_in_force(on: datetime.date, *, via: str = "") -> Q:
    """Waiver.in_force as a filter: granted by `on`, expiring on or after it, never revoked.
    `via` is the path to the waivers from the rows filtered (e.g. "waivers__" from use cases)."""
    return Q(**{f"{via}revoked_on__isnull": True, f"{via}granted_on__lte": on, f"{via}expires_on__gte": on})


def _scope(*, unit: BusinessUnit | None, stage: str | None) -> QuerySet[UseCase]:
    use_cases = UseCase.objects.all()
    if unit is not None:
        use_cases = use_cases.filter(business_unit=unit)
    if stage is not None:
        use_cases = use_cases.filter(stage=stage)
    return use_cases


def _high_impact_in(use_cases: QuerySet[UseCase], stages: list[str]) -> QuerySet[UseCase]:
    return use_cases.filter(omb_determination__is_high_impact=HighImpact.HIGH_IMPACT, stage__in=stages)


def _unit_rows(counts: dict[int, dict[str, int]], names: dict[int, str], columns: list[str]) -> list[UnitRow]:
    rows = [UnitRow(unit_id, names.get(unit_id, "?"), {c: by_column.get(c, 0) for c in columns}, sum(by_column.values()))
            for unit_id, by_column in counts.items()]
    return sorted(rows, key=lambda row: row.name.lower())


def _totals(rows: list[UnitRow], columns: list[str]) -> dict[str, int]:
    return {c: sum(row.counts[c] for row in rows) for c in columns}


def compliance(*, unit: BusinessUnit | None, stage: str | None, today: datetime.date) -> Compliance:
    """The compliance figures of the use cases of `unit` (all when None) in `stage` (all when
    None), practices and waivers judged as on `today`: six queries."""
    use_cases = _scope(unit=unit, stage=stage)
    names = dict(BusinessUnit.objects.values_list("pk", "name"))

    # Determinations per unit, and high-impact per unit and stage: one GROUP BY.
    determined: dict[int, dict[str, int]] = defaultdict(dict)
    high_impact: dict[int, dict[str, int]] = defaultdict(dict)
    for unit_id, use_case_stage, determination, n in (
        use_cases.values_list("business_unit_id", "stage", "omb_determination__is_high_impact")
        .annotate(n=Count("id")).order_by()
    ):
        column = determination or NOT_DETERMINED
        determined[unit_id][column] = determined[unit_id].get(column, 0) + n
        if determination == HighImpact.HIGH_IMPACT:
            high_impact[unit_id][use_case_stage] = n
    determination_columns = [value for value, _ in DETERMINATIONS]
    determination_rows = _unit_rows(determined, names, determination_columns)
    high_impact_rows = _unit_rows(high_impact, names, STAGE_ORDER)
    high_impact_totals = _totals(high_impact_rows, STAGE_ORDER)

    # Practices of the high-impact use cases in pilot and production: the waived ones (one
    # query), then the records of the others by status (one query); the rest are missing.
    practice_stages = [s for s in PRACTICE_STAGES if stage is None or stage == s]
    in_force = waivers_in_force(today)
    judged = _high_impact_in(use_cases, practice_stages)
    counts = {s: {p: dict.fromkeys([key for key, _ in PRACTICE_STATES], 0) for p in Practice.values}
              for s in practice_stages}
    for use_case_stage, practice, n in (
        Waiver.objects.filter(in_force, use_case__in=judged)
        .values_list("use_case__stage", "practice").annotate(n=Count("use_case_id", distinct=True)).order_by()
    ):
        counts[use_case_stage][practice][WAIVED] = n
    waived_here = Waiver.objects.filter(in_force, use_case_id=OuterRef("use_case_id"), practice=OuterRef("practice"))
    for use_case_stage, practice, status, n in (
        PracticeRecord.objects.filter(use_case__in=judged).exclude(Exists(waived_here))
        .exclude(status=PracticeStatus.NOT_STARTED)
        .values_list("use_case__stage", "practice", "status").annotate(n=Count("id")).order_by()
    ):
        counts[use_case_stage][practice][status] = n
    in_stage = {s: high_impact_totals[s] for s in practice_stages}
    practices = {}
    for s in practice_stages:
        for practice, by_state in counts[s].items():
            by_state[MISSING] = in_stage[s] - sum(by_state.values())
        practices[s] = [PracticeRow(p, Practice(p).label, counts[s][p]) for p in Practice.values]

    gaps_in_stage = dict.fromkeys(practice_stages, 0)
    for use_case_stage, n in (
        _with_gaps(judged, today).values_list("stage").annotate(n=Count("id")).order_by()
    ):
        gaps_in_stage[use_case_stage] = n

    # EU AI Act classes and roles per unit: one GROUP BY.
    classes: dict[int, dict[str, int]] = defaultdict(dict)
    roles: dict[int, dict[str, int]] = defaultdict(dict)
    for unit_id, risk_class, role, n in (
        use_cases.values_list("business_unit_id", "eu_classification__risk_class", "eu_classification__role")
        .annotate(n=Count("id")).order_by()
    ):
        risk_class, role = risk_class or NOT_CLASSIFIED, role or NOT_CLASSIFIED
        classes[unit_id][risk_class] = classes[unit_id].get(risk_class, 0) + n
        roles[unit_id][role] = roles[unit_id].get(role, 0) + n
    class_columns, role_columns = [value for value, *_ in EU_CLASSES], [value for value, *_ in EU_ROLES]
    class_rows, role_rows = _unit_rows(classes, names, class_columns), _unit_rows(roles, names, role_columns)

    return Compliance(
        unit=unit, stage=stage, today=today,
        determinations=determination_rows, determination_totals=_totals(determination_rows, determination_columns),
        high_impact=high_impact_rows, high_impact_totals=high_impact_totals,
        practice_stages=practice_stages, practices=practices, high_impact_in_stage=in_stage,
        gaps_in_stage=gaps_in_stage,
        eu_classes=class_rows, eu_class_totals=_totals(class_rows, class_columns),
        eu_roles=role_rows, eu_role_totals=_totals(role_rows, role_columns),
        total=sum(row.total for row in determination_rows),
    )


def _with_gaps(use_cases: QuerySet[UseCase], today: datetime.date) -> QuerySet[UseCase]:
    """Those of `use_cases` with some practice neither done nor waived on `today`: fewer than
    all practices covered, where covered = done + waived - done and waived. One GROUP BY over
    the use cases joined to their records and waivers: an EXISTS per practice and use case
    cost PostgreSQL more (and a JIT compilation longer than the query) at 100,000 use cases."""
    in_force = waivers_in_force(today, via="waivers__")
    done = Q(practices__status=PracticeStatus.DONE)
    uncovered = (
        use_cases.order_by().values("pk")
        .annotate(
            done=Count("practices__practice", filter=done, distinct=True),
            waived=Count("waivers__practice", filter=in_force, distinct=True),
            both=Count("practices__practice", filter=done & in_force & Q(practices__practice=F("waivers__practice")),
                       distinct=True),
        )
        .filter(done__lt=len(Practice.values) - F("waived") + F("both"))
        .values("pk")
    )
    return use_cases.filter(pk__in=uncovered)


def gap_use_cases(*, unit: BusinessUnit | None, stage: str | None, today: datetime.date) -> QuerySet[UseCase]:
    """High-impact use cases in pilot or production with a practice neither done nor waived on
    `today`, production first, then by unit and title; the practices and waivers `gaps_of`
    reads are prefetched (for the page taken of it only)."""
    stages = [s for s in PRACTICE_STAGES if stage is None or stage == s]
    production_first = Case(When(stage=Stage.PRODUCTION, then=Value(0)), default=Value(1), output_field=IntegerField())
    return (
        _with_gaps(_high_impact_in(_scope(unit=unit, stage=stage), stages), today)
        .select_related("business_unit").prefetch_related("practices", "waivers")
        .order_by(production_first, "business_unit__name", "title", "pk")
    )


@dataclass
class Gap:
    practice: str
    label: str
    status: str  # the record's status (not started when there is none)
    status_label: str


def gaps_of(use_case: UseCase, today: datetime.date) -> list[Gap]:
    """The practices of a (prefetched) use case that hold its gate on `today`, in Practice's
    order: the gate's own reading (registry.gates)."""
    waived = waived_practices(use_case, today)
    return [Gap(practice, Practice(practice).label, status, PracticeStatus(status).label)
            for practice, status in practice_statuses(use_case).items()
            if status != PracticeStatus.DONE and practice not in waived]
