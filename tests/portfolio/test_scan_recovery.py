"""Scans that must not be lost: a start racing a scan that finishes at the worst moment, a
redelivered scan waiting for its own dead run's lock however long the lock lasts, a scan handed
over while it still runs, and one whose worker dies right after its commit.

Run in the test process; the sweep that hands runs nobody is running to a worker again is in
test_scan_sweep.py, and real workers killed half way are in tests/e2e/test_celery.py.
"""

from __future__ import annotations

import datetime

import pytest
from celery.exceptions import Retry
from django.db import IntegrityError, connection
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

import portfolio.services.scans
from portfolio.models import DigestDelivery, Finding, FindingEvent, ScanRun
from portfolio.services.scans import ALL_KINDS, ScanAlreadyRunning
from portfolio.tasks import run_queued_scan, scan_all
from registry.models import AuditEntry
from tests.portfolio.test_scan_tasks import AS_OF, left_owner_use_case, running_run

SCAN_RUNS = ScanRun._meta.db_table
# How often a scan waiting for another one looks again, at most.
A_MINUTE = 60


@pytest.fixture
def scans_run(monkeypatch) -> list[int]:
    """The runs whose findings were reconciled, once per scan that ran to its end (not the
    attempts refused by the lock)."""
    ran = []
    real = portfolio.services.scans._reconcile_and_record

    def counting(scan_run, found_by_kind):
        ran.append(scan_run.pk)
        return real(scan_run, found_by_kind)

    monkeypatch.setattr(portfolio.services.scans, "_reconcile_and_record", counting)
    return ran


def queued_run(*, queued_ago: datetime.timedelta = datetime.timedelta(0), **fields) -> ScanRun:
    """A run as start_scan leaves it for a worker."""
    return ScanRun.objects.create(kinds=list(ALL_KINDS), as_of=AS_OF, queued_at=timezone.now() - queued_ago, **fields)


# 1. A start racing a scan that finishes --------------------------------------------------------


class CompetitorFinishesAfterTheLockError:
    """A database hook forcing the interleaving of two racing starts: right after our claim
    hits the one-running-scan constraint, and before we read the scan runs again, the
    competing run finishes (as if its worker committed at that very moment)."""

    def __init__(self, competitor: ScanRun):
        self.competitor = competitor
        self.lock_error = False
        self.fired = False

    def __call__(self, execute, sql, params, many, context):
        if self.lock_error and not self.fired and sql.lstrip().upper().startswith("SELECT") and SCAN_RUNS in sql:
            self.fired = True
            execute(f'UPDATE "{SCAN_RUNS}" SET "status" = %s, "finished_at" = %s WHERE "id" = %s',
                    [ScanRun.Status.SUCCEEDED, timezone.now(), self.competitor.pk], False, context)
        try:
            return execute(sql, params, many, context)
        except IntegrityError:
            if sql.lstrip().upper().startswith("UPDATE") and SCAN_RUNS in sql:
                self.lock_error = True
            raise


@pytest.mark.django_db
def test_a_queued_scan_whose_competitor_finishes_between_the_lock_error_and_the_lookup_still_runs(scans_run):
    left_owner_use_case("FIN-001", "Early payment optimiser")
    competitor = running_run()
    mine = queued_run()

    race = CompetitorFinishesAfterTheLockError(competitor)
    with connection.execute_wrapper(race):
        result = run_queued_scan.apply(args=[mine.pk])

    assert race.lock_error and race.fired, "the interleaving was not forced"
    assert result.successful() and result.result == mine.pk
    mine.refresh_from_db()
    assert mine.status == ScanRun.Status.SUCCEEDED and mine.opened >= 1
    assert scans_run == [mine.pk]
    assert ScanRun.objects.get(pk=competitor.pk).status == ScanRun.Status.SUCCEEDED


@pytest.mark.django_db
def test_the_already_running_message_never_fails_on_a_run_that_has_not_started():
    refused = ScanAlreadyRunning(queued_run())

    assert "Another scan" in str(refused) and "is still running" in str(refused)


# 2. Waiting for a run's lock, however long the lock lasts ---------------------------------------


def retry_countdown(task, **apply_options) -> float:
    """Run `task` in process and return the countdown of the retry it asks for."""
    with pytest.raises(Retry) as retry:
        task.apply(**apply_options)
    return retry.value.when


def wait_like_a_worker(task, *, task_kwargs: dict, task_id: str, dead: ScanRun):
    """Deliver `task` the way a worker does, again after each retry's countdown, with time
    passing for the dead run's lock meanwhile; returns the last result, the seconds waited
    and the retries."""
    waited, retries = 0.0, 0
    while True:
        try:
            result = task.apply(kwargs=task_kwargs, task_id=task_id, retries=retries)
        except Retry as retry:
            countdown = retry.when
        else:
            return result, waited, retries
        assert 0 < countdown <= A_MINUTE + 1
        waited += countdown
        retries += 1
        # The countdown passes: the dead run's lock is that much older.
        ScanRun.objects.filter(pk=dead.pk).update(started_at=F("started_at") - datetime.timedelta(seconds=countdown))


