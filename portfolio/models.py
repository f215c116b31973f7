"""Findings the scans raise, the runs that raised them, and the policy they judge by."""

from functools import lru_cache

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from registry.models import Decision, Person, UseCase


class FindingKind(models.TextChoices):
    STALLED_PILOT = "stalled_pilot", "Stalled pilot"
    DUPLICATE_CAPABILITY = "duplicate_capability", "Duplicated capability"
    ORPHANED_OWNERSHIP = "orphaned_ownership", "Orphaned ownership"
    BROKEN_FEEDBACK_LOOP = "broken_feedback_loop", "Broken feedback loop"
    MISSING_DECISION = "missing_decision", "Missing decision"
    INVENTORY_COMPLETENESS = "inventory_completeness", "Inventory completeness"
    HIGH_IMPACT_PRACTICES = "high_impact_practices", "High-impact practices"
    VALUE_NOT_REALISED = "value_not_realised", "Value not realised"
    LOPSIDED_INVESTMENT = "lopsided_investment", "Lopsided investment"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


ACTIVE_STATUSES = [FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED]


# Corporate mailboxes first, then the AI-office mailboxes the US federal inventory names as
# contacts (caio@, hhs.caio@, agency-caio@, ai@, ai.questions@, zzocio-ai@, cdaio@, data@…), none
# so broad that it takes in personal addresses (ai.tanaka@ is a person).
GENERIC_MAILBOX_PATTERNS = "\n".join([
    "info@*", "noreply@*", "no-reply@*", "donotreply@*", "admin@*", "support@*", "helpdesk@*",
    "*-team@*", "team-*@*", "ai-*@*", "data-*@*",
    "caio@*", "*.caio@*", "*-caio@*", "cdaio@*", "ai@*", "ai.questions@*", "*-ai@*", "ocio@*", "data@*",
    "cfa@*", "clearinghouse@*", "bimail@*", "hq-*@*",
])


@lru_cache(maxsize=8)
def _patterns_of(text: str) -> tuple[str, ...]:
    # Cached by the text: the orphaned-ownership scan asks once per owner it judges.
    return tuple(line.strip().lower() for line in text.splitlines() if line.strip())


