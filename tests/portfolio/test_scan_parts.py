"""A scan spread over workers, its pieces run in the test process: each detector's part stored
for its run (a redelivered part replaces it), the reconcile of all parts, and a part that fails.

Tasks run eagerly here (tests/conftest.py), so the chord runs its parts and its callback in
turn; real workers on the real Redis, one of them killed while it holds a part, are in
tests/e2e/test_scan_chord.py.
"""

from __future__ import annotations

import datetime
import pickle

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

import portfolio.services.scans as scans
from core.actors import COMMAND, SCHEDULER
from core.bulk import JSONText
from demo.generator import seed_demo_portfolio
from portfolio.detectors.base import Digested
from portfolio.models import Finding, FindingEvent, FindingKind, Policy, ScanPart, ScanRun
from portfolio.services import scan_parts
from portfolio.services.scans import (
    ALL_KINDS, check_part_queues, detect_all, finish_spread_scan, queue_scan, requeue_stuck_scans, run_scan_now,
    run_scan_part, spread_scan,
)
from portfolio.tasks import fail_spread_scan
from tests.portfolio.test_scan_tasks import AS_OF, open_findings

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_portfolio():
    seed_demo_portfolio(use_cases=120, seed=21, today=AS_OF)


def running(kinds=ALL_KINDS) -> ScanRun:
    run = queue_scan(kinds=kinds, as_of=AS_OF, actor=SCHEDULER)
    ScanRun.objects.filter(pk=run.pk).update(status=ScanRun.Status.RUNNING, started_at=run.queued_at)
    run.refresh_from_db()
    return run


def loaded(run: ScanRun) -> list:
    return [found for _, part in scan_parts.load_parts(run) for found in part]


def test_a_stored_part_reads_back_as_the_findings_the_detector_returned(demo_portfolio):
    detected = detect_all(ALL_KINDS, as_of=AS_OF, policy=Policy.current())
    run = running()
    by_kind = {kind: [found for found in detected if found.kind == kind] for kind in ALL_KINDS}

    for kind in ALL_KINDS:
        scan_parts.store_part(scan_run=run, attempt=run.attempt, kind=kind, detected=by_kind[kind])

    assert any(found.price is not None for found in detected), "the demo prices some findings"
    assert loaded(run) == detected
    assert all(type(found.detail) is JSONText for found in loaded(run)), "its detail written as it was dumped"


def test_what_a_detector_process_sends_arrives_as_it_was_sent(demo_portfolio):
    detected = detect_all([FindingKind.STALLED_PILOT, FindingKind.DUPLICATE_CAPABILITY], as_of=AS_OF,
                          policy=Policy.current())

    received = pickle.loads(pickle.dumps(detected, protocol=pickle.HIGHEST_PROTOCOL))

    assert received == detected and len(detected) > 5
    assert {type(found) for found in received} == {Digested}
    assert {type(found.detail) for found in received} == {JSONText}, "written as the JSON it holds, not as a string"


def test_a_part_stored_twice_keeps_one_copy(demo_portfolio):
    run = running()

    first = run_scan_part(run.pk, FindingKind.STALLED_PILOT, run.attempt)
    again = run_scan_part(run.pk, FindingKind.STALLED_PILOT, run.attempt)

    assert first == again > 0
    assert ScanPart.objects.filter(scan_run=run).count() == 1
    assert len(loaded(run)) == first


def test_a_part_of_a_run_no_longer_running_stores_nothing(demo_portfolio):
    run = running()
    ScanRun.objects.filter(pk=run.pk).update(status=ScanRun.Status.FAILED)

    assert run_scan_part(run.pk, FindingKind.STALLED_PILOT, run.attempt) == 0
    assert not ScanPart.objects.exists()


def test_a_part_finishing_after_the_run_failed_stores_nothing(demo_portfolio):
    run = running()
    detected = detect_all([FindingKind.STALLED_PILOT], as_of=AS_OF, policy=Policy.current())
    fail_spread_scan(None, RuntimeError("another part broke"), None, scan_run_id=run.pk, attempt=run.attempt)

    stored = scan_parts.store_part(scan_run=run, attempt=run.attempt, kind=FindingKind.STALLED_PILOT, detected=detected)
    assert stored is False
    assert not ScanPart.objects.exists()


