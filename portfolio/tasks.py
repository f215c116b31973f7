"""Celery tasks: thin, idempotent, safe to run twice or to kill half way.

A task's ScanRun is found again by the task id on redelivery, so a killed worker's scan is
taken over, not started a second time; a finished run is never run again.
"""

from __future__ import annotations

import datetime
import smtplib

from celery import shared_task
from celery.exceptions import Retry
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as KombuOperationalError

from .services.digests import send_pending_digests, send_scan_digests
from .models import FindingKind, ScanRun
from .services.scans import ALL_KINDS, ScanAlreadyRunning, execute_scan, queue_scan

FINISHED = (ScanRun.Status.SUCCEEDED,)
RETRY_ON = (OperationalError, InterfaceError)
TASK_OPTIONS = dict(
    bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=RETRY_ON,
    retry_backoff=5, retry_backoff_max=300, retry_jitter=True, max_retries=5,
)
# How long a scan waits for another one to finish before trying again.
WAIT_FOR_RUNNING_SCAN_SECONDS = 60


def _execute(task, scan_run: ScanRun) -> int:
    if scan_run.status in FINISHED:
        return scan_run.pk
    try:
        execute_scan(scan_run)
    except ScanAlreadyRunning as exc:
        raise task.retry(exc=exc, countdown=WAIT_FOR_RUNNING_SCAN_SECONDS, max_retries=30) from None
    return scan_run.pk


def _run_kinds(task, kinds: list[str], as_of: str | None) -> int:
    scan_run = ScanRun.objects.filter(task_id=task.request.id).first() if task.request.id else None
    if scan_run is None:
        scan_run = queue_scan(kinds=kinds, as_of=datetime.date.fromisoformat(as_of) if as_of else None,
                              task_id=task.request.id or "")
    return _execute(task, scan_run)


@shared_task(**TASK_OPTIONS)
def run_queued_scan(self, scan_run_id: int) -> int:
    """Run a scan someone queued (admin, API): the ScanRun already exists."""
    return _execute(self, ScanRun.objects.get(pk=scan_run_id))


@shared_task(**TASK_OPTIONS)
def scan_all(self, as_of: str | None = None) -> int:
    """Every detector, as of `as_of` (ISO date) or today: the nightly scan."""
    return _run_kinds(self, ALL_KINDS, as_of)


@shared_task(**TASK_OPTIONS)
def scan_stalled_pilots(self, as_of: str | None = None) -> int:
    return _run_kinds(self, [FindingKind.STALLED_PILOT], as_of)


@shared_task(**TASK_OPTIONS)
def scan_duplicate_capabilities(self, as_of: str | None = None) -> int:
    return _run_kinds(self, [FindingKind.DUPLICATE_CAPABILITY], as_of)


@shared_task(**TASK_OPTIONS)
def scan_orphaned_ownership(self, as_of: str | None = None) -> int:
    return _run_kinds(self, [FindingKind.ORPHANED_OWNERSHIP], as_of)


@shared_task(**TASK_OPTIONS)
def scan_broken_feedback_loops(self, as_of: str | None = None) -> int:
    return _run_kinds(self, [FindingKind.BROKEN_FEEDBACK_LOOP], as_of)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(*RETRY_ON, smtplib.SMTPException, OSError),
             retry_backoff=30, retry_backoff_max=1800, retry_jitter=True, max_retries=8)
def send_scan_digests_task(self, scan_run_id: int) -> int:
    """Mail the owners' digests of a finished scan (queued by the scan once it has committed)."""
    return send_scan_digests(ScanRun.objects.get(pk=scan_run_id))


@shared_task
def send_pending_digests_task() -> list[int]:
    """Hand the digests that did not all go out (a sender died, or its retries ran out) to a
    worker again; beat runs it every few minutes."""
    pending = send_pending_digests()
    for scan_run_id in pending:
        send_scan_digests_task.apply_async(args=[scan_run_id], ignore_result=True)
    return pending


class BrokerUnavailable(Exception):
    """The scan was recorded but no worker can be told to run it."""


def start_scan(*, kinds: list[str] | None = None, as_of: datetime.date | None = None, actor=None) -> ScanRun:
    """Queue a scan for a worker (admin, API); raises BrokerUnavailable when Redis is down."""
    scan_run = queue_scan(kinds=kinds, as_of=as_of, actor=actor)
    try:
        # The ScanRun is the record, so nobody waits on the task's result: without
        # ignore_result, sending first subscribes to the result store, which with Redis down
        # retries for ~20 s and then raises RuntimeError instead of the broker's error.
        result = run_queued_scan.apply_async(args=[scan_run.pk], retry=False, ignore_result=True)
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