class Policy(models.Model):
    """The thresholds the scans judge by; one row, edited by the program office.

    What a finding's severity means, whatever its kind (the README's table; each detector's
    docstring has its exact rule):

    | severity | means | for example |
    | --- | --- | --- |
    | critical | harm or waste happening now; rare | a use case in production nobody owns (its business or technical owner missing or gone; for an imported inventory one finding per unit); the same system built and run twice in production (two production members in different units scoring as one system); a stall whose stated cost of delay is at least 100,000; a production decision with a high cost of error whose owner is gone; a production use case worth 1,000,000 a year with no KPI; high-impact AI in production without a minimum practice (neither done nor waived): it decides about people now without a safeguard M-25-21 requires, and the memo says to stop using it until it complies |
    | high | work going on without what it needs | a stall over its limit (time alone stops here); a pilot with no owner or whose owner left; a production use case with no KPI; a pilot or production use case with no stated decision; a shared mailbox owning use cases in production; the same thing built twice (pilot or production), or four or more use cases doing it; high-impact AI in pilot without a minimum practice (people meet it, on a smaller scale); a waiver past its expiry while its practice is still missing |
    | medium | the record is weak | a shared mailbox as owner; one person owning a whole unit (a concentration); a blank contact or stage in an imported inventory; a stall under its limit over; unconfirmed ownership in production; a waiver not reported to OMB within 30 days (a duty missed, nobody harmed by it) |
    | low | a gap in the record | a fact the source format has no field for (one finding per source and unit); a blank description, or a pilot or deployment with no date it began; unconfirmed ownership; a short stall; two proposed duplicates |
    """

    pilot_max_days = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1)],
                                                 help_text="Days in pilot without a stage move before it is stalled.")
    validating_max_days = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)],
                                                      help_text="Days in validating without a stage move before it is stalled.")
    inactivity_days = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)],
                                                  help_text="Days in pilot or validating without any edit, KPI observation or stage move.")
    ownership_confirmation_days = models.PositiveIntegerField(default=180, validators=[MinValueValidator(1)],
                                                              help_text="Owners confirm at least this often.")
    kpi_observation_days = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1)],
                                                       help_text="A use case in production needs a KPI observation at least this often.")
    duplicate_min_similarity = models.FloatField(default=0.3, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
                                                 help_text="The floor of the duplicates scan's score (0–1): no pair below it is a duplicate, and a group's pairs average at least this. Above it a pair counts when it is strong or stands out among each use case's nearest neighbours (rank and margin).")
    value_min_observations = models.PositiveIntegerField(
        default=3, validators=[MinValueValidator(1)],
        help_text="KPI observations in production after which a use case whose KPIs have not moved toward their "
                  "targets is asked for a decision (scale, fix or stop).")
    value_min_production_days = models.PositiveIntegerField(
        default=180, validators=[MinValueValidator(1)],
        help_text="Days in production after which a use case whose observed KPIs have not moved toward their "
                  "targets is asked for a decision, however few its observations.")
    lopsided_spend_share = models.FloatField(
        default=0.6, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="A unit whose spending on the model and infrastructure layers is at least this share (0–1) of "
                  "all its spending is lopsided when its data or orchestration readiness lags.")
    lopsided_readiness_gap = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(3.0)],
        help_text="How far (on the 0 none – 3 ready scale) a unit's mean data or orchestration readiness must lie "
                  "below its mean model and infrastructure readiness to lag.")
    generic_mailbox_patterns = models.TextField(
        default=GENERIC_MAILBOX_PATTERNS,
        help_text="One shell-style pattern a line (e.g. info@*, *-team@*): owner addresses that are a mailbox, not a person.",
    )
    owners_close_own_findings = models.BooleanField(
        default=False,
        help_text="Whether a business owner may resolve or dismiss a finding about a use case or decision they own. "
                  "Off: they may acknowledge or reopen it, and closing it needs the program office (or an assignee "
                  "who does not own what it concerns).")
    updated_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "policy"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="portfolio_policy_single_row"),
            models.CheckConstraint(
                condition=Q(duplicate_min_similarity__gte=0) & Q(duplicate_min_similarity__lte=1),
                name="portfolio_policy_similarity_between_0_and_1",
            ),
        ]

    def __str__(self):
        return "Scan policy"

    @classmethod
    def current(cls) -> "Policy":
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy

    @property
    def mailbox_patterns(self) -> tuple[str, ...]:
        return _patterns_of(self.generic_mailbox_patterns)


class ScanRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kinds = models.JSONField(default=list, help_text="The kinds of finding scanned.")
    as_of = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    opened = models.PositiveIntegerField(default=0)
    still_open = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    digests_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the owners' digest emails of this run had all gone out; blank until then."
    )
    digests_claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker sending this run's digests holds them until then."
    )
    triggered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="scan_runs")
    task_id = models.CharField(max_length=255, blank=True)
    requeues = models.PositiveIntegerField(
        default=0, help_text="How often the sweep handed this run to a worker again: left queued, or left running "
                             "past the lock expiry by a worker that died."
    )
    requeued_at = models.DateTimeField(null=True, blank=True, help_text="When the sweep last handed it to a worker again.")
    attempt = models.PositiveIntegerField(
        default=0, help_text="Counted up each time a worker claims the run: a spread scan's parts and reconcile carry "
                             "it, and those of an earlier attempt, whose lock expired, write nothing."
    )
    lock_renewed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the workers of a spread scan last said they were still at it (a part "
                                         "starting or storing); its lock expires SCAN_LOCK_EXPIRY_SECONDS after this, "
                                         "or after the start while blank."
    )
    audit_head_seq = models.BigIntegerField(
        null=True, blank=True, help_text="The audit log's chain head when the run finished: its position…")
    audit_head_hash = models.CharField(max_length=64, blank=True, help_text="…and its hash, an anchor to keep elsewhere.")

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["queued", "running", "succeeded", "failed"]),
                                   name="portfolio_scanrun_status_valid"),
            # The lock that keeps two scans from overlapping: one running run at a time.
            models.UniqueConstraint(fields=["status"], condition=Q(status="running"), name="portfolio_one_running_scan"),
        ]

    def __str__(self):
        return f"Scan of {', '.join(self.kinds) or 'nothing'} as of {self.as_of} ({self.status})"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class ScanPart(models.Model):
    """What one detector of a scan run spread over workers found, priced, until the run's
    reconcile reads it: one row per (run, kind), replaced whole when a killed worker's part runs
    again, so a redelivered part never doubles a finding. The reconcile deletes the run's parts
    in its own transaction."""

    scan_run = models.ForeignKey(ScanRun, on_delete=models.CASCADE, related_name="parts")
    kind = models.CharField(max_length=40, choices=FindingKind.choices)
    # One compact list per detected finding (portfolio/services/scan_parts.py), not a row each:
    # a part of the duplicates scan at 100,000 use cases holds tens of thousands.
    detected = models.JSONField(default=list)
    stored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scan_run", "kind"], name="portfolio_one_part_per_scan_kind"),
        ]

    def __str__(self):
        return f"{self.kind} part of scan run {self.scan_run_id}"


