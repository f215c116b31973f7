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


class ValuePeriod(models.TextChoices):
    """The period a KPI's value per unit is counted over (a unit of improvement held for a month
    is worth so much); realised value is shown as a yearly rate, beside the expected annual value."""

    MONTH = "month", "Per month"
    QUARTER = "quarter", "Per quarter"
    YEAR = "year", "Per year"


PERIODS_PER_YEAR = {ValuePeriod.MONTH: 12, ValuePeriod.QUARTER: 4, ValuePeriod.YEAR: 1}


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
        indexes = [models.Index(fields=["stage", "stage_entered_on"]), models.Index(fields=["title", "id"], name="registry_usecase_title_id"),
                   # What "Where value leaks" reads of every use case, read from the index alone
                   # instead of the 40 MB table at 100,000 use cases.
                   models.Index(fields=["id", "business_unit", "stage", "expected_annual_value"],
                                name="registry_usecase_value_cover"),
                   # A scan first asks whether anything was registered after the day it judges.
                   models.Index(fields=["created_at"], name="registry_usecase_created"),
                   # The decision's use cases by id from the index alone: a search for a word in
                   # decision statements (hundreds of decisions) probes it per decision, where
                   # with the foreign key's index alone PostgreSQL read the 40 MB table (at
                   # 100,000: 155 ms instead of 280 for "invoice supplier", busy machine). The
                   # foreign key keeps its own narrower index, which an owner's filter ORs
                   # (`decision_id IN (…)`) in a bitmap: on this one alone it read the table.
                   models.Index(fields=["decision", "id"], name="registry_usecase_decision_id")]

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
        # occurred_at alone: a scan first asks whether anything moved after the day it judges.
        indexes = [models.Index(fields=["use_case", "-occurred_at"]),
                   models.Index(fields=["occurred_at"], name="registry_transition_occurred")]

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
    value_per_unit = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE,
        help_text="What one unit of improvement of the KPI (from its baseline, in its direction) is worth each "
        "value period, in the registry's currency. Blank: the KPI is not priced, so no value is realised from it.",
    )
    value_period = models.CharField(max_length=10, choices=ValuePeriod.choices, default=ValuePeriod.YEAR)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["use_case", "name"]
        verbose_name = "KPI"
        constraints = [
            models.UniqueConstraint(fields=["use_case", "name"], name="registry_kpi_unique_name_per_use_case"),
            _choice_check("direction", KPIDirection),
            _choice_check("value_period", ValuePeriod),
            _non_negative_check("value_per_unit"),
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


class ValueChainLayer(models.TextChoices):
    DATA = "data", "Data"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    MODEL = "model", "Model"
    ORCHESTRATION = "orchestration", "Orchestration"
    INFERENCE = "inference", "Inference"


class Investment(models.Model):
    """Money planned for and spent on one value-chain layer of a use case over one period, in
    the registry's currency (settings.LAST_MILE_CURRENCY): what tells where the money goes,
    against where readiness lags. One row per use case, layer and period start; recording the
    same again corrects it."""

    # Indexed by the covering index in Meta, which also answers "what did these use cases spend
    # by layer up to a date" from the index alone (the lopsided-investment scan sums a million rows).
    use_case = models.ForeignKey(UseCase, on_delete=models.PROTECT, related_name="investments", db_index=False)
    layer = models.CharField(max_length=20, choices=ValueChainLayer.choices)
    period_start = models.DateField(help_text="First day of the period (a month, a quarter, a year).")
    period_end = models.DateField(help_text="Last day of the period.")
    planned = models.DecimalField(max_digits=16, decimal_places=2, default=0, validators=NON_NEGATIVE)
    spent = models.DecimalField(max_digits=16, decimal_places=2, default=0, validators=NON_NEGATIVE)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Blank when the system recorded it (an import run from the command line, the demo).")
    history = HistoricalRecords()

    class Meta:
        ordering = ["use_case", "-period_start", "layer"]
        constraints = [
            models.UniqueConstraint(fields=["use_case", "layer", "period_start"],
                                    name="registry_investment_one_per_layer_and_period"),
            _choice_check("layer", ValueChainLayer),
            _non_negative_check("planned"),
            _non_negative_check("spent"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                   name="registry_investment_period_ends_after_start"),
        ]
        indexes = [models.Index(fields=["layer", "use_case"]),
                   # Key columns rather than INCLUDE, which SQLite, the quick start's database, lacks.
                   models.Index(fields=["use_case", "period_start", "layer", "spent"],
                                name="registry_invest_spent_cover")]

    def __str__(self):
        return f"{self.use_case}: {self.get_layer_display()} {self.period_start}–{self.period_end}"


# Running totals kept by the database -----------------------------------------------------------------
#
# Read by the "Where value leaks" page and GET /api/value/, which would otherwise sum a million
# investment rows and seek every KPI's latest observation on each request. Triggers (migration
# 0014) keep them in the transaction of every write to the rows they summarise, whatever writes
# them: the services, the imports, the demo's bulk COPY, a use case moved to another unit.


class InvestmentTotal(models.Model):
    """The investment of one business unit's use cases in one value-chain layer, all periods."""

    business_unit = models.ForeignKey(BusinessUnit, on_delete=models.CASCADE, related_name="+")
    layer = models.CharField(max_length=20, choices=ValueChainLayer.choices)
    planned = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    spent = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["business_unit", "layer"],
                                               name="registry_investmenttotal_one_per_unit_and_layer")]


