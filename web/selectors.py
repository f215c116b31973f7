"""Reads for the pages. Each selector owns its joins; dashboard figures are GROUP BY queries,
so a page runs the same number of queries at 100 or 100,000 use cases."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Avg,
    Case,
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from portfolio.models import ACTIVE_STATUSES, Finding, FindingKind
from registry.models import (
    KPI,
    READINESS_ORDER,
    VALUE_CHAIN_LAYERS,
    BusinessUnit,
    Decision,
    KPIObservation,
    Person,
    Stage,
    StageTransition,
    UseCase,
)

STAGE_ORDER = [Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION, Stage.RETIRED]
ACTIVE_STAGES = [Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION]
# Days-in-stage buckets of the "time in stage" chart, newest first.
AGE_BUCKETS = [(0, 30, "under 30 days"), (30, 90, "30–90 days"), (90, 180, "90–180 days"), (180, None, "over 180 days")]
# A unit's stack is lopsided when its best and worst layers differ by this much (0–3 scale).
LOPSIDED_SPREAD = 1.0


def _stage_rank():
    return Case(*[When(stage=s, then=Value(i)) for i, s in enumerate(STAGE_ORDER)], output_field=IntegerField())


def _open_findings_prefetch(lookup: str = "findings") -> Prefetch:
    return Prefetch(
        lookup,
        queryset=Finding.objects.filter(status__in=ACTIVE_STATUSES).only("id", "kind", "title", "severity", "status"),
        to_attr="open_findings",
    )


def _kpis_with_last_value() -> Prefetch:
    last = KPIObservation.objects.filter(kpi=OuterRef("pk")).order_by("-observed_on")
    return Prefetch(
        "kpis",
        queryset=KPI.objects.annotate(
            last_value=Subquery(last.values("value")[:1]), last_observed_on=Subquery(last.values("observed_on")[:1])
        ).order_by("name"),
    )


def use_cases_for_cards() -> QuerySet[UseCase]:
    """Everything a use case card shows (stage, gate, KPIs, open findings) in a fixed number of queries."""
    return UseCase.objects.select_related(
        "decision", "decision__owner", "business_unit", "business_owner", "technical_owner"
    ).prefetch_related(_kpis_with_last_value(), _open_findings_prefetch())


def home_use_cases(person: Person) -> QuerySet[UseCase]:
    mine = Q(business_owner=person) | Q(technical_owner=person) | Q(decision__owner=person)
    return use_cases_for_cards().filter(mine).annotate(stage_rank=_stage_rank()).order_by("stage_rank", "title", "pk")


def home_decisions(person: Person) -> QuerySet[Decision]:
    return (
        Decision.objects.filter(owner=person)
        .select_related("business_unit", "owner")
        .annotate(use_case_count=Count("use_cases"))
        .prefetch_related(_open_findings_prefetch())
        .order_by("statement", "pk")
    )


def use_case_page(pk: int) -> UseCase:
    """One use case with everything its page shows; raises UseCase.DoesNotExist."""
    return (
        use_cases_for_cards()
        .prefetch_related(
            Prefetch("kpis__observations", queryset=KPIObservation.objects.order_by("observed_on")),
            "friction_points",
            Prefetch("transitions", queryset=StageTransition.objects.select_related("actor").order_by("occurred_at", "id")),
            Prefetch("findings", queryset=Finding.objects.order_by("-last_seen", "-id"), to_attr="all_findings"),
        )
        .get(pk=pk)
    )


# The use case's history: what changed in each saved version, read from the history table.
HISTORY_FIELDS = [
    ("title", "title"), ("summary", "summary"), ("capability", "capability"), ("external_id", "external id"),
    ("decision_id", "decision"), ("business_unit_id", "business unit"), ("business_owner_id", "business owner"),
    ("business_owner_confirmed_on", "business owner confirmed"), ("technical_owner_id", "technical owner"),
    ("technical_owner_confirmed_on", "technical owner confirmed"), ("stage", "stage"),
    ("stage_entered_on", "stage entered on"),
    *[(f"{layer}_readiness", f"{layer} readiness") for layer in VALUE_CHAIN_LAYERS],
    ("expected_annual_value", "expected annual value"), ("monitoring_plan", "monitoring plan"),
]
HISTORY_LIMIT = 100


@dataclass
class HistoryEntry:
    when: datetime.datetime
    who: str
    kind: str  # created, changed
    reason: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)


def use_case_history(use_case: UseCase, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """Newest first: who changed what, from the simple-history rows (one query, people in a second)."""
    records = list(
        use_case.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1]
    )
    people_ids = {getattr(r, f) for r in records for f in ("business_owner_id", "technical_owner_id") if getattr(r, f)}
    people = {p.pk: p.email for p in Person.objects.filter(pk__in=people_ids)} if people_ids else {}
    entries = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        who = record.history_user.get_username() if record.history_user else "system (import, scan or command)"
        entry = HistoryEntry(
            when=record.history_date, who=who, kind="created" if record.history_type == "+" else "changed",
            reason=record.history_change_reason or "",
        )
        if previous is not None:
            for name, label in HISTORY_FIELDS:
                old, new = getattr(previous, name), getattr(record, name)
                if old != new:
                    if name in ("business_owner_id", "technical_owner_id"):
                        old, new = people.get(old, old), people.get(new, new)
                    entry.changes.append((label, _shown(old), _shown(new)))
        entries.append(entry)
    return entries


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "…"


# Findings inbox -----------------------------------------------------------------------------


def findings_for(user_scope: Person | None, *, everything: bool) -> QuerySet[Finding]:
    """Findings a user may see: everything for the program office and auditors, otherwise those
    on what `user_scope` owns (the same reach as portfolio.findings.may_answer_finding)."""
    findings = Finding.objects.all()
    if not everything:
        if user_scope is None:
            return Finding.objects.none()
        person = user_scope
        findings = findings.filter(
            Q(use_cases__business_owner=person) | Q(use_cases__technical_owner=person)
            | Q(use_cases__decision__owner=person) | Q(decisions__owner=person)
        )
    return findings


def filter_findings(findings: QuerySet[Finding], *, kind="", unit=None, status="", owner: Person | None = None,
                    owner_unknown=False) -> QuerySet[Finding]:
    if kind:
        findings = findings.filter(kind=kind)
    if status == "active":
        findings = findings.filter(status__in=ACTIVE_STATUSES)
    elif status:
        findings = findings.filter(status=status)
    if unit is not None:
        findings = findings.filter(Q(use_cases__business_unit=unit) | Q(decisions__business_unit=unit))
    if owner_unknown:
        return findings.none()
    if owner is not None:
        findings = findings.filter(
            Q(assignee=owner) | Q(use_cases__business_owner=owner) | Q(use_cases__technical_owner=owner)
            | Q(decisions__owner=owner)
        )
    return findings


def findings_page_rows(findings: QuerySet[Finding]) -> QuerySet[Finding]:
    ids = findings.values("pk")
    return (
        Finding.objects.filter(pk__in=ids)
        .select_related("assignee")
        .prefetch_related(
            Prefetch("use_cases", queryset=UseCase.objects.select_related("business_unit").only(
                "id", "title", "external_id", "stage", "business_unit__name").order_by("title")),
            Prefetch("decisions", queryset=Decision.objects.only("id", "statement").order_by("statement")),
        )
        .order_by("-last_seen", "-id")
    )


# Portfolio dashboard ------------------------------------------------------------------------


@dataclass
class Dashboard:
    units: list[BusinessUnit]
    unit: BusinessUnit | None
    funnel: dict[str, int]
    funnel_by_unit: list[tuple[str, dict[str, int], int]]
    ages: dict[str, list[int]]
    readiness: list[tuple[str, dict[str, float], bool, int]]
    layer_totals: dict[str, float]
    findings_by_kind_unit: list[tuple[str, dict[str, int], int]]
    findings_kinds: list[tuple[str, str]]
    value_by_stage: dict[str, tuple[int, Decimal]]
    total: int


def _readiness_score(layer: str):
    return Case(
        *[When(**{f"{layer}_readiness": level}, then=Value(i)) for i, level in enumerate(READINESS_ORDER)],
        output_field=IntegerField(),
    )


def dashboard(*, unit: BusinessUnit | None, today: datetime.date) -> Dashboard:
    use_cases = UseCase.objects.all()
    if unit is not None:
        use_cases = use_cases.filter(business_unit=unit)
    units = list(BusinessUnit.objects.order_by("name"))
    unit_names = {u.pk: u.name for u in units}

    # 1. Stage funnel by unit: one GROUP BY (unit, stage).
    funnel = {s: 0 for s in STAGE_ORDER}
    per_unit: dict[int, dict[str, int]] = defaultdict(lambda: {s: 0 for s in STAGE_ORDER})
    for unit_id, stage, n in use_cases.values_list("business_unit_id", "stage").annotate(n=Count("id")).order_by():
        per_unit[unit_id][stage] = n
        funnel[stage] += n
    funnel_by_unit = sorted(
        ((unit_names.get(uid, "?"), stages, sum(stages.values())) for uid, stages in per_unit.items()),
        key=lambda row: row[0].lower(),
    )

    # 2. Time in stage: per stage, how many have been there how long (conditional counts).
    buckets = {}
    for index, (low, high, _) in enumerate(AGE_BUCKETS):
        condition = Q(stage_entered_on__lte=today - datetime.timedelta(days=low))
        if high is not None:
            condition &= Q(stage_entered_on__gt=today - datetime.timedelta(days=high))
        buckets[f"b{index}"] = Count("id", filter=condition)
    ages = {s: [0] * len(AGE_BUCKETS) for s in ACTIVE_STAGES}
    for row in use_cases.filter(stage__in=ACTIVE_STAGES).values("stage").annotate(**buckets).order_by():
        ages[row["stage"]] = [row[f"b{i}"] for i in range(len(AGE_BUCKETS))]

    # 3. Value-chain balance: mean readiness (0 none … 3 ready) per layer per unit, live use cases.
    scores = {layer: Avg(_readiness_score(layer)) for layer in VALUE_CHAIN_LAYERS}
    readiness = []
    weighted = {layer: 0.0 for layer in VALUE_CHAIN_LAYERS}
    counted = 0
    for row in (
        use_cases.exclude(stage=Stage.RETIRED).values("business_unit_id").annotate(n=Count("id"), **scores).order_by()
    ):
        layer_scores = {layer: float(row[layer] or 0) for layer in VALUE_CHAIN_LAYERS}
        lopsided = max(layer_scores.values()) - min(layer_scores.values()) >= LOPSIDED_SPREAD
        readiness.append((unit_names.get(row["business_unit_id"], "?"), layer_scores, lopsided, row["n"]))
        for layer in VALUE_CHAIN_LAYERS:
            weighted[layer] += layer_scores[layer] * row["n"]
        counted += row["n"]
    readiness.sort(key=lambda r: r[0].lower())
    layer_totals = {layer: (weighted[layer] / counted if counted else 0.0) for layer in VALUE_CHAIN_LAYERS}

    # 4. Open findings by kind and unit: the unit of its use cases, else of its decisions.
    findings = Finding.objects.filter(status__in=ACTIVE_STATUSES)
    if unit is not None:
        findings = findings.filter(Q(use_cases__business_unit=unit) | Q(decisions__business_unit=unit))
    by_kind_unit: dict[str, dict[str, int]] = defaultdict(dict)
    for kind, unit_id, n in (
        findings.annotate(unit_id=Coalesce("use_cases__business_unit_id", "decisions__business_unit_id"))
        .values_list("kind", "unit_id").annotate(n=Count("id", distinct=True)).order_by()
    ):
        if unit is not None and unit_id != unit.pk:
            continue
        name = unit_names.get(unit_id, "no unit")
        by_kind_unit[name][kind] = by_kind_unit[name].get(kind, 0) + n
    findings_by_kind_unit = sorted(
        ((name, kinds, sum(kinds.values())) for name, kinds in by_kind_unit.items()), key=lambda r: r[0].lower()
    )

    # 5. Expected annual value by stage.
    value_by_stage = {s: (0, Decimal(0)) for s in STAGE_ORDER}
    for stage, n, total in (
        use_cases.values_list("stage").annotate(n=Count("expected_annual_value"), total=Sum("expected_annual_value")).order_by()
    ):
        value_by_stage[stage] = (n, total or Decimal(0))

    return Dashboard(
        units=units, unit=unit, funnel=funnel, funnel_by_unit=funnel_by_unit, ages=ages, readiness=readiness,
        layer_totals=layer_totals, findings_by_kind_unit=findings_by_kind_unit,
        findings_kinds=list(FindingKind.choices), value_by_stage=value_by_stage, total=sum(funnel.values()),
    )
