"""What the API shows and accepts. Serializers validate shapes only; writes go through the services."""

from __future__ import annotations

import copy
import datetime
import re

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

from core.text import collapse_whitespace, normalise_email
from portfolio.models import Finding, FindingKind, FindingStatus, ScanRun, Severity
from portfolio.services.scans import ALL_KINDS
from registry.gates import gate_rows, next_stage_needs, practice_statuses, standing_sign_off, waived_practices
from registry.models import (
    KPI,
    SIGN_OFF_STAGE_CHOICES,
    AnnexIIIArea,
    BusinessUnit,
    Decision,
    DerogationCondition,
    EUClassification,
    EURiskClass,
    EURole,
    Frequency,
    FrictionPoint,
    HighImpact,
    Investment,
    KPIObservation,
    OMBDetermination,
    Person,
    Practice,
    PracticeStatus,
    SignOff,
    SignOffOutcome,
    Stage,
    StageTransition,
    UseCase,
    ValueChainLayer,
    Waiver,
)
from registry.selectors.determinations import obligations_for
from registry.selectors.value import kpi_realised_value, total

MAX_TEXT = 5000
EARLIEST_SCAN_DATE = datetime.date(2000, 1, 1)
MAX_INT = 2**31 - 1


MAX_ID = 2**63 - 1
# Python's whitespace (what `str.strip()` takes off), spelled for a JSON-schema pattern.
WHITESPACE_CLASS = "\\t-\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NO_NUL_PATTERN = "^[^\\u0000]*$"
NOT_BLANK_PATTERN = f"^[^\\u0000]*[^\\u0000{WHITESPACE_CLASS}][^\\u0000]*$"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# Fields that take JSON's types as the schema states them: no "5" for 5, no 1 for true, no
# 12 for "12". What the schema calls invalid is refused, and what it calls valid is read.


class Text(serializers.CharField):
    """A JSON string; its length (at most `max_length`) counts as sent, before the trimming of
    spaces; blank (empty or only spaces) only when `allow_blank`; never a NUL."""

    default_error_messages = {"invalid": "Not a valid string."}

    def run_validation(self, data=serializers.empty):
        if data is not serializers.empty and data is not None:
            if not isinstance(data, str):
                self.fail("invalid")
            if self.max_length is not None and len(data) > self.max_length:
                self.fail("max_length", max_length=self.max_length)
        return super().run_validation(data)