class KPILatestObservation(models.Model):
    """A KPI's latest observation (by date): the one its realised value is computed from."""

    kpi = models.OneToOneField(KPI, primary_key=True, on_delete=models.CASCADE, related_name="latest_observation")
    observed_on = models.DateField()
    value = models.DecimalField(max_digits=18, decimal_places=4)


class UseCaseSearchText(models.Model):
    """Everything a search reads of one use case, in one text: its own title, external id, summary
    and capability, its decision's statement, its unit's name, and the names and emails of its
    business, technical and decision owners, in capitals (migration 0022: a search compares it as
    stored, rather than putting each row it checks in capitals). Kept by triggers (migration
    0021) on each of those tables, whatever writes them.

    Why one text: a word found in nearly every use case (a mail domain) and a word found nowhere
    must both cost a page's worth of work. On one column PostgreSQL knows how common a word is
    (ANALYZE gathers statistics on it) and chooses: walk the page's order and stop at a full
    page, or look the rare word up in the index. Searching the twelve fields one by one, as a
    UNION of index lookups, had to collect every match first (0.9 s for the owners' mail domain
    at 100,000 use cases)."""

    use_case = models.OneToOneField(UseCase, primary_key=True, on_delete=models.DO_NOTHING, related_name="search_text")
    document = models.TextField()


# Regulatory determinations and gate sign-offs ------------------------------------------------------
#
# Field and value names follow the US federal 2025 inventory (OMB M-25-21): `is_high_impact`,
# `HI_justification` and the `hi_*` columns, so its importer and exporter map column to field.


class HighImpact(models.TextChoices):
    """OMB M-25-21's determination; the labels are the 2025 inventory's `is_high_impact` values."""

    HIGH_IMPACT = "high_impact", "High-impact"
    NOT_HIGH_IMPACT = "not_high_impact", "Not High-impact"
    PRESUMED_NOT_HIGH_IMPACT = "presumed_not_high_impact", "Presumed High-Impact, but Not High-impact"


class Practice(models.TextChoices):
    """The minimum practices for high-impact AI; each value is its 2025 inventory column without `hi_`."""

    TESTING_CONDUCTED = "testing_conducted", "Pre-deployment testing"
    ASSESSMENT_COMPLETED = "assessment_completed", "AI impact assessment"
    INDEPENDENT_REVIEW = "independent_review", "Independent review"
    ONGOING_MONITORING = "ongoing_monitoring", "Ongoing monitoring"
    TRAINING_ESTABLISHED = "training_established", "Human training and oversight"
    FAILSAFE_PRESENCE = "failsafe_presence", "Fail-safe / human intervention"
    APPEAL_PROCESS = "appeal_process", "Appeal and remedy"
    PUBLIC_CONSULTATION = "public_consultation", "Consultation and feedback from affected people"


class PracticeStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class OMBDetermination(models.Model):
    """A use case's M-25-21 high-impact determination; who made it, when and why is in its history.

    No row means not determined yet. "Presumed high-impact, determined not" needs a written
    justification when made in the product (the service asks); an imported row keeps what
    its inventory reports, which once omits it.
    """

    use_case = models.OneToOneField(UseCase, on_delete=models.PROTECT, related_name="omb_determination")
    is_high_impact = models.CharField(max_length=30, choices=HighImpact.choices)
    hi_justification = models.TextField(
        blank=True, max_length=5000, help_text="Why: required for 'presumed high-impact, but not high-impact'.")
    hi_potential_impacts = models.TextField(
        blank=True, max_length=5000, help_text="The potential impacts the AI impact assessment identified.")
    determined_on = models.DateField(default=timezone.localdate)
    determined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Blank when the system recorded it (an import).")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "OMB high-impact determination"
        constraints = [_choice_check("is_high_impact", HighImpact)]

    def __str__(self):
        return f"{self.use_case}: {self.get_is_high_impact_display()}"


