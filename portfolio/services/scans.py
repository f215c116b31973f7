"""Running scans: one code path for the `scan` command, the Celery tasks, the admin and the API.

Two scans never overlap: a database constraint allows one running ScanRun at a time, and a
run that has been "running" longer than SCAN_LOCK_EXPIRY is taken to belong to a dead
worker and is failed, which frees the lock. A redelivered task takes over its own run, and
a finished run is never run again.

The Celery tasks (portfolio/tasks.py) call these services, so this module never imports
them: it hands work to a task by its registered name (core.workers.task_named).
"""

from __future__ import annotations

import datetime
import importlib
import logging
from collections.abc import Callable

from celery.exceptions import Retry
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from core.actors import acting_user
from core.errors import Conflict, InvalidInput, NotAllowed, Refused, Unavailable
from core.workers import hand_to_worker, task_named

from ..access import can_run_scans
from ..models import FindingKind, Policy, ScanRun
from .findings import reconcile

logger = logging.getLogger(__name__)

# The tasks this service hands work to, by their registered names (see the module docstring).
RUN_QUEUED_SCAN_TASK = "portfolio.tasks.run_queued_scan"
SEND_DIGESTS_TASK = "portfolio.tasks.send_scan_digests_task"

# Detectors by dotted path, imported when a scan needs them: the duplicate detector pulls in
# SciPy, which pages and commands that never scan should not pay for.
DETECTORS: dict[str, str] = {
    FindingKind.STALLED_PILOT: "portfolio.detectors.stalled_pilots",
    FindingKind.DUPLICATE_CAPABILITY: "portfolio.detectors.duplicates",
    FindingKind.ORPHANED_OWNERSHIP: "portfolio.detectors.orphaned_ownership",
    FindingKind.BROKEN_FEEDBACK_LOOP: "portfolio.detectors.feedback_loops",
    FindingKind.MISSING_DECISION: "portfolio.detectors.missing_decision",
    FindingKind.INVENTORY_COMPLETENESS: "portfolio.detectors.inventory_completeness",
}
ALL_KINDS = list(DETECTORS)


def detector(kind: str) -> Callable:
    return importlib.import_module(DETECTORS[kind]).detect


class ScanAlreadyRunning(Conflict):
    """Another scan holds the lock; `running` is that run."""

    def __init__(self, running: ScanRun):
        self.running = running
        super().__init__(
            f"Another scan (run {running.pk}, started {running.started_at:%Y-%m-%d %H:%M:%S %Z}) is still running; "
            "try again when it has finished."
        )


def unknown_kinds(kinds: list[str]) -> list[str]:
    return [kind for kind in kinds if kind not in DETECTORS]


def queue_scan(
    *, kinds: list[str] | None = None, as_of: datetime.date | None = None, actor, task_id: str = ""
) -> ScanRun:
    """Record a scan to be run, as `actor` (the program office, or the system acting as it);
    the caller hands its id to a worker or runs it at once."""
    if not can_run_scans(actor):
        raise NotAllowed("Only the program office runs scans.")
    kinds = kinds or ALL_KINDS
    if unknown := unknown_kinds(kinds):
        raise InvalidInput(f"Unknown scan kind: {', '.join(unknown)}. Known: {', '.join(ALL_KINDS)}.", field="kinds")
    return ScanRun.objects.create(
        kinds=list(dict.fromkeys(kinds)), as_of=as_of or timezone.localdate(),
        triggered_by=acting_user(actor), task_id=task_id,
    )


def _expire_abandoned_runs() -> None:
    expiry = timezone.now() - datetime.timedelta(seconds=settings.SCAN_LOCK_EXPIRY_SECONDS)
    ScanRun.objects.filter(status=ScanRun.Status.RUNNING, started_at__lt=expiry).update(
        status=ScanRun.Status.FAILED, finished_at=timezone.now(),
        error="Abandoned: still running after the lock expiry, so its worker presumably died.",
    )


def _claim(scan_run: ScanRun) -> None:
    """Mark `scan_run` running, or raise ScanAlreadyRunning if another one is."""
    _expire_abandoned_runs()
    try:
        with transaction.atomic():
            # A failed run may be claimed again by its own retried or redelivered task; a running
            # one only once the lock has expired (above), or one delivery would overlap another.
            claimed = ScanRun.objects.filter(
                pk=scan_run.pk, status__in=[ScanRun.Status.QUEUED, ScanRun.Status.FAILED]
            ).update(
                status=ScanRun.Status.RUNNING, started_at=timezone.now(), finished_at=None, error=""
            )
    except IntegrityError:
        running = ScanRun.objects.filter(status=ScanRun.Status.RUNNING).exclude(pk=scan_run.pk).first()
        raise ScanAlreadyRunning(running or scan_run) from None
    if not claimed:
        scan_run.refresh_from_db()
        if scan_run.status == ScanRun.Status.RUNNING:
            raise ScanAlreadyRunning(scan_run)
        raise Refused(f"Scan run {scan_run.pk} has already succeeded.")
    scan_run.refresh_from_db()


