"""Filters for the lists. A bad value (unknown choice, bad date, not a number) is a 400 naming the parameter."""

import datetime
import re

from django import forms
from django.db.models import Exists, OuterRef, Q
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

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


# RFC 3339 date-times (what OpenAPI's `date-time` is) with an offset PostgreSQL can take: it
# refuses a displacement beyond ±15:59 ("time zone displacement out of range"), which is no
# real time zone's anyway (they run from -12:00 to +14:00).
MAX_OFFSET_HOURS = 15
DATE_TIME_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-](0\d|1[0-5]):[0-5]\d)$"
)
_DATE_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<hours>\d{2}):(?P<minutes>\d{2}))"
)
DATE_TIME_HELP = (
    "A date and time with its UTC offset (RFC 3339), e.g. 2026-01-01T00:00:00Z or 2026-01-01T09:30:00+02:00; "
    "offsets from -15:59 to +15:59."
)


class DateTimeWithOffsetField(forms.Field):
    """An RFC 3339 date-time, as an aware datetime in UTC; anything else (no offset, an offset
    beyond ±15:59, a date that does not exist) is an error naming the parameter, never a 500.
    An instant before year 1 or after year 9999 in UTC is the earliest or latest there is,
    which is what a filter bound means by it."""

    default_error_messages = {"invalid": DATE_TIME_HELP}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        found = _DATE_TIME.fullmatch(str(value))
        if not found:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            local = datetime.datetime.fromisoformat(f"{found['date']}T{found['time']}")
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if found["fraction"]:
            local = local.replace(microsecond=int(found["fraction"][:6].ljust(6, "0")))
        offset = datetime.timedelta(0)
        if not found["utc"]:
            hours, minutes = int(found["hours"]), int(found["minutes"])
            if hours > MAX_OFFSET_HOURS or minutes > 59:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            offset = datetime.timedelta(hours=hours, minutes=minutes) * (-1 if found["sign"] == "-" else 1)
        try:
            utc = local - offset
        except OverflowError:
            utc = datetime.datetime.min if offset > datetime.timedelta(0) else datetime.datetime.max
        return utc.replace(tzinfo=datetime.timezone.utc)


@extend_schema_field({"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN})
class DateTimeFilter(filters.Filter):
    field_class = DateTimeWithOffsetField

    def __init__(self, *args, **kwargs):
        help_text = kwargs.pop("help_text", "")
        kwargs["help_text"] = f"{help_text} {DATE_TIME_HELP}".strip()
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
    occurred_after = DateTimeFilter(field_name="occurred_at", lookup_expr="gte", help_text="At or after this instant.")
    occurred_before = DateTimeFilter(field_name="occurred_at", lookup_expr="lte", help_text="At or before this instant.")

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
