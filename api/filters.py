"""Filters for the lists. A bad value (unknown choice, bad date, not a number, blank, given twice) is a 400
naming the parameter, and the schema says which values are good."""

import datetime
import re

from django import forms
from django.db.models import Value
from django.db.models.functions import Coalesce
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters as drf_filters
from rest_framework.exceptions import ValidationError

from core.text import normalise_email
from portfolio.models import Finding, FindingKind, FindingStatus, ScanRun, Severity
from portfolio.selectors import use_case_list
from registry.selectors import use_cases as use_case_selectors
from registry.models import Decision, Frequency, Investment, KPIObservation, Person, Stage, StageTransition, TransitionSource, UseCase
from registry.models import ValueChainLayer

MAX_ID = 2**63 - 1
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# What a text parameter may hold: anything but NUL (PostgreSQL text cannot hold it).
NO_NUL_PATTERN = r"^[^\x00]*$"
BLANK = "Give a value, or leave the parameter out."
REPEATED = "Give this parameter once."


class StrictFilterSet(filters.FilterSet):
    """A parameter the schema describes as one value of a type is one value of that type: a
    blank (`?decision=`) or repeated (`?decision=1&decision=2`) one is a 400 naming it, like a
    malformed one, instead of being silently ignored or half read. Text filters take a blank
    value as no filter (every text contains the empty one)."""

    def get_form_class(self):
        # The form class depends on the filters alone, which are the class's: built once, not
        # for every request (a list page spent a millisecond working out its fields' labels).
        form_class = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            type(self)._form_class = form_class
        return form_class

    def is_valid(self):
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            if not hasattr(self.data, "getlist") or name not in self.data:
                continue
            values = self.data.getlist(name)
            if not isinstance(filter_, filters.MultipleChoiceFilter) and len(values) > 1:
                self.form.add_error(name, REPEATED)
                valid = False
            elif not isinstance(filter_, TextFilter) and any(not value.strip() for value in values):
                self.form.add_error(name, BLANK)
                valid = False
        return valid


class WholeNumberField(forms.IntegerField):
    """A whole number written as one (`7`), not `7.0`, `7e0` or `٧`."""

    def to_python(self, value):
        if value not in self.empty_values and not _WHOLE_NUMBER.fullmatch(str(value).strip()):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.NumberFilter):
    """An object id: a whole number in the database's range (a bad one is a 400, not an empty page)."""

    field_class = WholeNumberField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class TextFilter(filters.CharFilter):
    """Text of at most `max_length` characters and no NUL, measured as sent (a blank value or
    one of spaces filters nothing)."""

    def __init__(self, *args, max_length: int, **kwargs):
        super().__init__(*args, max_length=max_length, strip=False, **kwargs)

    def filter(self, qs, value):
        return super().filter(qs, value.strip() if isinstance(value, str) else value)


def text_filter(max_length: int, **kwargs) -> TextFilter:
    """A TextFilter whose schema says its length."""
    schema = {"type": "string", "maxLength": max_length, "pattern": NO_NUL_PATTERN}
    return extend_schema_field(schema)(type(f"TextFilter{max_length}", (TextFilter,), {}))(max_length=max_length, **kwargs)


