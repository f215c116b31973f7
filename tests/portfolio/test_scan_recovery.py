"""Scans that must not be lost: a start racing a scan that finishes at the worst moment.

Run in the test process; real workers are in tests/e2e/test_celery.py.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

import portfolio.services.scans
from portfolio.models import ScanRun
from portfolio.services.scans import ALL_KINDS, ScanAlreadyRunning
from portfolio.tasks import run_queued_scan
from tests.portfolio.test_scan_tasks import AS_OF, left_owner_use_case, running_run

SCAN_RUNS = ScanRun._meta.db_table


@pytest.fixture
def scans_run(monkeypatch) -> list[int]:
    """The runs whose findings were reconciled, once per scan that ran to its end (not the
    attempts refused by the lock)."""
    ran = []
    real = portfolio.services.scans.reconcile

    def counting(**kwargs):
        ran.append(kwargs["scan_run"].pk)
        return real(**kwargs)

    monkeypatch.setattr(portfolio.services.scans, "reconcile", counting)
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
