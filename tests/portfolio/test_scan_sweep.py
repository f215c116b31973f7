"""The sweep that hands to a worker again the scan runs nobody is running: left queued (a
start whose task was lost), or left running past the lock by a worker that died. Beat runs it
every few minutes, as the scheduler.

Real workers killed half way, and the sweep recovering their scan, are in
tests/e2e/test_celery.py.
"""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from core.actors import COMMAND, SCHEDULER
from core.errors import NotAllowed
from portfolio.models import FindingEvent, ScanRun
from portfolio.services import scans
from portfolio.services.scans import requeue_stuck_scans
from portfolio.tasks import requeue_stuck_scans_task, run_queued_scan, scan_all
from tests.factories import UserFactory
from tests.portfolio.test_scan_recovery import queued_run, scans_run  # noqa: F401 - a fixture
from tests.portfolio.test_scan_tasks import AS_OF, left_owner_use_case, running_run


@pytest.mark.django_db
@override_settings(SCAN_LOCK_EXPIRY_SECONDS=600)
def test_the_sweep_requeues_a_run_left_queued_past_its_lock_and_it_runs_once(scans_run):
    left_owner_use_case("FIN-001", "Early payment optimiser")
    lost = queued_run(queued_ago=datetime.timedelta(seconds=601))

    assert requeue_stuck_scans_task.apply().result == [lost.pk]

    lost.refresh_from_db()
    assert lost.status == ScanRun.Status.SUCCEEDED and lost.opened >= 1
    assert lost.requeues == 1 and lost.requeued_at is not None
    assert scans_run == [lost.pk]
    # Idempotent: nothing is left for the next sweep, and the run is never run again.
    events = FindingEvent.objects.count()
    assert requeue_stuck_scans(actor=SCHEDULER) == []
    assert run_queued_scan.apply(args=[lost.pk]).successful()
    assert scans_run == [lost.pk] and FindingEvent.objects.count() == events


@pytest.mark.django_db
@override_settings(SCAN_LOCK_EXPIRY_SECONDS=600)
def test_the_sweep_requeues_a_run_left_running_past_its_lock_by_a_dead_worker(scans_run):
    left_owner_use_case("FIN-001", "Early payment optimiser")
    dead = running_run(started_ago=datetime.timedelta(seconds=601), task_id="nightly-id")

    assert requeue_stuck_scans(actor=SCHEDULER) == [dead.pk]

    dead.refresh_from_db()
    assert dead.status == ScanRun.Status.SUCCEEDED and dead.requeues == 1
    assert scans_run == [dead.pk] and ScanRun.objects.count() == 1
    # Its own message, redelivered later, finds it done.
    assert scan_all.apply(kwargs={"as_of": AS_OF.isoformat()}, task_id="nightly-id").result == dead.pk
    assert scans_run == [dead.pk]


@pytest.mark.django_db
@override_settings(SCAN_LOCK_EXPIRY_SECONDS=600)
def test_the_sweep_leaves_alone_what_is_within_its_lock_or_finished():
    running_run(started_ago=datetime.timedelta(seconds=590))
    queued_run(queued_ago=datetime.timedelta(seconds=590))
    queued_run(queued_ago=datetime.timedelta(days=3), status=ScanRun.Status.SUCCEEDED)
    queued_run(queued_ago=datetime.timedelta(days=3), status=ScanRun.Status.FAILED, error="Not started: …")
    before = list(ScanRun.objects.values())

    assert requeue_stuck_scans(actor=SCHEDULER) == []
    assert list(ScanRun.objects.values()) == before


@pytest.mark.django_db
@override_settings(SCAN_LOCK_EXPIRY_SECONDS=600)
def test_a_requeued_run_is_handed_to_one_worker_however_many_sweeps_run(monkeypatch):
    handed = []
    monkeypatch.setattr(scans, "hand_to_worker", lambda task, *args: handed.append((task.name, args)))
    lost = queued_run(queued_ago=datetime.timedelta(seconds=601))
    dead = running_run(started_ago=datetime.timedelta(seconds=601))

    sweeps = [requeue_stuck_scans(actor=SCHEDULER) for _ in range(3)]

    assert sweeps == [[lost.pk, dead.pk], [], []]
    assert handed == [(scans.RUN_QUEUED_SCAN_TASK, (lost.pk,)), (scans.RUN_QUEUED_SCAN_TASK, (dead.pk,))]
    for run in (lost, dead):
        run.refresh_from_db()
        assert run.status == ScanRun.Status.QUEUED and run.requeues == 1
        assert run.error.startswith("Re-queued by the scheduler")
    assert "its worker presumably died" in dead.error and "no worker took it" in lost.error
    # Not picked up within another lock expiry (every worker down): handed over again.
    ScanRun.objects.update(requeued_at=F("requeued_at") - datetime.timedelta(seconds=601))
    assert requeue_stuck_scans(actor=SCHEDULER) == [lost.pk, dead.pk]
    assert ScanRun.objects.get(pk=lost.pk).requeues == 2


@pytest.mark.django_db
@override_settings(SCAN_LOCK_EXPIRY_SECONDS=600)
def test_the_sweep_gives_up_on_a_run_requeued_too_often_or_queued_too_long_ago(monkeypatch):
    monkeypatch.setattr(scans, "hand_to_worker", lambda task, *args: None)
    long_ago = datetime.timedelta(seconds=601)
    poison = running_run(started_ago=long_ago, requeues=scans.MAX_REQUEUES,
                         requeued_at=timezone.now() - long_ago)
    stale = queued_run(queued_ago=scans.REQUEUE_WITHIN + datetime.timedelta(minutes=1))

    assert requeue_stuck_scans(actor=SCHEDULER) == []

    poison.refresh_from_db()
    stale.refresh_from_db()
    assert poison.status == stale.status == ScanRun.Status.FAILED
    assert poison.finished_at and stale.finished_at
    assert poison.error.startswith(f"Given up after {scans.MAX_REQUEUES} re-queues")
    assert stale.error.startswith("Not run again: still queued")


@pytest.mark.django_db
@override_settings(SCAN_LOCK_EXPIRY_SECONDS=600)
def test_a_requeued_run_waits_behind_a_running_scan_and_stays_queued_for_its_task(monkeypatch):
    """In process (no broker) the run is tried at once; with another scan running it stays
    queued, and the next sweep hands it over again."""
    running_run()
    lost = queued_run(queued_ago=datetime.timedelta(seconds=601))

    assert requeue_stuck_scans(actor=SCHEDULER) == [lost.pk]

    lost.refresh_from_db()
    assert lost.status == ScanRun.Status.QUEUED and lost.requeues == 1


@pytest.mark.django_db
def test_only_the_program_office_or_the_system_sweeps():
    with pytest.raises(NotAllowed):
        requeue_stuck_scans(actor=UserFactory(username="viewer", groups=["auditor"]))
    assert requeue_stuck_scans(actor=COMMAND) == []


def test_beat_runs_the_sweep_every_few_minutes():
    [entry] = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values()
               if entry["task"] == "portfolio.tasks.requeue_stuck_scans_task"]
    schedule = entry["schedule"]
    minutes = sorted(schedule.minute)
    assert len(schedule.hour) == 24 and len(schedule.day_of_week) == 7
    assert max(later - earlier for earlier, later in zip(minutes, [*minutes[1:], minutes[0] + 60])) <= 10
