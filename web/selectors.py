"""Reads for the pages: the signed-in user's home, use case cards and a use case's page with its
history. Each selector owns its joins. The findings inbox and the portfolio dashboard read
through portfolio/selectors/."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from portfolio.models import ACTIVE_STATUSES, Finding, FindingKind, Severity
from portfolio.selectors.dashboard import STAGE_ORDER
from registry.models import (
    KPI,
    VALUE_CHAIN_LAYERS,
    Decision,
    Investment,
    KPIObservation,
    Person,
    Stage,
    StageTransition,
    UseCase,
)
from registry.selectors.determinations import needs_sign_off, with_approvers
from registry.selectors.gates import with_gate_facts
from registry.selectors.ownership import owned_by


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
    return with_gate_facts(UseCase.objects.select_related(
        "decision", "decision__owner", "business_unit", "business_owner", "technical_owner"
    ).prefetch_related(_kpis_with_last_value(), _open_findings_prefetch()))


def _needs_attention() -> Q:
    """A use case with a critical or high active finding or a stall, or a decision still to state
    (retired ones aside): what its owner should look at first (web.views.home folds the rest)."""
    urgent = Finding.use_cases.through.objects.filter(
        usecase_id=OuterRef("pk"), finding__status__in=ACTIVE_STATUSES,
    ).filter(Q(finding__severity__in=[Severity.CRITICAL, Severity.HIGH]) | Q(finding__kind=FindingKind.STALLED_PILOT))
    return Q(Exists(urgent)) | (Q(decision__is_defined=False) & ~Q(stage=Stage.RETIRED))


def home_use_case_ids(person: Person) -> QuerySet:
    """The person's use cases in the order of their home page, as ids: those needing attention
    first, then by stage and title. Sorting narrow rows is what keeps a big owner's home fast;
    `cards` then loads one page of them."""
    return (
        UseCase.objects.filter(owned_by(person))
        .annotate(stage_rank=_stage_rank(),
                  attention=Case(When(_needs_attention(), then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("attention", "stage_rank", "title", "pk").values_list("pk", flat=True)
    )


PENDING_LIMIT = 50


def pending_sign_offs(person: Person) -> list[UseCase]:
    """The person's use cases whose next stage waits for a sign-off (at most PENDING_LIMIT, by
    title), each with `pending_stage` and the `approvers` who may give it."""
    candidates = with_gate_facts(
        UseCase.objects.filter(owned_by(person), stage__in=[Stage.VALIDATING, Stage.PILOT])
        .select_related("decision", "business_unit", "business_owner", "technical_owner").prefetch_related("kpis")
    ).order_by("title", "pk")[:PENDING_LIMIT]
    pending = []
    for use_case in candidates:
        use_case.pending_stage = needs_sign_off(use_case)
        if use_case.pending_stage:
            pending.append(use_case)
    return with_approvers(pending)


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
            # The same use case in an earlier inventory: its stage history is this one's past.
            Prefetch("earlier_report__transitions",
                     queryset=StageTransition.objects.select_related("actor").order_by("occurred_at", "id")),
            Prefetch("findings", queryset=Finding.objects.order_by("-last_seen", "-id"), to_attr="all_findings"),
            Prefetch("investments", queryset=Investment.objects.select_related("recorded_by")
                     .order_by("-period_start", "layer"), to_attr="investment_list"),
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