class PracticeRecord(models.Model):
    """Where one minimum practice stands for one use case. No row means not started."""

    use_case = models.ForeignKey(UseCase, on_delete=models.PROTECT, related_name="practices")
    practice = models.CharField(max_length=30, choices=Practice.choices)
    status = models.CharField(max_length=20, choices=PracticeStatus.choices, default=PracticeStatus.NOT_STARTED)
    evidence_link = models.URLField(max_length=500, blank=True)
    evidence_note = models.TextField(blank=True, max_length=5000)
    updated_on = models.DateField(default=timezone.localdate)
    history = HistoricalRecords()

    class Meta:
        ordering = ["use_case", "practice"]
        verbose_name = "minimum practice"
        constraints = [
            models.UniqueConstraint(fields=["use_case", "practice"], name="registry_practicerecord_one_per_practice"),
            _choice_check("practice", Practice),
            _choice_check("status", PracticeStatus),
            models.CheckConstraint(
                condition=~Q(status=PracticeStatus.DONE) | ~Q(evidence_link="") | ~Q(evidence_note=""),
                name="registry_practicerecord_done_has_evidence",
            ),
        ]

    def __str__(self):
        return f"{self.get_practice_display()}: {self.get_status_display()}"


class Waiver(models.Model):
    """A minimum practice waived for a use case by a Chief AI Officer, until it expires or is revoked.

    OMB asks for a waiver to be reported within 30 days of its grant; `reported_on` records when.
    """

    use_case = models.ForeignKey(UseCase, on_delete=models.PROTECT, related_name="waivers")
    practice = models.CharField(max_length=30, choices=Practice.choices)
    justification = models.TextField(max_length=5000)
    granted_on = models.DateField()
    expires_on = models.DateField()
    reported_on = models.DateField(null=True, blank=True, help_text="When the waiver was reported to OMB.")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The Chief AI Officer who granted it; blank when the system recorded it (an import).")
    revoked_on = models.DateField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True, max_length=5000)
    history = HistoricalRecords()

    class Meta:
        ordering = ["expires_on", "id"]
        constraints = [
            _choice_check("practice", Practice),
            models.CheckConstraint(condition=~Q(justification=""), name="registry_waiver_justified"),
            models.CheckConstraint(condition=Q(expires_on__gt=models.F("granted_on")),
                                   name="registry_waiver_expires_after_grant"),
            models.CheckConstraint(condition=Q(reported_on__isnull=True) | Q(reported_on__gte=models.F("granted_on")),
                                   name="registry_waiver_reported_after_grant"),
            models.CheckConstraint(condition=Q(revoked_on__isnull=True) | Q(revoked_on__gte=models.F("granted_on")),
                                   name="registry_waiver_revoked_after_grant"),
        ]

    def __str__(self):
        return f"{self.get_practice_display()} waived for {self.use_case} until {self.expires_on}"

    def in_force(self, on) -> bool:
        return self.revoked_on is None and self.granted_on <= on <= self.expires_on


class EURole(models.TextChoices):
    """The operator's role under the EU AI Act (Art. 3)."""

    PROVIDER = "provider", "Provider"
    DEPLOYER = "deployer", "Deployer"
    IMPORTER = "importer", "Importer"
    DISTRIBUTOR = "distributor", "Distributor"
    PRODUCT_MANUFACTURER = "product_manufacturer", "Product manufacturer"
    AUTHORISED_REPRESENTATIVE = "authorised_representative", "Authorised representative"


class EURiskClass(models.TextChoices):
    PROHIBITED = "prohibited", "Prohibited practice (Art. 5)"
    HIGH_RISK_ANNEX_I = "high_risk_annex_i", "High-risk: safety component of an Annex I product (Art. 6(1))"
    HIGH_RISK_ANNEX_III = "high_risk_annex_iii", "High-risk: Annex III area (Art. 6(2))"
    NOT_SIGNIFICANT_RISK = "annex_iii_not_significant", "Annex III area, not significant risk (Art. 6(3) derogation)"
    TRANSPARENCY = "transparency", "Transparency obligations only (Art. 50)"
    MINIMAL = "minimal", "Minimal risk"