class Email(serializers.EmailField):
    default_error_messages = {"invalid": "Enter a valid email address."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Boolean(serializers.BooleanField):
    """JSON's true or false, nothing that merely reads like one."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class Integer(serializers.IntegerField):
    """A JSON integer: not a string of digits, not 5.0, not true."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class Decimal(serializers.DecimalField):
    """A decimal as a JSON string of digits (`"1200.50"`), as the schema's pattern states:
    at most `max_digits` digits, `decimal_places` of them after the point, a minus sign only
    where negative values are allowed."""

    default_error_messages = {"invalid": "A number written as a string is required, e.g. \"1200.50\"."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        whole = (self.max_digits or 30) - (self.decimal_places or 0)
        fraction = f"(\\.[0-9]{{1,{self.decimal_places}}})?" if self.decimal_places else ""
        self.pattern = f"^{'' if self.non_negative else '-?'}[0-9]{{1,{whole}}}{fraction}$"

    @property
    def non_negative(self) -> bool:
        minimum = self.min_value
        for validator in self.validators:
            if isinstance(validator, MinValueValidator):
                minimum = validator.limit_value if minimum is None else max(minimum, validator.limit_value)
        return minimum is not None and minimum >= 0

    def validate_empty_values(self, data):
        # DRF's DecimalField reads "" (and spaces) as null, which the schema does not say: no
        # value is null, a blank string is not a number.
        return serializers.Field.validate_empty_values(self, data)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(self.pattern.strip("^$"), data):
            self.fail("invalid")
        return super().to_internal_value(data)


class Date(serializers.DateField):
    """A date as YYYY-MM-DD (the schema's `date`)."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


class RelatedId(serializers.PrimaryKeyRelatedField):
    """The id of a record: a JSON integer from 1."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class RelatedList(serializers.ManyRelatedField):
    """A JSON array of related records (not an object, whose keys DRF would read as the items)."""

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class Code(serializers.SlugRelatedField):
    """The code of a record (a slug): a JSON string of at most `max_length` characters without NUL,
    naming one that exists; `many=True` takes a JSON array of them."""

    def __init__(self, *args, max_length: int, **kwargs):
        self.max_length = max_length
        super().__init__(*args, **kwargs)

    @classmethod
    def many_init(cls, *args, **kwargs):
        list_kwargs = {"child_relation": cls(*args, **kwargs)}
        list_kwargs.update({key: value for key, value in kwargs.items() if key in MANY_RELATION_KWARGS})
        return RelatedList(**list_kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if len(data) > self.max_length or "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data[:self.max_length])
        return super().to_internal_value(data)


class FrictionPointCodes(RelatedList):
    """A use case's friction points by code: the codes its selector read with the row
    (`friction_point_codes`: api.selectors.use_case_detail) when it holds them, else its relation."""

    def get_attribute(self, instance):
        codes = getattr(instance, "friction_point_codes", None)
        if codes is None:
            return super().get_attribute(instance)
        return [FrictionPoint(code=code) for code in codes]


class StrictMixin:
    """Unknown fields are an error, not silently dropped: a typo must not look like success."""

    # So is a field that cannot be written (an id, a stage, a date the server keeps): sending
    # it must not look as if it changed anything. The schema says the same
    # (`additionalProperties: false` over the writable fields).

    serializer_related_field = RelatedId

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            read_only = sorted(name for name in set(data.keys()) & set(self.fields) if self.fields[name].read_only)
            if unknown or read_only:
                errors = {name: ["Unknown field."] for name in unknown}
                errors.update({name: ["Read-only: it cannot be written."] for name in read_only})
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictSerializer(StrictMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictMixin, serializers.ModelSerializer):
    def get_fields(self):
        # DRF builds a model serializer's fields anew for every serializer, reading each model
        # field's label, length, choices and uniqueness again. What it builds depends on the
        # class alone, so each class builds them once and every serializer gets copies: an
        # API edit builds its use case serializer twice and the detail's nested ones (a fifth
        # of its Python time went there).
        built = type(self).__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            type(self)._built_fields = built
        return copy.deepcopy(built)

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: Text,
        models.TextField: Text,
        models.EmailField: Email,
        models.BooleanField: Boolean,
        models.IntegerField: Integer,
        models.PositiveIntegerField: Integer,
        models.PositiveSmallIntegerField: Integer,
        models.SmallIntegerField: Integer,
        models.BigIntegerField: Integer,
        models.DecimalField: Decimal,
        models.DateField: Date,
    }


class VersionField(Integer):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_INT)
        kwargs.setdefault(
            "help_text",
            "The version this record has; in a write, the version you read: a stale one is refused with 412. "
            "Edits (PUT, PATCH) of use cases and decisions need If-Match; a version sent with it must agree.",
        )
        super().__init__(**kwargs)


# Business units and people -------------------------------------------------------------------


class BusinessUnitSerializer(StrictModelSerializer):
    class Meta:
        model = BusinessUnit
        fields = ["id", "name", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_name(self, value):
        name = collapse_whitespace(value)
        if not name:
            raise serializers.ValidationError("A business unit needs a name.")
        if BusinessUnit.objects.annotate(lower=Lower("name")).filter(lower=name.lower()).exists():
            raise serializers.ValidationError("A business unit with this name already exists.")
        return name


class PersonSerializer(StrictModelSerializer):
    business_unit = RelatedId(
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
        email = normalise_email(value)
        if Person.objects.filter(email=email).exists():
            raise serializers.ValidationError("A person with this email already exists; use the bulk upsert to update by email.")
        return email


class PersonUpdateSerializer(PersonSerializer):
    """What an edit of a person takes: the email is the directory's key, not changed by an edit."""

    class Meta(PersonSerializer.Meta):
        fields = [f for f in PersonSerializer.Meta.fields if f != "email"]


class PersonUpsertRowSerializer(StrictSerializer):
    email = Email(max_length=254)
    name = Text(max_length=200, required=False, allow_blank=True)
    business_unit = Text(
        max_length=200, required=False, allow_blank=True, help_text="Unit name; created if new; blank leaves it unchanged."
    )
    active = Boolean(required=False, help_text="false = has left the company.")

    def validate_email(self, value):
        return normalise_email(value)


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


MONEY_OR_NULL = {"type": "string", "nullable": True, "pattern": "^-?[0-9]+\\.[0-9]{2}$",
                 "description": "An amount in the registry's currency, as a decimal string; null when unknown."}


def _money(value) -> str | None:
    return None if value is None else str(value)


class KPISerializer(serializers.ModelSerializer):
    realised_annual_value = serializers.SerializerMethodField()

    class Meta:
        model = KPI
        fields = ["id", "name", "unit", "direction", "baseline", "target", "value_per_unit", "value_period",
                  "realised_annual_value"]

    @extend_schema_field({**MONEY_OR_NULL, "description": "The yearly value the KPI's latest observation realises "
                          "over its baseline (negative: lost); null without a price, a baseline or an observation."})
    def get_realised_annual_value(self, kpi) -> str | None:
        return _money(kpi_realised_value(kpi, kpi.latest_value))


class ConditionSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


# Determinations and sign-offs --------------------------------------------------------------------


class OMBDeterminationSerializer(serializers.ModelSerializer):
    determined_by = serializers.CharField(source="determined_by.username", read_only=True, default=None, allow_null=True)
    is_high_impact_label = serializers.CharField(source="get_is_high_impact_display", read_only=True)

    class Meta:
        model = OMBDetermination
        fields = ["is_high_impact", "is_high_impact_label", "hi_justification", "hi_potential_impacts",
                  "determined_on", "determined_by"]
        read_only_fields = fields


class PracticeSerializer(serializers.Serializer):
    practice = serializers.ChoiceField(choices=Practice.choices)
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=PracticeStatus.choices)
    evidence_link = serializers.CharField()
    evidence_note = serializers.CharField()
    waived = serializers.BooleanField(help_text="A waiver of it is in force today.")


class WaiverSerializer(serializers.ModelSerializer):
    granted_by = serializers.CharField(source="granted_by.username", read_only=True, default=None, allow_null=True)
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = Waiver
        fields = ["id", "use_case", "practice", "justification", "granted_on", "expires_on", "reported_on",
                  "granted_by", "revoked_on", "revoked_reason", "in_force"]
        read_only_fields = fields

    def get_in_force(self, waiver) -> bool:
        return waiver.in_force(timezone.localdate())


class EUObligationSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    article = serializers.CharField()
    applies_from = serializers.DateField()
    applies_now = serializers.BooleanField()


class EUClassificationSerializer(serializers.ModelSerializer):
    # Declared, not generated: DRF drops allow_blank from a read-only model field, and the
    # schema would then leave out the blank these two hold outside an Annex III class.
    annex_iii_area = serializers.ChoiceField(choices=AnnexIIIArea.choices, allow_blank=True, read_only=True)
    derogation_condition = serializers.ChoiceField(choices=DerogationCondition.choices, allow_blank=True,
                                                   read_only=True)
    classified_by = serializers.CharField(source="classified_by.username", read_only=True, default=None, allow_null=True)
    obligations = serializers.SerializerMethodField()

    class Meta:
        model = EUClassification
        fields = ["role", "risk_class", "annex_iii_area", "derogation_condition", "profiles_natural_persons",
                  "transparency_art50", "rationale", "classified_on", "classified_by", "obligations"]
        read_only_fields = fields

    @extend_schema_field(EUObligationSerializer(many=True))
    def get_obligations(self, classification) -> list[dict]:
        today = timezone.localdate()
        every = self.context.get("eu_obligations")
        return [{"code": o.code, "title": o.title, "article": o.article, "applies_from": o.applies_from,
                 "applies_now": o.applies_from <= today} for o in obligations_for(classification, every)]


class SignOffSerializer(serializers.ModelSerializer):
    signed_by = serializers.CharField(source="signed_by.username", read_only=True)
    counts = serializers.SerializerMethodField(
        help_text="Whether it decides its stage's gate now: the latest given on the gate conditions as they are.")

    class Meta:
        model = SignOff
        fields = ["id", "use_case", "stage", "outcome", "note", "signed_by", "signed_at", "counts"]
        read_only_fields = fields

    def get_counts(self, sign_off) -> bool:
        standing = standing_sign_off(sign_off.use_case, sign_off.stage)
        return standing is not None and standing.pk == sign_off.pk


class SignOffRequestSerializer(StrictSerializer):
    stage = serializers.ChoiceField(choices=SIGN_OFF_STAGE_CHOICES)
    outcome = serializers.ChoiceField(choices=SignOffOutcome.choices)
    note = Text(max_length=MAX_TEXT, required=False, allow_blank=True, default="",
                help_text="What was checked; required when requesting changes.")


class OMBDeterminationRequestSerializer(StrictSerializer):
    is_high_impact = serializers.ChoiceField(choices=HighImpact.choices)
    hi_justification = Text(max_length=MAX_TEXT, required=False, allow_blank=True, default="",
                            help_text="Required for presumed_not_high_impact.")
    hi_potential_impacts = Text(max_length=MAX_TEXT, required=False, allow_blank=True, default="")
    version = VersionField()


class PracticeRequestSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=PracticeStatus.choices)
    evidence_link = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    evidence_note = Text(max_length=MAX_TEXT, required=False, allow_blank=True, default="",
                         help_text="Done needs a link or a note; not applicable needs a note.")
    version = VersionField()


class EUClassificationRequestSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=EURole.choices)
    risk_class = serializers.ChoiceField(choices=EURiskClass.choices)
    annex_iii_area = serializers.ChoiceField(choices=AnnexIIIArea.choices, required=False, allow_blank=True, default="")
    derogation_condition = serializers.ChoiceField(choices=DerogationCondition.choices, required=False,
                                                   allow_blank=True, default="")
    profiles_natural_persons = Boolean(required=False, default=False)
    transparency_art50 = Boolean(required=False, default=False)
    rationale = Text(max_length=MAX_TEXT)
    version = VersionField()