def test_a_spread_scan_opens_what_the_scan_command_finds_and_leaves_no_parts(demo_portfolio):
    run = spread_scan(queue_scan(as_of=AS_OF, actor=SCHEDULER))

    run.refresh_from_db()
    found = open_findings()
    assert run.status == ScanRun.Status.SUCCEEDED and run.error == ""
    assert run.opened == sum(found.values()) == Finding.objects.count() > 0
    assert not ScanPart.objects.exists()

    # The same scan in one process finds exactly that: nothing opened, resolved or rewritten.
    events = FindingEvent.objects.count()
    again = run_scan_now(as_of=AS_OF, actor=COMMAND)
    assert (again.opened, again.still_open, again.resolved, again.reopened) == (0, run.opened, 0, 0)
    assert open_findings() == found
    assert FindingEvent.objects.count() == events


def test_a_finish_delivered_again_after_the_run_succeeded_changes_nothing(demo_portfolio):
    run = spread_scan(queue_scan(as_of=AS_OF, actor=SCHEDULER))
    run.refresh_from_db()
    findings, events = open_findings(), FindingEvent.objects.count()

    again = finish_spread_scan(run.pk, run.attempt)

    again.refresh_from_db()
    assert again.status == ScanRun.Status.SUCCEEDED
    assert (again.opened, again.still_open) == (run.opened, 0) and run.opened > 0, "the first delivery's figures"
    assert open_findings() == findings and FindingEvent.objects.count() == events


def test_a_finish_missing_a_part_fails_the_run_naming_it_and_writes_nothing(demo_portfolio):
    run = running(kinds=[FindingKind.STALLED_PILOT, FindingKind.ORPHANED_OWNERSHIP])
    run_scan_part(run.pk, FindingKind.STALLED_PILOT, run.attempt)

    with pytest.raises(Exception, match="orphaned_ownership"):
        finish_spread_scan(run.pk, run.attempt)

    run.refresh_from_db()
    assert run.status == ScanRun.Status.FAILED and "orphaned_ownership" in run.error
    assert not Finding.objects.exists() and not ScanPart.objects.exists()


def test_a_part_that_fails_fails_the_run_and_frees_the_lock(demo_portfolio, monkeypatch):
    def broken(kind):
        if kind == FindingKind.ORPHANED_OWNERSHIP:
            def detect(**_):
                raise RuntimeError("the directory is unreadable")
            return detect
        return real(kind)

    real = scans.detector
    monkeypatch.setattr(scans, "detector", broken)
    run = queue_scan(as_of=AS_OF, actor=SCHEDULER)

    with pytest.raises(RuntimeError):
        spread_scan(run)

    run.refresh_from_db()
    assert run.status == ScanRun.Status.FAILED
    assert run.error == "RuntimeError: the directory is unreadable"
    assert not Finding.objects.exists() and not ScanPart.objects.exists()
    monkeypatch.setattr(scans, "detector", real)
    assert run_scan_now(as_of=AS_OF, actor=COMMAND).status == ScanRun.Status.SUCCEEDED, "the lock is free"


def test_the_chords_error_callback_fails_the_run_with_the_parts_error_and_frees_the_lock(demo_portfolio):
    run = running()
    run_scan_part(run.pk, FindingKind.STALLED_PILOT, run.attempt)

    # As Celery calls a chord's error callback when a part fails for good, after its retries.
    fail_spread_scan(None, RuntimeError("the directory is unreadable"), None, scan_run_id=run.pk,
                     attempt=run.attempt)

    run.refresh_from_db()
    assert run.status == ScanRun.Status.FAILED and run.error == "RuntimeError: the directory is unreadable"
    assert not ScanPart.objects.exists()
    assert run_scan_now(as_of=AS_OF, actor=COMMAND).status == ScanRun.Status.SUCCEEDED, "the lock is free"