def execute_scan(scan_run: ScanRun) -> ScanRun:
    """Run the detectors of `scan_run` and reconcile their findings in one transaction."""
    _claim(scan_run)
    policy = Policy.current()
    try:
        detected = []
        for kind in scan_run.kinds:
            detected.extend(detector(kind)(as_of=scan_run.as_of, policy=policy))
        result = reconcile(kinds=scan_run.kinds, detected=detected, as_of=scan_run.as_of, scan_run=scan_run)
    except Exception as exc:
        ScanRun.objects.filter(pk=scan_run.pk).update(
            status=ScanRun.Status.FAILED, finished_at=timezone.now(), error=f"{exc.__class__.__name__}: {exc}"
        )
        raise
    scan_run.opened = len(result.opened) + len(result.reopened)
    scan_run.still_open, scan_run.resolved, scan_run.reopened = result.still_open, result.resolved, len(result.reopened)
    scan_run.status, scan_run.finished_at = ScanRun.Status.SUCCEEDED, timezone.now()
    scan_run.save(update_fields=["opened", "still_open", "resolved", "reopened", "status", "finished_at"])
    if scan_run.opened:
        _queue_digests(scan_run)
    return scan_run


def _queue_digests(scan_run: ScanRun) -> None:
    """Hand the run's digests to a worker; with no broker configured or reachable, send them here."""
    try:
        hand_to_worker(task_named(SEND_DIGESTS_TASK), scan_run.pk)
    except Exception:
        # The findings are written and the scan succeeded; the run says the mail failed, and
        # the pending-digests sweep tries again.
        logger.exception("The digests of scan run %s could not be sent", scan_run.pk)
    scan_run.refresh_from_db(fields=["error", "digests_sent_at"])


def run_scan_now(*, kinds: list[str] | None = None, as_of: datetime.date | None = None, actor) -> ScanRun:
    """Queue and run a scan in this process (the `scan` command), as `actor`."""
    scan_run = queue_scan(kinds=kinds, as_of=as_of, actor=actor)
    try:
        return execute_scan(scan_run)
    except ScanAlreadyRunning as exc:
        # Nobody will run this one later (unlike a task, which retries): do not leave it queued.
        ScanRun.objects.filter(pk=scan_run.pk, status=ScanRun.Status.QUEUED).update(
            status=ScanRun.Status.FAILED, finished_at=timezone.now(), error=f"Not started: {exc}"
        )
        raise


def run_queued_scan(scan_run_id: int) -> ScanRun:
    """Run a scan someone queued (admin, API), unless it has already succeeded: a task
    delivered twice runs it once."""
    scan_run = ScanRun.objects.get(pk=scan_run_id)
    if scan_run.status == ScanRun.Status.SUCCEEDED:
        return scan_run
    return execute_scan(scan_run)


def run_scan_of_task(*, task_id: str, kinds: list[str] | None = None, as_of: datetime.date | None = None,
                     actor) -> ScanRun:
    """The scan of Celery task `task_id` (the nightly scan), queued as `actor`: a redelivered
    task finds its run again by the task id and takes it over, or leaves it alone if it has
    succeeded."""
    scan_run = ScanRun.objects.filter(task_id=task_id).first() if task_id else None
    if scan_run is None:
        scan_run = queue_scan(kinds=kinds, as_of=as_of, actor=actor, task_id=task_id)
    if scan_run.status == ScanRun.Status.SUCCEEDED:
        return scan_run
    return execute_scan(scan_run)


class BrokerUnavailable(Unavailable):
    """The scan was recorded but no worker can be told to run it."""


def start_scan(*, kinds: list[str] | None = None, as_of: datetime.date | None = None, actor) -> ScanRun:
    """Queue a scan for a worker (admin, API), as `actor`; raises BrokerUnavailable when Redis is down."""
    scan_run = queue_scan(kinds=kinds, as_of=as_of, actor=actor)
    try:
        # The ScanRun is the record, so nobody waits on the task's result: without
        # ignore_result, sending first subscribes to the result store, which with Redis down
        # retries for ~20 s and then raises RuntimeError instead of the broker's error.
        result = task_named(RUN_QUEUED_SCAN_TASK).apply_async(args=[scan_run.pk], retry=False, ignore_result=True)
    except Retry as retry:
        # Run in process (no broker): a scan already running cannot be waited for here.
        ScanRun.objects.filter(pk=scan_run.pk).update(status=ScanRun.Status.FAILED, error=f"Not started: {retry.exc}")
        if isinstance(retry.exc, ScanAlreadyRunning):
            raise retry.exc from None
        raise
    except (KombuOperationalError, OSError) as exc:
        ScanRun.objects.filter(pk=scan_run.pk).update(
            status=ScanRun.Status.FAILED, error=f"Not started: the task broker cannot be reached ({exc})."
        )
        raise BrokerUnavailable(
            "The scan could not be started: the task broker (Redis) cannot be reached. "
            "Registry edits still work; try again when the broker is back, or run `manage.py scan`."
        ) from exc
    ScanRun.objects.filter(pk=scan_run.pk).exclude(task_id=result.id).update(task_id=result.id)
    scan_run.refresh_from_db()
    return scan_run