class StrictBooleanField(forms.Field):
    default_error_messages = {"invalid": "Give true or false."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


@extend_schema_field({"type": "boolean"})
class BooleanFilter(filters.BooleanFilter):
    """`true` or `false`; anything else is a 400 (not, as a select widget would, no filter)."""

    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs["widget"] = forms.TextInput  # the text as sent, not a select's reading of it
        super().__init__(*args, **kwargs)


class IsoDateField(forms.DateField):
    """A date as YYYY-MM-DD (the schema's `date`), not in the other forms Django's field reads."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not _ISO_DATE.fullmatch(str(value)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return datetime.date.fromisoformat(str(value))
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class DateFilter(filters.DateFilter):
    field_class = IsoDateField


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


class PersonFilter(StrictFilterSet):
    business_unit = IdFilter(field_name="business_unit_id")
    active = BooleanFilter()
    email = text_filter(254, method="filter_email", help_text="Exact email, any case.")

    class Meta:
        model = Person
        fields = ["business_unit", "active", "email"]

    def filter_email(self, queryset, name, value):
        return queryset.filter(email=normalise_email(value))


class DecisionFilter(StrictFilterSet):
    business_unit = IdFilter(field_name="business_unit_id")
    owner = IdFilter(field_name="owner_id")
    frequency = filters.ChoiceFilter(choices=Frequency.choices)

    class Meta:
        model = Decision
        fields = ["business_unit", "owner", "frequency"]


class UseCaseFilter(StrictFilterSet):
    business_unit = IdFilter(field_name="business_unit_id", help_text="Business unit id.")
    decision = IdFilter(field_name="decision_id")
    stage = filters.MultipleChoiceFilter(choices=Stage.choices, distinct=False, help_text="Repeat for several stages.")
    business_owner = IdFilter(field_name="business_owner_id", help_text="Person id of the business owner.")
    technical_owner = IdFilter(field_name="technical_owner_id", help_text="Person id of the technical owner.")
    owner = IdFilter(method="filter_owner", help_text="Person id owning it in any role (business, technical, decision).")
    capability = text_filter(200, lookup_expr="icontains", help_text="Part of the capability, any case.")
    friction_point = text_filter(40, field_name="friction_points__code", distinct=True,
                                 help_text="Code of a friction point blocking it.")
    open_finding_kind = filters.ChoiceFilter(
        choices=FindingKind.choices, method="filter_open_finding_kind",
        help_text="Only use cases with an open or acknowledged finding of this kind.",
    )
    high_impact = BooleanFilter(method="filter_high_impact",
                                help_text="true: determined high-impact (OMB M-25-21); false: not determined so.")
    stage_entered_after = DateFilter(field_name="stage_entered_on", lookup_expr="gte",
                                             help_text="Entered its stage on or after this date.")
    stage_entered_before = DateFilter(field_name="stage_entered_on", lookup_expr="lte",
                                              help_text="Entered its stage on or before this date.")

    class Meta:
        model = UseCase
        fields = []

    def filter_owner(self, queryset, name, value):
        return use_case_selectors.owned_by(queryset, value)

    def filter_open_finding_kind(self, queryset, name, value):
        return use_case_list.with_open_finding_kind(queryset, value)

    def filter_high_impact(self, queryset, name, value):
        return queryset if value is None else use_case_selectors.high_impact(queryset, value)


class KPIObservationFilter(StrictFilterSet):
    kpi = IdFilter(field_name="kpi_id")
    use_case = IdFilter(field_name="kpi__use_case_id")
    observed_after = DateFilter(field_name="observed_on", lookup_expr="gte")
    observed_before = DateFilter(field_name="observed_on", lookup_expr="lte")

    class Meta:
        model = KPIObservation
        fields = []


class InvestmentFilter(StrictFilterSet):
    use_case = IdFilter(field_name="use_case_id")
    layer = filters.ChoiceFilter(choices=ValueChainLayer.choices)
    period_from = DateFilter(field_name="period_end", lookup_expr="gte", help_text="Periods ending on or after this day.")
    period_to = DateFilter(field_name="period_start", lookup_expr="lte", help_text="Periods starting on or before this day.")

    class Meta:
        model = Investment
        fields = []


class StageTransitionFilter(StrictFilterSet):
    use_case = IdFilter(field_name="use_case_id")
    to_stage = filters.ChoiceFilter(choices=Stage.choices)
    from_stage = filters.ChoiceFilter(choices=Stage.choices)
    source = filters.ChoiceFilter(choices=TransitionSource.choices)
    occurred_after = DateTimeFilter(field_name="occurred_at", lookup_expr="gte", help_text="At or after this instant.")
    occurred_before = DateTimeFilter(field_name="occurred_at", lookup_expr="lte", help_text="At or before this instant.")

    class Meta:
        model = StageTransition
        fields = []


class FindingFilter(StrictFilterSet):
    kind = filters.ChoiceFilter(choices=FindingKind.choices)
    status = filters.MultipleChoiceFilter(choices=FindingStatus.choices, distinct=False)
    severity = filters.ChoiceFilter(choices=Severity.choices)
    use_case = IdFilter(field_name="use_cases__id", distinct=True)
    assignee = IdFilter(field_name="assignee_id")

    class Meta:
        model = Finding
        fields = []


class ScanRunFilter(StrictFilterSet):
    status = filters.ChoiceFilter(choices=ScanRun.Status.choices)

    class Meta:
        model = ScanRun
        fields = []


# Search and ordering (DRF's backends) ---------------------------------------------------------


def single_value(request, name: str) -> str | None:
    """The one value of query parameter `name` (None when absent); given twice, a 400 naming it."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValidationError({name: [REPEATED]})
    return values[0] if values else None


class OrderingFilter(drf_filters.OrderingFilter):
    """DRF's ordering, given once (`ordering=-id,name`) and without NUL; names it does not know
    are ignored.

    A view's `nulls_last_ordering` names nullable fields (a finding's price) whose rows without a
    value come last in both directions, on PostgreSQL and SQLite alike. Such a field is ordered
    through an annotation that puts a sentinel past every real value in place of NULL, so that
    the cursor pagination, which pages by the ordering's first field, keeps them too."""

    def get_ordering(self, request, queryset, view):
        value = single_value(request, self.ordering_param)
        if value is not None and "\x00" in value:
            raise ValidationError({self.ordering_param: ["Null characters are not allowed."]})
        ordering = super().get_ordering(request, queryset, view)
        nulls_last = getattr(view, "nulls_last_ordering", {})
        return [_nulls_last_key(term) if term.lstrip("-") in nulls_last else term for term in ordering or ()]

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view)
        for field, past_every_value in getattr(view, "nulls_last_ordering", {}).items():
            for term in ordering:
                if term.lstrip("-") == _nulls_last_key(field):
                    sentinel = -past_every_value if term.startswith("-") else past_every_value
                    output = queryset.model._meta.get_field(field)
                    queryset = queryset.annotate(**{term.lstrip("-"): Coalesce(field, Value(sentinel), output_field=output)})
        return queryset.order_by(*ordering) if ordering else queryset

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        fields = [name for name, _ in self.get_valid_fields(view.queryset, view, {"request": None})]
        nulls_last = getattr(view, "nulls_last_ordering", {})
        for parameter in parameters:
            parameter["schema"] = {"type": "string", "pattern": NO_NUL_PATTERN}
            parameter["description"] = (
                f"Order by {', '.join(f'`{name}`' for name in fields)}, a `-` before a name for descending; "
                "several comma-separated. " + "".join(f"Rows without a `{name}` come last either way. "
                                                       for name in nulls_last)).strip()
        return parameters


def _nulls_last_key(term: str) -> str:
    """The annotation a nulls-last field is ordered by, with the term's direction: -price → -price_nulls_last."""
    return f"{term}_nulls_last"


class ComplianceFilter(StrictFilterSet):
    """The scope of the compliance figures: one unit, one stage, or both."""

    unit = IdFilter(field_name="business_unit", help_text="A business unit's id: its use cases only.")
    stage = filters.ChoiceFilter(choices=Stage.choices, help_text="Use cases in this stage only.")

    class Meta:
        model = UseCase
        fields = ["unit", "stage"]