class AnnexIIIArea(models.TextChoices):
    BIOMETRICS = "biometrics", "1. Biometrics"
    CRITICAL_INFRASTRUCTURE = "critical_infrastructure", "2. Critical infrastructure"
    EDUCATION = "education", "3. Education and vocational training"
    EMPLOYMENT = "employment", "4. Employment, workers' management, access to self-employment"
    ESSENTIAL_SERVICES = "essential_services", "5. Access to essential private and public services and benefits"
    LAW_ENFORCEMENT = "law_enforcement", "6. Law enforcement"
    MIGRATION = "migration", "7. Migration, asylum and border control"
    JUSTICE_DEMOCRACY = "justice_democracy", "8. Administration of justice and democratic processes"


class DerogationCondition(models.TextChoices):
    """Art. 6(3)(a)–(d): why an Annex III system poses no significant risk."""

    NARROW_PROCEDURAL_TASK = "narrow_procedural_task", "(a) performs a narrow procedural task"
    IMPROVES_HUMAN_RESULT = "improves_human_result", "(b) improves the result of a completed human activity"
    DETECTS_PATTERNS = "detects_patterns", "(c) detects decision-making patterns without replacing human assessment"
    PREPARATORY_TASK = "preparatory_task", "(d) performs a preparatory task to an assessment"


ANNEX_III_CLASSES = (EURiskClass.HIGH_RISK_ANNEX_III, EURiskClass.NOT_SIGNIFICANT_RISK)


class EUClassification(models.Model):
    """A use case's EU AI Act role and risk class; who classified it, when and why is in its history."""

    use_case = models.OneToOneField(UseCase, on_delete=models.PROTECT, related_name="eu_classification")
    role = models.CharField(max_length=30, choices=EURole.choices)
    risk_class = models.CharField(max_length=30, choices=EURiskClass.choices)
    annex_iii_area = models.CharField(
        max_length=30, choices=AnnexIIIArea.choices, blank=True, help_text="For an Annex III class: which area.")
    derogation_condition = models.CharField(
        max_length=30, choices=DerogationCondition.choices, blank=True,
        help_text="For the Art. 6(3) derogation: which condition holds.")
    profiles_natural_persons = models.BooleanField(
        default=False, help_text="An Annex III system that profiles natural persons is always high-risk (Art. 6(3)).")
    transparency_art50 = models.BooleanField(
        default=False, help_text="Subject to the Art. 50 transparency obligations (besides its risk class).")
    rationale = models.TextField(max_length=5000)
    classified_on = models.DateField(default=timezone.localdate)
    classified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "EU AI Act classification"
        constraints = [
            _choice_check("role", EURole),
            _choice_check("risk_class", EURiskClass),
            _choice_check("annex_iii_area", AnnexIIIArea, blank_allowed=True),
            _choice_check("derogation_condition", DerogationCondition, blank_allowed=True),
            models.CheckConstraint(
                condition=Q(risk_class__in=ANNEX_III_CLASSES, annex_iii_area__gt="")
                | (~Q(risk_class__in=ANNEX_III_CLASSES) & Q(annex_iii_area="")),
                name="registry_euclassification_annex_iii_area"),
            models.CheckConstraint(
                condition=Q(risk_class=EURiskClass.NOT_SIGNIFICANT_RISK, derogation_condition__gt="",
                            profiles_natural_persons=False)
                | (~Q(risk_class=EURiskClass.NOT_SIGNIFICANT_RISK) & Q(derogation_condition="")),
                name="registry_euclassification_derogation"),
            models.CheckConstraint(condition=~Q(rationale=""), name="registry_euclassification_rationale"),
        ]

    def __str__(self):
        return f"{self.use_case}: {self.get_role_display()}, {self.get_risk_class_display()}"


class EUObligation(models.Model):
    """An EU AI Act obligation and the date it applies from: data the program office keeps,
    because the dates have moved before. It applies to a classification whose role is in
    `roles` and whose risk class is in `risk_classes` (or, for the "transparency" class, that
    is subject to Art. 50)."""

    code = models.SlugField(max_length=60, primary_key=True)
    title = models.CharField(max_length=200)
    article = models.CharField(max_length=60, help_text="Where the Act says it, e.g. 'Art. 26'.")
    roles = models.JSONField(default=list, help_text=f"Roles it binds: {', '.join(EURole.values)}.")
    risk_classes = models.JSONField(default=list, help_text=f"Classes it binds: {', '.join(EURiskClass.values)}.")
    applies_from = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["applies_from", "code"]
        verbose_name = "EU AI Act obligation"

    def __str__(self):
        return f"{self.title} ({self.article}, from {self.applies_from})"


class SignOffOutcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


