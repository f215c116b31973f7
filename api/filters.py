"""Filters for the lists. A bad value (unknown choice, bad date, not a number) is a 400 naming the parameter."""

from django import forms
from django.db.models import Exists, OuterRef, Q
from django_filters import rest_framework as filters

from portfolio.models import ACTIVE_STATUSES, Finding, FindingKind, FindingStatus, ScanRun, Severity
from registry.models import Decision, Frequency, KPIObservation, Person, Stage, StageTransition, TransitionSource, UseCase

MAX_ID = 2**63 - 1


class IdFilter(filters.NumberFilter):
    """An object id: a whole number in the database's range (a bad one is a 400, not an empty page)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class PersonFilter(filters.FilterSet):
    business_unit = IdFilter(field_name="business_unit_id")
    active = filters.BooleanFilter()
    email = filters.CharFilter(method="filter_email", max_length=254, help_text="Exact email, any case.")

    class Meta:
        model = Person
        fields = ["business_unit", "active", "email"]

    def filter_email(self, queryset, name, value):
        return queryset.filter(email=value.strip().lower())


class DecisionFilter(filters.FilterSet):
    business_unit = IdFilter(field_name="business_unit_id")
    owner = IdFilter(field_name="owner_id")
    frequency = filters.ChoiceFilter(choices=Frequency.choices)

    class Meta:
        model = Decision
        fields = ["business_unit", "owner", "frequency"]


class UseCaseFilter(filters.FilterSet):
    business_unit = IdFilter(field_name="business_unit_id", help_text="Business unit id.")
    decision = IdFilter(field_name="decision_id")
    stage = filters.MultipleChoiceFilter(choices=Stage.choices, distinct=False, help_text="Repeat for several stages.")
    business_owner = IdFilter(field_name="business_owner_id", help_text="Person id of the business owner.")
    technical_owner = IdFilter(field_name="technical_owner_id", help_text="Person id of the technical owner.")
    owner = IdFilter(method="filter_owner", help_text="Person id owning it in any role (business, technical, decision).")
    capability = filters.CharFilter(lookup_expr="icontains", max_length=200, help_text="Part of the capability, any case.")
    friction_point = filters.CharFilter(field_name="friction_points__code", max_length=40, distinct=True)
    open_finding_kind = filters.ChoiceFilter(
        choices=FindingKind.choices, method="filter_open_finding_kind",
        help_text="Only use cases with an open or acknowledged finding of this kind.",
    )
    stage_entered_after = filters.DateFilter(field_name="stage_entered_on", lookup_expr="gte",
                                             help_text="Entered its stage on or after this date.")
    stage_entered_before = filters.DateFilter(field_name="stage_entered_on", lookup_expr="lte",
                                              help_text="Entered its stage on or before this date.")

    class Meta:
        model = UseCase
        fields = []

    def filter_owner(self, queryset, name, value):
        return queryset.filter(Q(business_owner_id=value) | Q(technical_owner_id=value) | Q(decision__owner_id=value))

    def filter_open_finding_kind(self, queryset, name, value):
        links = Finding.use_cases.through.objects.filter(
            usecase_id=OuterRef("pk"), finding__kind=value, finding__status__in=ACTIVE_STATUSES
        )
        return queryset.filter(Exists(links))


class KPIObservationFilter(filters.FilterSet):
    kpi = IdFilter(field_name="kpi_id")
    use_case = IdFilter(field_name="kpi__use_case_id")
    observed_after = filters.DateFilter(field_name="observed_on", lookup_expr="gte")
    observed_before = filters.DateFilter(field_name="observed_on", lookup_expr="lte")

    class Meta:
        model = KPIObservation
        fields = []


class StageTransitionFilter(filters.FilterSet):
    use_case = IdFilter(field_name="use_case_id")
    to_stage = filters.ChoiceFilter(choices=Stage.choices)
    from_stage = filters.ChoiceFilter(choices=Stage.choices)
    source = filters.ChoiceFilter(choices=TransitionSource.choices)
    occurred_after = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lte")

    class Meta:
        model = StageTransition
        fields = []


class FindingFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=FindingKind.choices)
    status = filters.MultipleChoiceFilter(choices=FindingStatus.choices, distinct=False)
    severity = filters.ChoiceFilter(choices=Severity.choices)
    use_case = IdFilter(field_name="use_cases__id", distinct=True)
    assignee = IdFilter(field_name="assignee_id")

    class Meta:
        model = Finding
        fields = []


class ScanRunFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ScanRun.Status.choices)

    class Meta:
        model = ScanRun
        fields = []
