"""What the API shows and accepts. Serializers validate shapes only; writes go through the services."""

from __future__ import annotations

import datetime

from django.db.models.functions import Lower
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portfolio.models import Finding, ScanRun
from portfolio.services.scans import ALL_KINDS
from registry.gates import next_stage_needs
from registry.models import (
    KPI,
    BusinessUnit,
    Decision,
    Frequency,
    FrictionPoint,
    KPIObservation,
    Person,
    Stage,
    StageTransition,
    UseCase,
)

MAX_TEXT = 5000
EARLIEST_SCAN_DATE = datetime.date(2000, 1, 1)
MAX_INT = 2**31 - 1


class StrictMixin:
    """Unknown fields are an error, not silently dropped: a typo must not look like success."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictSerializer(StrictMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictMixin, serializers.ModelSerializer):
    pass


class VersionField(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_INT)
        kwargs.setdefault(
            "help_text",
            "The version this record has; in a write, the version you read (or send If-Match): a stale one is refused with 412.",
        )
        super().__init__(**kwargs)


# Business units and people -------------------------------------------------------------------


class BusinessUnitSerializer(StrictModelSerializer):
    class Meta:
        model = BusinessUnit
        fields = ["id", "name", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_name(self, value):
        name = " ".join(value.split())
        if not name:
            raise serializers.ValidationError("A business unit needs a name.")
        if BusinessUnit.objects.annotate(lower=Lower("name")).filter(lower=name.lower()).exists():
            raise serializers.ValidationError("A business unit with this name already exists.")
        return name


class PersonSerializer(StrictModelSerializer):
    business_unit = serializers.PrimaryKeyRelatedField(
        queryset=BusinessUnit.objects.all(), required=False, allow_null=True,
        help_text="The person's business unit (id); once set, the directory moves people between units, never to none.",
    )
    business_unit_name = serializers.CharField(source="business_unit.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Person
        fields = ["id", "email", "name", "business_unit", "business_unit_name", "active", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["email"].read_only = True  # the directory key: a new email is a new person
        return fields

    def validate_business_unit(self, value):
        if value is None and self.instance is not None and self.instance.business_unit_id is not None:
            raise serializers.ValidationError("A person's business unit can be changed, not removed.")
        return value

    def validate_email(self, value):
        email = value.strip().lower()
        if Person.objects.filter(email=email).exists():
            raise serializers.ValidationError("A person with this email already exists; use the bulk upsert to update by email.")
        return email


class PersonUpsertRowSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    business_unit = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Unit name; created if new; blank leaves it unchanged."
    )
    active = serializers.BooleanField(required=False, help_text="false = has left the company.")

    def validate_email(self, value):
        return value.strip().lower()


class PeopleUpsertSerializer(StrictSerializer):
    people = PersonUpsertRowSerializer(many=True, allow_empty=False, max_length=1000)

    def validate_people(self, rows):
        seen = {}
        for index, row in enumerate(rows):
            if row["email"] in seen:
                raise serializers.ValidationError(
                    f"row {index + 1}: {row['email']} is also row {seen[row['email']] + 1}; each person once."
                )
            seen[row["email"]] = index
        return rows


class PeopleUpsertResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


# Decisions ------------------------------------------------------------------------------------


class DecisionSerializer(StrictModelSerializer):
    business_unit_name = serializers.CharField(source="business_unit.name", read_only=True)
    owner_email = serializers.EmailField(source="owner.email", read_only=True, default=None, allow_null=True)
    version = VersionField()

    class Meta:
        model = Decision
        fields = [
            "id", "statement", "business_unit", "business_unit_name", "owner", "owner_email", "owner_confirmed_on",
            "frequency", "decisions_per_period", "cost_of_error", "cost_of_delay_per_day", "execution_point",
            "current_method", "version", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "owner_confirmed_on", "created_at", "updated_at"]
        extra_kwargs = {"decisions_per_period": {"max_value": MAX_INT}}


# Use cases -------------------------------------------------------------------------------------


class KPISerializer(serializers.ModelSerializer):
    class Meta:
        model = KPI
        fields = ["id", "name", "unit", "direction", "baseline", "target"]


class ConditionSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class UseCaseListSerializer(serializers.ModelSerializer):
    business_unit_name = serializers.CharField(source="business_unit.name", read_only=True)
    business_owner_email = serializers.EmailField(source="business_owner.email", read_only=True, default=None, allow_null=True)
    technical_owner_email = serializers.EmailField(source="technical_owner.email", read_only=True, default=None, allow_null=True)

    class Meta:
        model = UseCase
        fields = [
            "id", "external_id", "title", "capability", "stage", "stage_entered_on", "decision", "business_unit",
            "business_unit_name", "business_owner", "business_owner_email", "technical_owner",
            "technical_owner_email", "expected_annual_value", "version", "updated_at",
        ]
        read_only_fields = fields


class UseCaseSerializer(StrictModelSerializer):
    business_unit_name = serializers.CharField(source="business_unit.name", read_only=True)
    friction_points = serializers.SlugRelatedField(
        slug_field="code", many=True, required=False, queryset=FrictionPoint.objects.all(),
        help_text="Codes of the friction points that block it.",
    )
    kpis = KPISerializer(many=True, read_only=True)
    next_stage = serializers.SerializerMethodField()
    next_stage_needs = serializers.SerializerMethodField()
    version = VersionField()

    class Meta:
        model = UseCase
        fields = [
            "id", "external_id", "title", "summary", "capability", "decision", "business_unit",
            "business_unit_name", "business_owner", "business_owner_confirmed_on", "technical_owner",
            "technical_owner_confirmed_on", "stage", "stage_entered_on", "data_readiness",
            "infrastructure_readiness", "model_readiness", "orchestration_readiness", "inference_readiness",
            "friction_points", "expected_annual_value", "monitoring_plan", "kpis", "next_stage",
            "next_stage_needs", "version", "created_at", "updated_at",
        ]
        read_only_fields = [
            "id", "business_owner_confirmed_on", "technical_owner_confirmed_on", "stage", "stage_entered_on",
            "created_at", "updated_at",
        ]

    def validate_external_id(self, value):
        value = (value or "").strip()
        return value or None

    def _needs(self, use_case):
        if not hasattr(use_case, "_next_needs"):
            use_case._next_needs = next_stage_needs(use_case)
        return use_case._next_needs

    @extend_schema_field({"type": "string", "nullable": True, "description": "The next forward stage; null when none."})
    def get_next_stage(self, use_case) -> str | None:
        return self._needs(use_case)[0]

    @staticmethod
    def _conditions(conditions):
        return [{"code": c.code, "message": c.message} for c in conditions]

    @extend_schema_field(ConditionSerializer(many=True))
    def get_next_stage_needs(self, use_case) -> list[dict]:
        return self._conditions(self._needs(use_case)[1])



class MoveSerializer(StrictSerializer):
    to_stage = serializers.ChoiceField(choices=Stage.choices)
    reason = serializers.CharField(
        max_length=MAX_TEXT, required=False, allow_blank=True, default="",
        help_text="Evidence for the move; required to go back a stage or to retire.",
    )
    version = VersionField()


class StateDecisionSerializer(StrictSerializer):
    statement = serializers.CharField(
        max_length=Decision._meta.get_field("statement").max_length,
        help_text="The decision the use case changes, worded as the decision ('Which claims are fast-tracked today?').",
    )
    frequency = serializers.ChoiceField(choices=Frequency.choices, required=False, allow_blank=True, default="")
    version = VersionField()


class MoveRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    unmet = ConditionSerializer(many=True)


# KPI observations, transitions, history --------------------------------------------------------


class KPIObservationSerializer(StrictModelSerializer):
    kpi = serializers.PrimaryKeyRelatedField(queryset=KPI.objects.select_related("use_case__decision"))
    use_case = serializers.IntegerField(source="kpi.use_case_id", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = KPIObservation
        fields = ["id", "kpi", "use_case", "observed_on", "value", "recorded_at", "recorded_by", "source"]
        read_only_fields = ["id", "recorded_at", "recorded_by", "source"]
        # One observation per KPI per day: recording the same day again corrects it.
        validators = []


class StageTransitionSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = StageTransition
        fields = ["id", "use_case", "from_stage", "to_stage", "occurred_at", "actor", "source", "reason"]
        read_only_fields = fields


class HistoryRecordSerializer(serializers.Serializer):
    history_id = serializers.IntegerField()
    history_date = serializers.DateTimeField()
    history_type = serializers.ChoiceField(choices=[("+", "created"), ("~", "changed"), ("-", "deleted")])
    history_change_reason = serializers.CharField(allow_null=True)
    history_user = serializers.CharField(source="history_user.username", default=None, allow_null=True)
    snapshot = serializers.SerializerMethodField()

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_snapshot(self, record) -> dict:
        model = record.instance_type
        values = {}
        for field in model._meta.concrete_fields:
            value = getattr(record, field.attname)
            values[field.attname] = value if isinstance(value, (int, str, bool, type(None))) else str(value)
        return values


# Findings and scans ----------------------------------------------------------------------------


class FindingSerializer(serializers.ModelSerializer):
    use_cases = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    decisions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    assignee_email = serializers.EmailField(source="assignee.email", read_only=True, default=None, allow_null=True)
    detail = serializers.JSONField(read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id", "kind", "severity", "status", "title", "detail", "use_cases", "decisions", "assignee",
            "assignee_email", "first_seen", "last_seen", "status_changed_at", "status_reason",
        ]
        read_only_fields = fields


class FindingReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class FindingDismissSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=MAX_TEXT, help_text="Why the finding does not call for action.")

    def validate_reason(self, value):
        if not value.strip():
            raise serializers.ValidationError("Dismissing a finding needs a reason.")
        return value


class FindingAssignSerializer(StrictSerializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(), allow_null=True, help_text="The person (id) to answer it; null unassigns."
    )


class ScanRunSerializer(serializers.ModelSerializer):
    triggered_by = serializers.CharField(source="triggered_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = ScanRun
        fields = [
            "id", "kinds", "as_of", "status", "queued_at", "started_at", "finished_at", "opened", "still_open",
            "resolved", "reopened", "error", "triggered_by", "task_id",
        ]
        read_only_fields = fields


class StartScanSerializer(StrictSerializer):
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=[(kind, kind) for kind in ALL_KINDS]),
        required=False, allow_empty=False, max_length=len(ALL_KINDS) * 4,
        help_text="The kinds of finding to scan; all when omitted.",
    )
    as_of = serializers.DateField(required=False, help_text="Judge the portfolio as on this date (2000-01-01 to today); today when omitted.")

    def validate_as_of(self, value):
        if not EARLIEST_SCAN_DATE <= value <= timezone.localdate():
            raise serializers.ValidationError(f"Give a date from {EARLIEST_SCAN_DATE.isoformat()} to today.")
        return value


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class StaleSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current_version = serializers.IntegerField(required=False)

