"""Celery tasks: thin, idempotent, safe to run twice or to kill half way. Each takes ids and
calls one service; the services (portfolio/services/) hold the rules.

A task's ScanRun is found again by the task id on redelivery, so a killed worker's scan is
taken over, not started a second time; a finished run is never run again. Beat's sweep
(requeue_stuck_scans_task) hands to a worker again the runs nobody is running.
"""

from __future__ import annotations

import datetime
import smtplib
from contextlib import contextmanager

from celery import shared_task
from django.db import InterfaceError, OperationalError

from core.actors import SCHEDULER
from registry import audit

from . import embeddings
from .models import ScanRun
from .services.digests import hand_pending_digests_to_workers, send_scan_digests
from .services.scans import (
    ScanAlreadyRunning, fail_scan_run, finish_spread_scan as finish_spread, requeue_stuck_scans,
    run_queued_scan as run_queued, run_scan_of_task, run_scan_part,
)

RETRY_ON = (OperationalError, InterfaceError)
TASK_OPTIONS = dict(
    bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=RETRY_ON,
    retry_backoff=5, retry_backoff_max=300, retry_jitter=True,
    # A database error is retried five times (retry_kwargs); waiting for a running scan has
    # no cap (below), so the task has none of its own.
    max_retries=None, retry_kwargs={"max_retries": 5},
)


@contextmanager
def _waiting_for_a_running_scan(task):
    """Another scan is running: the task tries again later rather than overlapping it, when
    the service says (every minute, or as the other's lock expires), for as long as the lock
    is held: no fixed number of retries can run out before a long lock expires."""
    try:
        yield
    except ScanAlreadyRunning as exc:
        raise task.retry(exc=exc, countdown=exc.recheck_in()) from None


@shared_task(**TASK_OPTIONS)
def run_queued_scan(self, scan_run_id: int) -> int:
    """Run a scan someone queued (admin, API): the ScanRun already exists."""
    with _waiting_for_a_running_scan(self):
        return run_queued(scan_run_id).pk


@shared_task(**TASK_OPTIONS)
def scan_all(self, as_of: str | None = None) -> int:
    """Every detector, as of `as_of` (ISO date) or today: the nightly scan."""
    with _waiting_for_a_running_scan(self):
        return run_scan_of_task(
            task_id=self.request.id or "", as_of=datetime.date.fromisoformat(as_of) if as_of else None,
            actor=SCHEDULER,
        ).pk


@shared_task(**TASK_OPTIONS)
def scan_part(self, scan_run_id: int, kind: str, attempt: int) -> int:
    """One detector's part of a scan spread over the workers: its findings stored for the run's
    attempt `attempt`."""
    return run_scan_part(scan_run_id, kind, attempt)


@shared_task(**TASK_OPTIONS)
def finish_spread_scan(self, scan_run_id: int, attempt: int) -> int:
    """The chord's callback, once every part is stored: reconcile them and send the digests."""
    return finish_spread(scan_run_id, attempt).pk


@shared_task
def fail_spread_scan(request, exc, traceback, *, scan_run_id: int, attempt: int) -> None:
    """The chord's error callback: a part (or the reconcile) failed for good, after its own
    retries, so the run's attempt fails with that error and frees the lock."""
    fail_scan_run(scan_run_id, attempt=attempt, error=f"{exc.__class__.__name__}: {exc}")


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(*RETRY_ON, smtplib.SMTPException, OSError),
             retry_backoff=30, retry_backoff_max=1800, retry_jitter=True, max_retries=8)
def send_scan_digests_task(self, scan_run_id: int) -> int:
    """Mail the owners' digests of a finished scan (queued by the scan once it has committed)."""
    return send_scan_digests(ScanRun.objects.get(pk=scan_run_id))


@shared_task
def requeue_stuck_scans_task() -> list[int]:
    """Hand to a worker again the scan runs left queued, or left running by a worker that
    died, past the lock expiry; beat runs it every few minutes."""
    return requeue_stuck_scans(actor=SCHEDULER)


@shared_task
def send_pending_digests_task() -> list[int]:
    """Hand the digests that did not all go out (a sender died, or its retries ran out) to a
    worker again; beat runs it every few minutes."""
    return hand_pending_digests_to_workers()


@shared_task
def seal_audit_log_task() -> int:
    """Seal the audit log's entries written since the last seal into its hash chain; beat runs
    it every few minutes, so an entry is covered by the chain soon, not only at the next scan."""
    return audit.seal().seq


@shared_task(**TASK_OPTIONS)
def embed_use_cases_task(self, use_case_ids: list[int]) -> int:
    """Embed the use cases whose texts were written (those still stale: a redelivery, or a scan
    that got there first, costs a query)."""
    return embeddings.refresh(use_case_ids)