class WaiverRequestSerializer(StrictSerializer):
    use_case = RelatedId(queryset=UseCase.objects.all())
    practice = serializers.ChoiceField(choices=Practice.choices)
    justification = Text(max_length=MAX_TEXT)
    granted_on = Date(required=False, help_text="Default today.")
    expires_on = Date()
    reported_on = Date(required=False, allow_null=True, default=None)


class WaiverReportSerializer(StrictSerializer):
    reported_on = Date()


class WaiverRevokeSerializer(StrictSerializer):
    reason = Text(max_length=MAX_TEXT)


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
    friction_points = FrictionPointCodes(
        child_relation=Code(slug_field="code", queryset=FrictionPoint.objects.all(),
                            max_length=FrictionPoint._meta.get_field("code").max_length),
        required=False, help_text="Codes of the friction points that block it.",
    )
    kpis = KPISerializer(many=True, read_only=True)
    next_stage = serializers.SerializerMethodField()
    next_stage_needs = serializers.SerializerMethodField()
    omb_determination = serializers.SerializerMethodField()
    practices = serializers.SerializerMethodField()
    waivers = serializers.SerializerMethodField()
    eu_classification = serializers.SerializerMethodField()
    sign_offs = serializers.SerializerMethodField()
    realised_annual_value = serializers.SerializerMethodField()
    version = VersionField()

    class Meta:
        model = UseCase
        fields = [
            "id", "external_id", "title", "summary", "capability", "decision", "business_unit",
            "business_unit_name", "business_owner", "business_owner_confirmed_on", "technical_owner",
            "technical_owner_confirmed_on", "stage", "stage_entered_on", "data_readiness",
            "infrastructure_readiness", "model_readiness", "orchestration_readiness", "inference_readiness",
            "friction_points", "expected_annual_value", "realised_annual_value", "monitoring_plan", "kpis", "next_stage",
            "next_stage_needs", "omb_determination", "practices", "waivers", "eu_classification", "sign_offs",
            "version", "created_at", "updated_at",
        ]
        read_only_fields = [
            "id", "business_owner_confirmed_on", "technical_owner_confirmed_on", "stage", "stage_entered_on",
            "created_at", "updated_at",
        ]

    def validate_external_id(self, value):
        value = (value or "").strip()
        return value or None

    @extend_schema_field({**MONEY_OR_NULL, "description": "The yearly value its KPIs realise, beside "
                          "expected_annual_value; null when no KPI is priced, baselined and observed."})
    def get_realised_annual_value(self, use_case) -> str | None:
        return _money(total(kpi_realised_value(kpi, kpi.latest_value) for kpi in use_case.kpis.all()))

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

    @staticmethod
    def _related(use_case, relation):
        try:
            return getattr(use_case, relation)
        except ObjectDoesNotExist:
            return None

    @extend_schema_field(OMBDeterminationSerializer(allow_null=True))
    def get_omb_determination(self, use_case) -> dict | None:
        determination = self._related(use_case, "omb_determination")
        return OMBDeterminationSerializer(determination).data if determination else None

    @extend_schema_field(WaiverSerializer(many=True, read_only=True))
    def get_waivers(self, use_case) -> list[dict]:
        return WaiverSerializer(gate_rows(use_case, "waivers"), many=True, context=self.context).data

    @extend_schema_field(SignOffSerializer(many=True, read_only=True))
    def get_sign_offs(self, use_case) -> list[dict]:
        return SignOffSerializer(gate_rows(use_case, "sign_offs"), many=True, context=self.context).data

    @extend_schema_field(PracticeSerializer(many=True))
    def get_practices(self, use_case) -> list[dict]:
        records = {record.practice: record for record in gate_rows(use_case, "practices")}
        waived = waived_practices(use_case, timezone.localdate())
        return [
            {"practice": practice, "label": Practice(practice).label, "status": status,
             "evidence_link": records[practice].evidence_link if practice in records else "",
             "evidence_note": records[practice].evidence_note if practice in records else "",
             "waived": practice in waived}
            for practice, status in practice_statuses(use_case).items()
        ]

    @extend_schema_field(EUClassificationSerializer(allow_null=True))
    def get_eu_classification(self, use_case) -> dict | None:
        classification = self._related(use_case, "eu_classification")
        if classification is None:
            return None
        # The obligations read with the use case (api.selectors.use_case_detail), when it was.
        context = {"eu_obligations": getattr(use_case, "eu_obligations", None)}
        return EUClassificationSerializer(classification, context=context).data



