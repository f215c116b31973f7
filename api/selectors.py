"""Reads for the API: each list and detail owns its joins, so queries do not grow with the page."""

from django.db.models import F, OuterRef, Prefetch, QuerySet

from core.subqueries import ListedValues

from portfolio.models import Finding, ScanRun
from registry.selectors.determinations import every_obligation
from registry.selectors.gates import with_gate_facts
from registry.selectors.value import latest_observed_value
from registry.models import (
    KPI, BusinessUnit, Decision, FrictionPoint, Investment, KPIObservation, Person, StageTransition, UseCase,
)


def business_units() -> QuerySet[BusinessUnit]:
    return BusinessUnit.objects.all()


def people() -> QuerySet[Person]:
    return Person.objects.select_related("business_unit")


def decisions() -> QuerySet[Decision]:
    return Decision.objects.select_related("business_unit", "owner")


def use_case_detail() -> QuerySet[UseCase]:
    """Everything the detail and the next stage's gate read, in a fixed number of queries; the
    friction points' codes (`friction_point_codes`, all the detail shows of them) and the EU
    obligations its classification is judged against (`eu_obligations`) in the row."""
    codes = FrictionPoint.objects.filter(use_cases=OuterRef("pk")).order_by("name").values(listed_value=F("code"))
    return with_gate_facts(UseCase.objects.select_related(
        "business_unit", "business_owner", "technical_owner", "decision", "decision__owner",
        "omb_determination__determined_by", "eu_classification__classified_by",
    ).annotate(friction_point_codes=ListedValues(codes), eu_obligations=every_obligation()).prefetch_related(
        Prefetch("kpis", queryset=KPI.objects.annotate(latest_value=latest_observed_value()).order_by("name"))))


def kpi_observations() -> QuerySet[KPIObservation]:
    return KPIObservation.objects.select_related("kpi", "recorded_by")


def investments() -> QuerySet[Investment]:
    return Investment.objects.select_related("recorded_by")


def stage_transitions() -> QuerySet[StageTransition]:
    return StageTransition.objects.select_related("actor")


def findings() -> QuerySet[Finding]:
    return Finding.objects.select_related("assignee").prefetch_related(
        Prefetch("use_cases", queryset=UseCase.objects.only("id")),
        Prefetch("decisions", queryset=Decision.objects.only("id")),
    )


def scan_runs() -> QuerySet[ScanRun]:
    return ScanRun.objects.select_related("triggered_by")


def history_of(record) -> QuerySet:
    return record.history.select_related("history_user").order_by("-history_date", "-history_id")
