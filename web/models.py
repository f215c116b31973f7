"""An import uploaded through the pages: the file, its dry-run report and its progress."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ImportJob(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Waiting to be checked"
        CHECKING = "checking", "Checking"
        INVALID = "invalid", "Has errors"
        CHECKED = "checked", "Checked, ready to import"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        USE_CASES = "use_cases", "Use cases (the inventory)"
        INVESTMENTS = "investments", "Investment per layer and period"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.USE_CASES,
                            help_text="What the file holds, and so which import reads it.")
    filename = models.CharField(max_length=255)
    content = models.BinaryField(help_text="The uploaded file, kept until it is imported.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices)
    rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0, help_text="Rows read so far by the running check or import.")
    phase = models.CharField(max_length=100, blank=True)
    errors = models.JSONField(default=list, blank=True, help_text="Every problem, as 'row N, column C: message'.")
    summary = models.TextField(blank=True)
    changes = models.JSONField(
        default=list, blank=True,
        help_text="What the dry run found each updated row would change: {row, key, fields: [[field, old, new]]}.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["uploaded", "checking", "invalid", "checked", "queued", "running", "done", "failed"]),
                name="web_importjob_status_valid",
            ),
            models.CheckConstraint(condition=Q(rows_done__lte=models.F("rows")), name="web_importjob_progress_in_range"),
            models.CheckConstraint(condition=Q(kind__in=["use_cases", "investments"]), name="web_importjob_kind_valid"),
        ]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.rows_done / self.rows) if self.rows else 0

    @property
    def in_progress(self) -> bool:
        return self.status in (self.Status.UPLOADED, self.Status.CHECKING, self.Status.QUEUED, self.Status.RUNNING)
