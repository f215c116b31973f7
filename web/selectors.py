"""Reads for the pages. Each selector owns its joins; dashboard figures are GROUP BY queries,
so a page runs the same number of queries at 100 or 100,000 use cases."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
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


def owned_decision_ids(person: Person) -> list[int]:
    """One small query; keeps the use-case filter on indexed columns (no OR across a join)."""
    if not hasattr(person, "_owned_decision_ids"):
        person._owned_decision_ids = list(Decision.objects.filter(owner=person).values_list("pk", flat=True))
    return person._owned_decision_ids


def _mine(person: Person) -> Q:
    return Q(business_owner=person) | Q(technical_owner=person) | Q(decision_id__in=owned_decision_ids(person))


def home_use_case_ids(person: Person) -> QuerySet:
    """The person's use cases in the order of their home page, as ids: sorting narrow rows is
    what keeps a big owner's home fast; `cards` then loads one page of them."""
    return (
        UseCase.objects.filter(_mine(person)).annotate(stage_rank=_stage_rank())
        .order_by("stage_rank", "title", "pk").values_list("pk", flat=True)
    )


def cards(ids) -> list[UseCase]:
    """Use cases with everything a card shows, in the order of `ids`."""
    ids = list(ids)
    by_id = use_cases_for_cards().in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def home_decisions(person: Person) -> QuerySet[Decision]:
    return (
        Decision.objects.filter(owner=person)
        .select_related("business_unit", "owner")
        .annotate(use_case_count=Coalesce(Subquery(
            UseCase.objects.filter(decision=OuterRef("pk")).order_by().values("decision")
            .annotate(n=Count("pk")).values("n")[:1]), 0))
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


UseCaseLinks = Finding.use_cases.through
DecisionLinks = Finding.decisions.through


def _linked(*, use_cases: QuerySet, decisions) -> Q:
    """Findings linked to any of these use cases or decisions: one IN over the union of the link
    tables (PostgreSQL plans it as a semi-join, where an OR of two INs scans every finding)."""
    links = [
        UseCaseLinks.objects.filter(usecase_id__in=use_cases.values("pk")).values("finding_id"),
        DecisionLinks.objects.filter(decision_id__in=decisions).values("finding_id"),
    ]
    return Q(pk__in=links[0].union(links[1]))


def findings_for(person: Person | None, *, everything: bool) -> QuerySet[Finding]:
    """Findings a user may see: everything for the program office and auditors, otherwise those
    on what `person` owns (the reach of portfolio.services.findings.may_answer_finding)."""
    if everything:
        return Finding.objects.all()
    if person is None:
        return Finding.objects.none()
    return Finding.objects.filter(
        _linked(use_cases=UseCase.objects.filter(_mine(person)), decisions=owned_decision_ids(person))
    )


def filter_findings(findings: QuerySet[Finding], *, kind="", unit=None, status="", owner: Person | None = None,
                    owner_unknown=False) -> QuerySet[Finding]:
    if kind:
        findings = findings.filter(kind=kind)
    if status == "active":
        findings = findings.filter(status__in=ACTIVE_STATUSES)
    elif status:
        findings = findings.filter(status=status)
    if unit is not None:
        findings = findings.filter(_linked(use_cases=UseCase.objects.filter(business_unit=unit),
                                           decisions=Decision.objects.filter(business_unit=unit).values("pk")))
    if owner_unknown:
        return findings.none()
    if owner is not None:
        findings = findings.filter(Q(assignee=owner) | _linked(use_cases=UseCase.objects.filter(_mine(owner)),
                                                              decisions=owned_decision_ids(owner)))
    return findings


def finding_ids_in_inbox_order(findings: QuerySet[Finding]) -> QuerySet:
    """Newest first, as ids: the sort reads narrow rows; `findings_page_rows` loads one page."""
    return findings.order_by("-last_seen", "-id").values_list("pk", flat=True)


def findings_page_rows(findings: QuerySet[Finding]) -> QuerySet[Finding]:
    return (
        findings.select_related("assignee")
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
    """The portfolio's figures: one GROUP BY scan of the use cases and two of the open findings."""
    use_cases = UseCase.objects.all()
    if unit is not None:
        use_cases = use_cases.filter(business_unit=unit)
    units = list(BusinessUnit.objects.order_by("name"))
    unit_names = {u.pk: u.name for u in units}

    # One pass over the use cases, grouped by (unit, stage): counts, days-in-stage buckets,
    # expected value, and readiness sums (averages are recombined below, retired left out).
    aggregates = {"n": Count("id"), "valued": Count("expected_annual_value"), "value": Sum("expected_annual_value")}
    for index, (low, high, _) in enumerate(AGE_BUCKETS):
        condition = Q(stage_entered_on__lte=today - datetime.timedelta(days=low))
        if high is not None:
            condition &= Q(stage_entered_on__gt=today - datetime.timedelta(days=high))
        aggregates[f"b{index}"] = Count("id", filter=condition)
    for layer in VALUE_CHAIN_LAYERS:
        aggregates[layer] = Sum(_readiness_score(layer))
    rows = list(use_cases.values("business_unit_id", "stage").annotate(**aggregates).order_by())

    funnel = {s: 0 for s in STAGE_ORDER}
    per_unit: dict[int, dict[str, int]] = defaultdict(lambda: {s: 0 for s in STAGE_ORDER})
    ages = {s: [0] * len(AGE_BUCKETS) for s in ACTIVE_STAGES}
    value_by_stage = {s: (0, Decimal(0)) for s in STAGE_ORDER}
    live: dict[int, dict[str, float]] = defaultdict(lambda: {"n": 0, **{layer: 0.0 for layer in VALUE_CHAIN_LAYERS}})
    for row in rows:
        stage, unit_id = row["stage"], row["business_unit_id"]
        per_unit[unit_id][stage] = row["n"]
        funnel[stage] += row["n"]
        if stage in ages:
            ages[stage] = [a + row[f"b{i}"] for i, a in enumerate(ages[stage])]
        count, total = value_by_stage[stage]
        value_by_stage[stage] = (count + row["valued"], total + (row["value"] or Decimal(0)))
        if stage != Stage.RETIRED:
            live[unit_id]["n"] += row["n"]
            for layer in VALUE_CHAIN_LAYERS:
                live[unit_id][layer] += float(row[layer] or 0)
    funnel_by_unit = sorted(
        ((unit_names.get(uid, "?"), stages, sum(stages.values())) for uid, stages in per_unit.items()),
        key=lambda row: row[0].lower(),
    )

    # Value-chain balance: mean readiness (0 none … 3 ready) per layer per unit, live use cases.
    readiness = []
    weighted = {layer: 0.0 for layer in VALUE_CHAIN_LAYERS}
    counted = 0
    for unit_id, sums in live.items():
        if not sums["n"]:
            continue
        layer_scores = {layer: sums[layer] / sums["n"] for layer in VALUE_CHAIN_LAYERS}
        lopsided = max(layer_scores.values()) - min(layer_scores.values()) >= LOPSIDED_SPREAD
        readiness.append((unit_names.get(unit_id, "?"), layer_scores, lopsided, int(sums["n"])))
        for layer in VALUE_CHAIN_LAYERS:
            weighted[layer] += sums[layer]
        counted += int(sums["n"])
    readiness.sort(key=lambda r: r[0].lower())
    layer_totals = {layer: (weighted[layer] / counted if counted else 0.0) for layer in VALUE_CHAIN_LAYERS}

    # Open findings by kind and unit: the units of its use cases; a finding on decisions only
    # counts in the units of those decisions.
    by_kind_unit: dict[str, dict[str, int]] = defaultdict(dict)
    via_use_cases = UseCaseLinks.objects.filter(finding__status__in=ACTIVE_STATUSES)
    via_decisions = DecisionLinks.objects.filter(finding__status__in=ACTIVE_STATUSES).exclude(
        finding_id__in=UseCaseLinks.objects.values("finding_id"))
    if unit is not None:
        via_use_cases = via_use_cases.filter(usecase__business_unit=unit)
        via_decisions = via_decisions.filter(decision__business_unit=unit)
    for links, unit_column in ((via_use_cases, "usecase__business_unit_id"), (via_decisions, "decision__business_unit_id")):
        for kind, unit_id, n in (
            links.values_list("finding__kind", unit_column).annotate(n=Count("finding_id", distinct=True)).order_by()
        ):
            name = unit_names.get(unit_id, "no unit")
            by_kind_unit[name][kind] = by_kind_unit[name].get(kind, 0) + n
    findings_by_kind_unit = sorted(
        ((name, kinds, sum(kinds.values())) for name, kinds in by_kind_unit.items()), key=lambda r: r[0].lower()
    )

    return Dashboard(
        units=units, unit=unit, funnel=funnel, funnel_by_unit=funnel_by_unit, ages=ages, readiness=readiness,
        layer_totals=layer_totals, findings_by_kind_unit=findings_by_kind_unit,
        findings_kinds=list(FindingKind.choices), value_by_stage=value_by_stage, total=sum(funnel.values()),
    )