@override_settings(SCAN_LOCK_EXPIRY_SECONDS=600)
def test_a_chord_whose_parts_renew_the_lock_is_not_taken_for_dead_however_long_ago_it_started(
    demo_portfolio, monkeypatch
):
    handed = []
    monkeypatch.setattr(scans, "hand_to_worker", lambda task, *args: handed.append(args))
    run = running(kinds=[FindingKind.STALLED_PILOT, FindingKind.ORPHANED_OWNERSHIP])
    ScanRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - datetime.timedelta(seconds=900))

    # A part started and stored within the lock expiry: the chord is alive.
    run_scan_part(run.pk, FindingKind.STALLED_PILOT, run.attempt)

    assert requeue_stuck_scans(actor=SCHEDULER) == [] and handed == []
    with pytest.raises(scans.ScanAlreadyRunning):
        run_scan_now(as_of=AS_OF, actor=COMMAND)
    assert ScanRun.objects.get(pk=run.pk).status == ScanRun.Status.RUNNING

    # Nothing heard from its parts for longer than the expiry: handed over.
    ScanRun.objects.filter(pk=run.pk).update(lock_renewed_at=timezone.now() - datetime.timedelta(seconds=601))
    assert requeue_stuck_scans(actor=SCHEDULER) == [run.pk] and handed == [(run.pk,)]


def test_what_an_attempt_handed_over_as_dead_still_delivers_writes_nothing(demo_portfolio):
    kinds = [FindingKind.STALLED_PILOT, FindingKind.ORPHANED_OWNERSHIP]
    run = queue_scan(kinds=kinds, as_of=AS_OF, actor=SCHEDULER)
    scans._claim(run)
    dead = run.attempt
    run_scan_part(run.pk, FindingKind.STALLED_PILOT, dead)
    # The sweep took the first attempt's chord for dead and handed the run over: a new attempt.
    ScanRun.objects.filter(pk=run.pk).update(status=ScanRun.Status.QUEUED)
    scans._claim(run)
    assert run.attempt == dead + 1
    run_scan_part(run.pk, FindingKind.STALLED_PILOT, run.attempt)

    # The first chord's other part, reconcile and error callback arrive late.
    assert run_scan_part(run.pk, FindingKind.ORPHANED_OWNERSHIP, dead) == 0
    finish_spread_scan(run.pk, dead)
    fail_spread_scan(None, RuntimeError("the worker was lost"), None, scan_run_id=run.pk, attempt=dead)

    run.refresh_from_db()
    assert run.status == ScanRun.Status.RUNNING and run.error == "" and not Finding.objects.exists()
    assert scan_parts.stored_kinds(run) == {FindingKind.STALLED_PILOT}
    # The new attempt completes.
    run_scan_part(run.pk, FindingKind.ORPHANED_OWNERSHIP, run.attempt)
    finish_spread_scan(run.pk, run.attempt)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.SUCCEEDED and run.opened == Finding.objects.count() > 0


def test_routing_a_kind_no_detector_has_to_a_queue_is_refused_naming_the_setting():
    from config.settings.base import _part_queues

    assert _part_queues(" duplicate_capability = scan-heavy, stalled_pilot=scan-light ,") == {
        "duplicate_capability": "scan-heavy", "stalled_pilot": "scan-light"}
    with pytest.raises(ImproperlyConfigured, match="SCAN_PART_QUEUES: 'duplicate_capability' is not kind=queue"):
        _part_queues("duplicate_capability")
    with override_settings(SCAN_PART_QUEUES={"duplicate_capability": "scan-heavy", "unicorns": "scan-heavy"}):
        with pytest.raises(ImproperlyConfigured, match="SCAN_PART_QUEUES names an unknown scan kind: unicorns"):
            check_part_queues()
    with override_settings(SCAN_PART_QUEUES={"duplicate_capability": "scan-heavy"}):
        check_part_queues()
        assert scans.part_queue(FindingKind.DUPLICATE_CAPABILITY) == "scan-heavy"
        assert scans.part_queue(FindingKind.STALLED_PILOT) is None