class Finding(models.Model):
    """Something a scan flagged, with its lifecycle. One row per fingerprint, ever."""

    kind = models.CharField(max_length=40, choices=FindingKind.choices)
    # Unique by a constraint in Meta rather than unique=True: on PostgreSQL that would add a second,
    # LIKE-pattern index on the digest, and the history table two more; a scan writes every one.
    fingerprint = models.CharField(max_length=64, help_text="Identity of what was found, stable across scans.")
    substance = models.CharField(max_length=64, help_text="Digest of what matters; a change reopens a dismissed finding.")
    content_digest = models.CharField(
        max_length=64, blank=True, editable=False,
        help_text="Digest of all the scan wrote (severity, title, detail, price, use cases): unchanged, a scan only moves last_seen.")
    facts_digest = models.CharField(
        max_length=64, blank=True, editable=False,
        help_text="Digest of the facts whose change the history records; a change elsewhere is days counted to a later "
                  "date (Detected.facts).")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(max_length=20, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    title = models.CharField(max_length=300)
    detail = models.JSONField(default=dict, blank=True)
    price = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True,
        help_text="What it costs, in the registry's currency, where the data allow (portfolio/pricing.py): a "
                  "stall's cost of delay so far, a duplicate's duplicated spend, the value at risk or not realised.")
    price_by_layer = models.JSONField(
        null=True, blank=True,
        help_text="The price put on the value-chain layers that cause it (portfolio/pricing.py), as {layer: amount, "
                  "a decimal string}, adding up to the price; blank without a price, or priced before layers were.")
    use_cases = models.ManyToManyField(UseCase, blank=True, related_name="findings")
    decisions = models.ManyToManyField(Decision, blank=True, related_name="findings")
    assignee = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_findings")
    first_seen = models.DateField()
    last_seen = models.DateField()
    status_changed_at = models.DateTimeField(default=timezone.now)
    status_reason = models.TextField(blank=True)
    last_scan = models.ForeignKey(ScanRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped on every write; guards concurrent edits.")
    # A finding's history is read by finding, never by its scan or assignee: indexes there would
    # only slow the scans, which write tens of thousands of history rows.
    history = HistoricalRecords(no_db_index=["assignee", "last_scan"])

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["fingerprint"], name="portfolio_finding_fingerprint_unique"),
            models.CheckConstraint(condition=Q(kind__in=FindingKind.values), name="portfolio_finding_kind_valid"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="portfolio_finding_severity_valid"),
            models.CheckConstraint(condition=Q(status__in=FindingStatus.values), name="portfolio_finding_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=FindingStatus.DISMISSED) | ~Q(status_reason=""),
                name="portfolio_finding_dismissal_has_reason",
            ),
            models.CheckConstraint(condition=Q(first_seen__lte=models.F("last_seen")),
                                   name="portfolio_finding_seen_in_order"),
        ]
        indexes = [models.Index(fields=["kind", "status"]),
                   # The open priced findings "Where value leaks" splits by unit, from the index alone.
                   models.Index(fields=["id", "kind", "price"], name="portfolio_finding_open_priced",
                                condition=Q(price__isnull=False, status__in=ACTIVE_STATUSES)),
                   # The active findings by id with what an owner's home and the use case list
                   # ask of them (how severe, which kind, whose): a few MB read from the index
                   # alone, where the table (a JSON detail a row) is tens of MB at 100,000.
                   models.Index(fields=["id", "severity", "kind", "assignee", "first_seen"],
                                name="portfolio_finding_active", condition=Q(status__in=ACTIVE_STATUSES))]

    def __str__(self):
        return self.title


