"""The registry: people, business units, decisions, use cases, their stages and KPIs.

Models hold data and the invariants the database can enforce. Rules that need more than
one row (stage gates, imports, ownership) live in `gates.py`, `services/` and
`inventory/`.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.models import HistoricalRecords

NON_NEGATIVE = [MinValueValidator(0)]


class Frequency(models.TextChoices):
    REALTIME = "realtime", "Real time"
    HOURLY = "hourly", "Hourly"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    YEARLY = "yearly", "Yearly"
    AD_HOC = "ad_hoc", "Ad hoc"


class DecisionMethod(models.TextChoices):
    JUDGEMENT = "judgement", "Human judgement"
    RULES = "rules", "Business rules"
    MODEL = "model", "An existing model"
    NOT_MADE = "not_made", "Not made today"


class Stage(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    VALIDATING = "validating", "Validating"
    PILOT = "pilot", "Pilot"
    PRODUCTION = "production", "Production"
    RETIRED = "retired", "Retired"
    # Outside the pipeline: an imported inventory left the stage blank. Nothing is assumed of
    # such a use case (it is not "proposed"); a person moves it to the stage it is really in.
    UNREPORTED = "unreported", "Stage not reported"


class Readiness(models.TextChoices):
    NONE = "none", "None"
    PLANNED = "planned", "Planned"
    PARTIAL = "partial", "Partial"
    READY = "ready", "Ready"


READINESS_ORDER = [Readiness.NONE, Readiness.PLANNED, Readiness.PARTIAL, Readiness.READY]

# The value chain of an AI use case, bottom to top; each has a readiness field on UseCase.
VALUE_CHAIN_LAYERS = ["data", "infrastructure", "model", "orchestration", "inference"]


class TransitionSource(models.TextChoices):
    PRODUCT = "product", "In the product"
    IMPORT = "import", "Import"
    API = "api", "API"
    DEMO = "demo", "Demo data"


class KPIDirection(models.TextChoices):
    HIGHER_IS_BETTER = "higher", "Higher is better"
    LOWER_IS_BETTER = "lower", "Lower is better"


def _choice_check(field: str, choices: type[models.TextChoices], *, blank_allowed=False) -> models.CheckConstraint:
    allowed = Q(**{f"{field}__in": choices.values})
    if blank_allowed:
        allowed |= Q(**{field: ""})
    return models.CheckConstraint(condition=allowed, name=f"%(app_label)s_%(class)s_{field}_valid")


def _non_negative_check(field: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0}),
        name=f"%(app_label)s_%(class)s_{field}_non_negative",
    )


class BusinessUnit(models.Model):
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="registry_businessunit_name_unique_ci"),
        ]

    def __str__(self):
        return self.name


class Person(models.Model):
    """Someone in the company directory. People who leave stay, inactive, so history holds."""

    email = models.EmailField(max_length=254, help_text="The person's key; stored lower-case.")
    name = models.CharField(max_length=200, blank=True)
    business_unit = models.ForeignKey(
        BusinessUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="people"
    )
    active = models.BooleanField(default=True, help_text="Unticked when the person has left the company.")
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped on every write; guards concurrent edits.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["email"]
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="registry_person_email_unique_ci"),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="registry_person_email_lowercase"),
        ]

    def __str__(self):
        label = f"{self.name} <{self.email}>" if self.name else self.email
        return label if self.active else f"{label} (left)"


class FrictionPoint(models.Model):
    """The seven places where AI value leaks out between model and P&L (seeds/003)."""

    code = models.SlugField(max_length=40, primary_key=True)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Decision(models.Model):
    """The business decision a use case changes. Nothing is registered without one."""

    statement = models.CharField(max_length=300, help_text="Worded as the decision, e.g. 'Which claims are fast-tracked today?'")
    business_unit = models.ForeignKey(BusinessUnit, on_delete=models.PROTECT, related_name="decisions")
    owner = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_decisions")
    owner_confirmed_on = models.DateField(
        null=True, blank=True, help_text="When the owner last confirmed the decision; assignment counts."
    )
    frequency = models.CharField(max_length=20, choices=Frequency.choices, blank=True)
    decisions_per_period = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many such decisions are made each period of the frequency."
    )
    cost_of_error = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE,
        help_text="Cost of one wrong decision.",
    )
    cost_of_delay_per_day = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE,
        help_text="What each day without the improved decision costs.",
    )
    execution_point = models.CharField(
        max_length=300, blank=True, help_text="The system or workflow where the decision is executed."
    )
    current_method = models.CharField(
        max_length=20, choices=DecisionMethod.choices, blank=True, help_text="How the decision is made today."
    )
    is_defined = models.BooleanField(
        default=True, editable=False,
        help_text="Unticked on a placeholder: an imported inventory (e.g. the US federal one) names no decision, "
        "so its use cases wait under their unit's placeholder until their owner states theirs.",
    )
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped on every write; guards concurrent edits.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["business_unit__name", "statement"]
        constraints = [
            models.UniqueConstraint(fields=["business_unit", "statement"], name="registry_decision_unique_per_unit"),
            _choice_check("frequency", Frequency, blank_allowed=True),
            _choice_check("current_method", DecisionMethod, blank_allowed=True),
            _non_negative_check("cost_of_error"),
            _non_negative_check("cost_of_delay_per_day"),
            models.CheckConstraint(condition=Q(version__gte=1), name="registry_decision_version_positive"),
        ]

    def __str__(self):
        return self.statement


class UseCase(models.Model):
    """An AI system serving one decision, with dual accountability (business and technical)."""

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="use_cases")
    external_id = models.CharField(
        max_length=100, null=True, blank=True, help_text="Stable key in the source system, when imported."
    )
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, max_length=5000)
    capability = models.CharField(
        max_length=200, blank=True, help_text="The AI capability in a few words, e.g. 'document data extraction'."
    )
    business_unit = models.ForeignKey(BusinessUnit, on_delete=models.PROTECT, related_name="use_cases")
    business_owner = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="business_owned_use_cases",
        help_text="Accountable for the value.",
    )
    business_owner_confirmed_on = models.DateField(null=True, blank=True)
    technical_owner = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="technically_owned_use_cases",
        help_text="Accountable for running it.",
    )
    technical_owner_confirmed_on = models.DateField(null=True, blank=True)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.PROPOSED, editable=False)
    stage_entered_on = models.DateField(
        default=timezone.localdate, null=True, blank=True, editable=False,
        help_text="Blank when the source reported the stage without the day it began: its age is unknown.",
    )
    data_readiness = models.CharField(max_length=10, choices=Readiness.choices, default=Readiness.NONE)
    infrastructure_readiness = models.CharField(max_length=10, choices=Readiness.choices, default=Readiness.NONE)
    model_readiness = models.CharField(max_length=10, choices=Readiness.choices, default=Readiness.NONE)
    orchestration_readiness = models.CharField(max_length=10, choices=Readiness.choices, default=Readiness.NONE)
    inference_readiness = models.CharField(max_length=10, choices=Readiness.choices, default=Readiness.NONE)
    friction_points = models.ManyToManyField(FrictionPoint, blank=True, related_name="use_cases")
    expected_annual_value = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE
    )
    monitoring_plan = models.TextField(blank=True, max_length=5000)
    source_format = models.CharField(
        max_length=20, blank=True, help_text="The inventory format the use case was imported from, e.g. omb-2025."
    )
    source_record = models.JSONField(
        default=dict, blank=True, editable=False,
        help_text="Every column of the source row as published, so nothing of the source is lost.",
    )
    source_as_of = models.DateField(
        null=True, blank=True, editable=False,
        help_text="The date the imported inventory speaks for (its publication, or the latest past date in it): "
        "the scans judge the row's ages then, until the product sees newer activity on it.",
    )
    earlier_report = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, editable=False, related_name="later_report",
        help_text="The same use case in an earlier inventory (the OMB 2024 row of an OMB 2025 row): its stage "
        "history is this one's past, and the scans judge only this, the later report.",
    )
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped on every write; guards concurrent edits.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords(m2m_fields=[friction_points])

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=Q(external_id__isnull=False), name="registry_usecase_external_id_unique"
            ),
            models.CheckConstraint(condition=~Q(external_id=""), name="registry_usecase_external_id_not_blank"),
            _choice_check("stage", Stage),
            *[_choice_check(f"{layer}_readiness", Readiness) for layer in VALUE_CHAIN_LAYERS],
            _non_negative_check("expected_annual_value"),
            models.CheckConstraint(condition=Q(version__gte=1), name="registry_usecase_version_positive"),
        ]
        # Lists are paged by id, or by title when asked (the API and pages).
        indexes = [models.Index(fields=["stage", "stage_entered_on"]), models.Index(fields=["title", "id"], name="registry_usecase_title_id")]

    def __str__(self):
        return f"{self.external_id}: {self.title}" if self.external_id else self.title

    @property
    def key(self) -> str:
        """How scans and exports name a use case: its external id, else its primary key."""
        return self.external_id or str(self.pk)

    def readiness(self, layer: str) -> str:
        return getattr(self, f"{layer}_readiness")


class StageTransition(models.Model):
    """One stage move, written once and never edited: the audit trail of the lifecycle."""

    use_case = models.ForeignKey(UseCase, on_delete=models.PROTECT, related_name="transitions")
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True, help_text="Blank when registered.")
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="stage_transitions"
    )
    source = models.CharField(max_length=20, choices=TransitionSource.choices)
    reason = models.TextField(blank=True, help_text="Evidence for the move, or the reason for going back or retiring.")
    dated = models.BooleanField(
        default=True,
        help_text="Unticked when an imported inventory reported the stage without the day it began: the "
        "transition is placed on the inventory's date, by which the stage was held, not when it was entered.",
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            _choice_check("to_stage", Stage),
            _choice_check("from_stage", Stage, blank_allowed=True),
            _choice_check("source", TransitionSource),
        ]
        indexes = [models.Index(fields=["use_case", "-occurred_at"])]

    def __str__(self):
        return f"{self.from_stage or 'registered'} → {self.to_stage}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("Stage transitions are never edited after the fact.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Stage transitions are never deleted.")


class KPI(models.Model):
    """The business metric a use case must move: the feedback loop from inference to P&L."""

    use_case = models.ForeignKey(UseCase, on_delete=models.PROTECT, related_name="kpis")
    name = models.CharField(max_length=200, help_text="A business metric (churn, handling time), not a model metric.")
    unit = models.CharField(max_length=50, blank=True)
    direction = models.CharField(max_length=10, choices=KPIDirection.choices, default=KPIDirection.HIGHER_IS_BETTER)
    baseline = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    target = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["use_case", "name"]
        verbose_name = "KPI"
        constraints = [
            models.UniqueConstraint(fields=["use_case", "name"], name="registry_kpi_unique_name_per_use_case"),
            _choice_check("direction", KPIDirection),
        ]

    def __str__(self):
        return f"{self.name} ({self.unit})" if self.unit else self.name


class KPIObservation(models.Model):
    kpi = models.ForeignKey(KPI, on_delete=models.PROTECT, related_name="observations")
    observed_on = models.DateField()
    value = models.DecimalField(max_digits=18, decimal_places=4)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="kpi_observations"
    )
    source = models.CharField(max_length=20, choices=TransitionSource.choices, default=TransitionSource.PRODUCT)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-observed_on"]
        verbose_name = "KPI observation"
        constraints = [
            models.UniqueConstraint(fields=["kpi", "observed_on"], name="registry_kpiobservation_one_per_day"),
            _choice_check("source", TransitionSource),
        ]

    def __str__(self):
        return f"{self.kpi}: {self.value} on {self.observed_on}"