class MoveSerializer(StrictSerializer):
    to_stage = serializers.ChoiceField(choices=Stage.choices)
    reason = Text(
        max_length=MAX_TEXT, required=False, allow_blank=True, default="",
        help_text="Evidence for the move; required to go back a stage or to retire.",
    )
    version = VersionField()


class StateDecisionSerializer(StrictSerializer):
    statement = Text(
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
    kpi = RelatedId(queryset=KPI.objects.select_related("use_case__decision"))
    use_case = serializers.IntegerField(source="kpi.use_case_id", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = KPIObservation
        fields = ["id", "kpi", "use_case", "observed_on", "value", "recorded_at", "recorded_by", "source"]
        read_only_fields = ["id", "recorded_at", "recorded_by", "source"]
        # One observation per KPI per day: recording the same day again corrects it.
        validators = []


class InvestmentSerializer(StrictModelSerializer):
    use_case = RelatedId(queryset=UseCase.objects.select_related("decision"))
    layer = serializers.ChoiceField(choices=ValueChainLayer.choices)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, default=None, allow_null=True)
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Investment
        fields = ["id", "use_case", "layer", "period_start", "period_end", "planned", "spent", "currency",
                  "recorded_at", "recorded_by"]
        read_only_fields = ["id", "recorded_at", "recorded_by"]
        extra_kwargs = {"planned": {"required": True}, "spent": {"required": True}}
        # One row per use case, layer and period start: recording the same again corrects it.
        validators = []

    @extend_schema_field({"type": "string", "description": "The registry's currency (ISO 4217), for both amounts."})
    def get_currency(self, investment) -> str:
        return settings.LAST_MILE_CURRENCY


class StageTransitionSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, default=None, allow_null=True)
    from_stage = serializers.ChoiceField(
        choices=Stage.choices, allow_blank=True, read_only=True,
        help_text='The stage it left; "" for the stage the use case was registered or imported in.',
    )

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