SIGN_OFF_STAGES = (Stage.PILOT, Stage.PRODUCTION)
SIGN_OFF_STAGE_CHOICES = [(stage.value, stage.label) for stage in SIGN_OFF_STAGES]


class SignOff(models.Model):
    """A person's judgement on a use case entering pilot or production, written once.

    `gate_fingerprint` is the fingerprint of the use case's gate conditions when it was given
    (`registry.gates.gate_fingerprint`): the sign-off counts only while they are unchanged.
    """

    use_case = models.ForeignKey(UseCase, on_delete=models.PROTECT, related_name="sign_offs")
    stage = models.CharField(max_length=20, choices=SIGN_OFF_STAGE_CHOICES)
    outcome = models.CharField(max_length=20, choices=SignOffOutcome.choices)
    note = models.TextField(blank=True, max_length=5000)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sign_offs")
    signed_at = models.DateTimeField(default=timezone.now)
    gate_fingerprint = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-signed_at", "-id"]
        verbose_name = "sign-off"
        constraints = [
            models.CheckConstraint(condition=Q(stage__in=SIGN_OFF_STAGES), name="registry_signoff_stage_valid"),
            _choice_check("outcome", SignOffOutcome),
            models.CheckConstraint(condition=~Q(gate_fingerprint=""), name="registry_signoff_fingerprinted"),
        ]
        indexes = [models.Index(fields=["use_case", "stage", "-signed_at"])]

    def __str__(self):
        return f"{self.get_outcome_display()} for {self.stage} by {self.signed_by}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("Sign-offs are never edited after the fact.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Sign-offs are never deleted.")


class AuditEntry(models.Model):
    """One change in the audit log: a history row, a stage move, a sign-off or a finding's
    status change, written by a database trigger in the transaction that wrote the row
    (`registry/audit.py`), so writes in SQL and COPY are logged as the ORM's are; or an event
    the application records itself (a scan's run).

    `digest` is the SHA-256 of the source row's columns as written; `seq` and `chain_hash`
    place the entry in the one hash chain once sealed. Nothing edits an entry but the sealing.
    """

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        CHANGED = "changed", "Changed"
        DELETED = "deleted", "Deleted"
        STAGE_MOVE = "stage move", "Stage move"
        SIGN_OFF = "sign-off", "Sign-off"
        FINDING_STATUS = "finding status", "Finding status"
        SCAN = "scan", "Scan"

    at = models.DateTimeField(help_text="When the change happened, as its record says.")
    written_at = models.DateTimeField(default=timezone.now, help_text="When the log received it.")
    source_table = models.CharField(max_length=63, blank=True,
                                    help_text="The table of the row this entry records; blank for events of the application.")
    source_id = models.BigIntegerField(null=True, blank=True, help_text="That row's primary key.")
    record_type = models.CharField(max_length=40, help_text="What changed: use case, decision, KPI, stage move…")
    record_id = models.BigIntegerField(null=True, blank=True)
    subject_type = models.CharField(max_length=20, help_text="The page the entry belongs to: usecase, decision, person, "
                                                             "finding, unit, policy or scan.")
    subject_id = models.BigIntegerField(null=True, blank=True)
    business_unit = models.ForeignKey(BusinessUnit, null=True, blank=True, on_delete=models.DO_NOTHING,
                                      db_constraint=False, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.CharField(max_length=200, help_text="A login's username or a named system actor; never blank.")
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                                   db_constraint=False, related_name="+")
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="What an application event records (a scan's counts).")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the source row as written (or of `detail`).")
    seq = models.BigIntegerField(null=True, blank=True, unique=True, help_text="Position in the hash chain, once sealed.")
    chain_hash = models.CharField(max_length=64, blank=True,
                                  help_text="SHA-256 of the previous entry's chain hash and this entry's content.")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        constraints = [
            models.CheckConstraint(condition=~Q(actor=""), name="registry_auditentry_actor_named"),
            models.CheckConstraint(condition=Q(kind__in=["created", "changed", "deleted", "stage move", "sign-off",
                                                         "finding status", "scan"]),
                                   name="registry_auditentry_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["-at", "-id"], name="registry_audit_at"),
            models.Index(fields=["subject_type", "subject_id", "-at"], name="registry_audit_subject"),
            models.Index(fields=["business_unit", "-at"], name="registry_audit_unit"),
            models.Index(fields=["source_table", "source_id"], name="registry_audit_source"),
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="registry_audit_unsealed"),
        ]

    def __str__(self):
        return f"{self.kind} {self.record_type} {self.record_id} by {self.actor}"
