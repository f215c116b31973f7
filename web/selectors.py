"""Reads for the pages: the signed-in user's home, use case cards and a use case's page (its
history is its part of the audit log, registry/selectors/audit.py). Each selector owns its joins. The findings inbox and the portfolio dashboard read
through portfolio/selectors/."""

from __future__ import annotations

from django.db.models import (
    Case,
    Count,
    F,
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

from portfolio.models import ACTIVE_STATUSES, Finding, UrgentUseCase
from portfolio.selectors.dashboard import STAGE_ORDER
from registry.models import (
    KPI,
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
    """A use case with a critical or high active finding or a stall (UrgentUseCase, kept by
    triggers), or a decision still to state (retired ones aside): what its owner should look at
    first (web.views.home folds the rest)."""
    return (Q(pk__in=UrgentUseCase.objects.values("use_case_id"))
            | (Q(decision__is_defined=False) & ~Q(stage=Stage.RETIRED)))


def home_use_cases(person: Person) -> QuerySet[UseCase]:
    """The person's use cases in the order of their home page: those needing attention first,
    then by stage and title. Sorting on their ids (narrow rows) is what keeps a big owner's
    home fast; `cards` then loads one page of them."""
    owned = UseCase.objects.filter(owned_by(person))
    return (
        owned.annotate(stage_rank=_stage_rank(), attention=Case(When(_needs_attention(), then=Value(0)),
                                                                default=Value(1), output_field=IntegerField()))
        .order_by("attention", "stage_rank", "title", "pk")
    )


PENDING_LIMIT = 50


def pending_sign_offs(person: Person) -> list[UseCase]:
    """The person's use cases whose next stage waits for a sign-off (at most PENDING_LIMIT, by
    title), each with `pending_stage` and the `approvers` who may give it."""
    # Sorted NULLS FIRST (titles are never null, so the order is the same) PostgreSQL sorts the
    # person's few instead of walking the title index through everyone's until enough of
    # theirs turn up: 10 ms instead of 40 for the demo owner at 100,000 use cases.
    first = (UseCase.objects.filter(owned_by(person), stage__in=[Stage.VALIDATING, Stage.PILOT])
             .order_by(F("title").asc(nulls_first=True), "pk").values("pk")[:PENDING_LIMIT])
    candidates = with_gate_facts(
        UseCase.objects.filter(pk__in=first)
        .select_related("decision", "business_unit", "business_owner", "technical_owner").prefetch_related("kpis")
    ).order_by("title", "pk")
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