@extend_schema_field({"type": "object", "nullable": True,
                      "additionalProperties": {"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$"},
                      "description": "The price put on the value-chain layers that cause it ({layer: amount}), adding "
                                     "up to `price`; null without a price, or priced before layers were."})
class PriceByLayerField(serializers.JSONField):
    pass


class FindingSerializer(serializers.ModelSerializer):
    use_cases = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    decisions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    assignee_email = serializers.EmailField(source="assignee.email", read_only=True, default=None, allow_null=True)
    detail = serializers.JSONField(read_only=True)
    price_by_layer = PriceByLayerField(read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id", "kind", "severity", "status", "title", "detail", "price", "price_by_layer", "use_cases", "decisions",
            "assignee",
            "assignee_email", "first_seen", "last_seen", "status_changed_at", "status_reason",
        ]
        read_only_fields = fields


class FindingReasonSerializer(StrictSerializer):
    reason = Text(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class FindingDismissSerializer(StrictSerializer):
    reason = Text(max_length=MAX_TEXT, help_text="Why the finding does not call for action.")

    def validate_reason(self, value):
        if not value.strip():
            raise serializers.ValidationError("Dismissing a finding needs a reason.")
        return value


class FindingAssignSerializer(StrictSerializer):
    assignee = RelatedId(
        queryset=Person.objects.all(), allow_null=True, help_text="The person (id) to answer it; null unassigns."
    )


class FindingSelectionFilterSerializer(StrictSerializer):
    """The findings list's query parameters, as a JSON object: every finding matching them."""

    kind = serializers.ChoiceField(choices=FindingKind.choices, required=False)
    status = serializers.ListField(child=serializers.ChoiceField(choices=FindingStatus.choices), required=False,
                                   min_length=1, help_text="Any of these statuses.")
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    use_case = Integer(min_value=1, max_value=MAX_ID, required=False, help_text="Findings about this use case (id).")
    assignee = Integer(min_value=1, max_value=MAX_ID, required=False, help_text="Findings assigned to this person (id).")


MAX_BULK_IDS = 10000


class FindingBulkSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=["acknowledge", "assign", "dismiss", "reopen"])
    ids = serializers.ListField(child=Integer(min_value=1, max_value=MAX_ID), required=False, min_length=1,
                                max_length=MAX_BULK_IDS, help_text="The findings to act on; or give `filter`.")
    filter = FindingSelectionFilterSerializer(required=False, help_text="Act on every finding matching these.")
    assignee = Email(required=False, help_text="Whom to assign them to (`assign`): a person's email.")
    reason = Text(max_length=MAX_TEXT, required=False, allow_blank=True, default="",
                  help_text="Why; required to dismiss.")

    def validate(self, attrs):
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError({"ids": ["Give either `ids` or `filter`, not both and not neither."]})
        if attrs["action"] == "assign" and not attrs.get("assignee"):
            raise serializers.ValidationError({"assignee": ["Assigning needs an `assignee` (an email)."]})
        if attrs["action"] == "dismiss" and not attrs["reason"].strip():
            raise serializers.ValidationError({"reason": ["Dismissing findings needs a reason."]})
        return attrs


class FindingBulkResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="How many findings changed; those already so are not counted.")
    skipped = serializers.IntegerField(help_text="How many selected findings were already so and were left as they were.")


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
    as_of = Date(required=False, help_text="Judge the portfolio as on this date (2000-01-01 to today); today when omitted.")

    def validate_as_of(self, value):
        if not EARLIEST_SCAN_DATE <= value <= timezone.localdate():
            raise serializers.ValidationError(f"Give a date from {EARLIEST_SCAN_DATE.isoformat()} to today.")
        return value


# Where value leaks ------------------------------------------------------------------------------

AMOUNT = {"type": "string", "nullable": True, "pattern": "^-?[0-9]+\\.[0-9]{2}$"}


@extend_schema_field({**AMOUNT, "description": "A decimal string in `currency`; null when the registry holds no "
                      "figure for it (nothing priced, observed or valued)."})
class AmountField(serializers.CharField):
    pass


class LeaksSerializer(serializers.Serializer):
    stalled = AmountField(allow_null=True, help_text="Stalled pilots' cost of delay so far.")
    duplicated = AmountField(allow_null=True, help_text="Duplicated capabilities' spend beyond the first member.")
    not_realised = AmountField(allow_null=True, help_text="Expected annual value not realised.")
    unowned = AmountField(allow_null=True, help_text="Realised annual value at risk with nobody owning it.")
    unmeasured = AmountField(allow_null=True, help_text="Realised annual value at risk with nobody measuring it.")


class LayerLeaksSerializer(serializers.Serializer):
    data = LeaksSerializer()
    infrastructure = LeaksSerializer()
    model = LeaksSerializer()
    orchestration = LeaksSerializer()
    inference = LeaksSerializer()


class ValueSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="The registry's currency (ISO 4217).")
    expected = AmountField(allow_null=True, help_text="The expected annual value of the live use cases.")
    realised = AmountField(allow_null=True, help_text="What their KPIs realise a year.")
    leaks = LeaksSerializer(help_text="The open findings' prices by cause.")
    leaks_by_layer = LayerLeaksSerializer(help_text=(
        "Each cause's leak put on the value-chain layers that cause it (portfolio/pricing.py): a stall or a value "
        "not realised on its use case's least-ready layer, a duplicate's spend on the layers it went to, what nobody "
        "owns or measures on orchestration. Findings priced before layers were count in `leaks` only, until the "
        "next scan."))


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class StaleSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current_version = serializers.IntegerField(required=False)



# The portfolio's compliance figures (registry.selectors.compliance) --------------------------------


class UnitCountsSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField(help_text="The business unit's id.")
    unit = serializers.CharField(source="name", help_text="The business unit's name.")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Use cases per column of the table.")
    total = serializers.IntegerField()


class PracticeCountsSerializer(serializers.Serializer):
    practice = serializers.CharField(help_text="The practice: its 2025 inventory column without `hi_`.")
    label = serializers.CharField()
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="High-impact use cases per state: done, in_progress, missing (no record or not started), "
                  "not_applicable, waived (a waiver in force, whatever the record says).")


class StagePracticesSerializer(serializers.Serializer):
    stage = serializers.CharField()
    high_impact = serializers.IntegerField(help_text="High-impact use cases in this stage.")
    with_gap = serializers.IntegerField(help_text="Of those, how many have a practice neither done nor waived.")
    practices = PracticeCountsSerializer(many=True)


class ComplianceSerializer(serializers.Serializer):
    as_of = serializers.DateField(source="today", help_text="The day practices and waivers are judged on.")
    unit = serializers.IntegerField(source="unit.pk", allow_null=True, default=None)
    stage = serializers.CharField(allow_null=True)
    use_cases = serializers.IntegerField(source="total")
    determinations = UnitCountsSerializer(
        many=True, help_text="OMB M-25-21 determinations per unit: high_impact, not_high_impact, "
                             "presumed_not_high_impact, not_determined.")
    high_impact_by_stage = UnitCountsSerializer(source="high_impact", many=True,
                                                help_text="High-impact use cases per unit and stage.")
    practices = serializers.SerializerMethodField()
    eu_risk_classes = UnitCountsSerializer(source="eu_classes", many=True,
                                           help_text="EU AI Act risk classes per unit, not_classified included.")
    eu_roles = UnitCountsSerializer(many=True, help_text="EU AI Act operator roles per unit, not_classified included.")

    @extend_schema_field(StagePracticesSerializer(many=True))
    def get_practices(self, figures):
        return StagePracticesSerializer([
            {"stage": stage, "high_impact": figures.high_impact_in_stage[stage], "with_gap": figures.gaps_in_stage[stage],
             "practices": figures.practices[stage]}
            for stage in figures.practice_stages
        ], many=True).data


class AuditChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.CharField()
    new = serializers.CharField()


class AuditEntrySerializer(serializers.Serializer):
    """One entry of the audit log, as the export's JSON Lines write it."""

    entry_id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(help_text="A login's username or a named system actor (\"import of people.csv\", "
                                            "\"nightly scan\"); never blank.")
    kind = serializers.CharField()
    record_type = serializers.CharField()
    record_id = serializers.IntegerField(allow_null=True)
    record = serializers.CharField(help_text="The name of the record the entry belongs to.")
    subject_type = serializers.CharField()
    subject_id = serializers.IntegerField(allow_null=True)
    business_unit = serializers.CharField()
    changes = AuditChangeSerializer(many=True)
    reason = serializers.CharField()
    seq = serializers.IntegerField(allow_null=True, help_text="Position in the hash chain; null until sealed.")
    chain_hash = serializers.CharField()
    digest = serializers.CharField()


class AuditPageSerializer(serializers.Serializer):
    results = AuditEntrySerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="The next (older) page, or null.")


class AuditHeadSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    chain_hash = serializers.CharField()
    anchor = serializers.CharField(help_text="SEQ:HASH, for `verify_audit_trail --anchor`.")