@pytest.mark.django_db
# Six hours of a lock take a few seconds of retries to simulate: slow.
@pytest.mark.parametrize("expiry_seconds", [600, 1800, 2 * 3600, pytest.param(6 * 3600, marks=pytest.mark.slow)])
def test_a_redelivered_scan_waits_for_its_own_dead_run_exactly_as_long_as_the_lock_lasts(expiry_seconds, scans_run):
    left_owner_use_case("FIN-001", "Early payment optimiser")
    with override_settings(SCAN_LOCK_EXPIRY_SECONDS=expiry_seconds):
        # Its worker died a moment ago, half way: the run is "running", and the task is
        # redelivered at once (a pool process killed: reject_on_worker_lost).
        dead = running_run(task_id="redelivered-id")

        result, waited, retries = wait_like_a_worker(
            scan_all, task_kwargs={"as_of": AS_OF.isoformat()}, task_id="redelivered-id", dead=dead,
        )

    assert result.successful() and result.result == dead.pk
    died_at = dead.started_at
    dead.refresh_from_db()
    # Never before the lock expired (the "dead" worker might have been alive), and as soon
    # as it did: the wait follows the lock expiry, however long, and never runs out first.
    lock_age_at_takeover = (dead.started_at - died_at).total_seconds() + waited
    assert expiry_seconds <= lock_age_at_takeover <= expiry_seconds + 3
    assert retries >= expiry_seconds // A_MINUTE
    assert dead.status == ScanRun.Status.SUCCEEDED and dead.opened >= 1 and dead.error == ""
    assert ScanRun.objects.count() == 1 and scans_run == [dead.pk]


@pytest.mark.django_db
@override_settings(SCAN_LOCK_EXPIRY_SECONDS=4 * 3600)
def test_a_scan_waiting_behind_a_live_one_rechecks_every_minute_and_runs_once_it_finished(scans_run):
    left_owner_use_case("FIN-001", "Early payment optimiser")
    live = running_run()
    mine = queued_run()

    assert retry_countdown(run_queued_scan, args=[mine.pk]) == A_MINUTE
    assert ScanRun.objects.get(pk=mine.pk).status == ScanRun.Status.QUEUED

    ScanRun.objects.filter(pk=live.pk).update(status=ScanRun.Status.SUCCEEDED, finished_at=timezone.now())
    again = run_queued_scan.apply(args=[mine.pk], retries=1)

    assert again.successful() and scans_run == [mine.pk]
    assert ScanRun.objects.get(pk=mine.pk).status == ScanRun.Status.SUCCEEDED


# 3. A scan that outlives its worker's hold on it -----------------------------------------------


class KilledHere(Exception):
    """Where a test's worker dies: nothing after it runs."""


@pytest.mark.django_db
def test_a_scan_handed_over_while_it_detected_writes_nothing_and_leaves_the_run_to_its_new_worker(monkeypatch):
    left_owner_use_case("FIN-001", "Early payment optimiser")
    run = queued_run()
    real = portfolio.services.scans.detect_and_price

    def handed_over_meanwhile(kind, **arguments):
        if kind == ALL_KINDS[-1]:
            # The run outlived its lock: the sweep re-queued it and another worker claimed it.
            ScanRun.objects.filter(pk=run.pk).update(attempt=F("attempt") + 1)
        return real(kind, **arguments)

    monkeypatch.setattr(portfolio.services.scans, "detect_and_price", handed_over_meanwhile)
    late = run_queued_scan.apply(args=[run.pk])

    assert late.successful()
    run.refresh_from_db()
    assert (run.status, run.attempt) == (ScanRun.Status.RUNNING, 2), "left to the new attempt"
    assert not Finding.objects.exists() and not FindingEvent.objects.exists()
    assert not AuditEntry.objects.filter(kind="scan", subject_id=run.pk).exists()


@pytest.mark.django_db
def test_a_scan_killed_right_after_its_commit_is_in_the_audit_log_and_anchored_and_mailed_when_delivered_again(
    monkeypatch, mailoutbox, program_office_user
):
    left_owner_use_case("FIN-001", "Early payment optimiser")  # the program office is mailed about it
    run = queued_run()
    real = portfolio.services.scans._after_success

    def killed(scan_run):
        raise KilledHere

    monkeypatch.setattr(portfolio.services.scans, "_after_success", killed)
    with pytest.raises(KilledHere):
        run_queued_scan.apply(args=[run.pk], throw=True)
    run.refresh_from_db()
    entries = AuditEntry.objects.filter(kind="scan", subject_type="scan", subject_id=run.pk)

    assert run.status == ScanRun.Status.SUCCEEDED and run.opened > 0
    assert entries.count() == 1, "the run's entry is committed with its findings"
    assert run.audit_head_seq is None and not mailoutbox

    monkeypatch.setattr(portfolio.services.scans, "_after_success", real)
    assert run_queued_scan.apply(args=[run.pk]).successful()
    assert run_queued_scan.apply(args=[run.pk]).successful()
    run.refresh_from_db()

    assert entries.count() == 1
    assert run.audit_head_seq is not None and run.digests_sent_at is not None
    assert len(mailoutbox) == DigestDelivery.objects.filter(scan_run=run).count() > 0, "mailed once"