class FindingEvent(models.Model):
    """One status change of a finding: who (or which scan) and why. Never edited."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=20, choices=FindingStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=FindingStatus.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="finding_events")
    scan_run = models.ForeignKey(ScanRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        # The overview asks what people answered since the last scan: a few rows among the
        # scans' tens of thousands.
        indexes = [models.Index(fields=["occurred_at"], condition=Q(actor__isnull=False),
                                name="portfolio_event_answered_at")]

    def __str__(self):
        return f"{self.from_status or 'new'} → {self.to_status}"


class FindingUnitShare(models.Model):
    """A priced finding's price split evenly among the business units of the use cases it
    concerns, to the cent, half to even: what "Where value leaks" shows by unit. Kept by database
    triggers (migration 0018) in the transaction that links a finding, reprices it or moves one of
    its use cases to another unit, as registry's running totals are (ARCHITECTURE.md)."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="+")
    business_unit = models.ForeignKey("registry.BusinessUnit", on_delete=models.CASCADE, related_name="+")
    share = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["finding", "business_unit"],
                                               name="portfolio_findingunitshare_one_per_unit")]


class ActiveFindingUnit(models.Model):
    """An active finding once per business unit it concerns, with its kind: the units of its use
    cases, or of its decisions when it concerns no use case. What the portfolio page counts by
    kind and unit: reading these narrow rows takes a fifth of the time of joining 80,000 links
    to the findings and their use cases at 100,000 use cases. Kept by database triggers
    (migration 0029) in the transaction that links a finding, changes its status or moves one
    of its use cases or decisions to another unit, as FindingUnitShare is. Derived rows: no
    foreign-key checks and no index beyond the unique pair, each of which a first scan would pay
    for 50,000 rows (their triggers delete them with what they derive from)."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="+", db_constraint=False,
                                db_index=False)
    business_unit = models.ForeignKey("registry.BusinessUnit", on_delete=models.CASCADE, related_name="+",
                                      db_constraint=False, db_index=False)
    kind = models.CharField(max_length=40, choices=FindingKind.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["finding", "business_unit"],
                                               name="portfolio_activefindingunit_one_per_unit")]


class UrgentUseCase(models.Model):
    """A use case with an active critical or high finding, or an active stall: with those whose
    decision is still to state, what its owner's home puts first. Sorting an owner's thousands of
    use cases reads these ids rather than seeking each one's findings through the links. Kept by
    database triggers (migration 0030) in the transaction that links a finding or changes its
    status or severity, as ActiveFindingUnit is, and as derived rows without a foreign-key check."""

    use_case = models.OneToOneField("registry.UseCase", primary_key=True, on_delete=models.CASCADE, related_name="+",
                                    db_constraint=False)


class DigestDelivery(models.Model):
    """A digest email of a scan run that went out: a retried or replaced sender skips it."""

    class Audience(models.TextChoices):
        OWNER = "owner", "Owner"
        PROGRAM_OFFICE = "program_office", "Program office"

    scan_run = models.ForeignKey(ScanRun, on_delete=models.CASCADE, related_name="digest_deliveries")
    audience = models.CharField(max_length=20, choices=Audience.choices)
    email = models.EmailField(max_length=254)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "digest deliveries"
        constraints = [
            models.UniqueConstraint(fields=["scan_run", "audience", "email"], name="portfolio_digest_once_per_recipient"),
        ]

    def __str__(self):
        return f"Digest of run {self.scan_run_id} to {self.email}"


class UseCaseEmbedding(models.Model):
    """A use case's text as a sentence embedding, for the duplicates scan's semantic signal.

    Written by `portfolio.embeddings.refresh` when the use case's version or the model changes,
    so a scan embeds only what changed. The vector is float16, L2-normalised.
    """

    use_case = models.OneToOneField(UseCase, primary_key=True, on_delete=models.CASCADE, related_name="embedding")
    model_id = models.CharField(max_length=100, help_text="The model that made the vector; another model re-embeds.")
    use_case_version = models.PositiveIntegerField(help_text="The use case's version when embedded.")
    text_digest = models.CharField(max_length=64, help_text="SHA-256 of the embedded text: a write that left it alone re-embeds nothing.")
    vector = models.BinaryField()
    embedded_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"embedding of use case {self.use_case_id}"
