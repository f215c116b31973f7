"""Detectors run side by side in processes on PostgreSQL find what they find one after another,
and a scan that writes the first kinds' findings while the others are still detected writes all
or nothing."""

import datetime
import multiprocessing
import os

import pytest
from django.core.management import call_command
from django.db import connection

import portfolio.services.scans as scans
from core.actors import COMMAND
from portfolio.models import Finding, FindingEvent, FindingKind, Policy, ScanRun
from portfolio.services.scans import ALL_KINDS, detect_all, run_scan_now

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="processes share a PostgreSQL snapshot")]

AS_OF = datetime.date(2026, 11, 2)


def seed():
    call_command("seed_demo", "--use-cases", "300", "--seed", "7", "--today", AS_OF.isoformat(), verbosity=0)


def findings(settings, processes: int) -> list[tuple]:
    settings.SCAN_PROCESSES = processes
    return [(found.kind, found.fingerprint, found.content_digest)
            for found in detect_all(ALL_KINDS, as_of=AS_OF, policy=Policy.current())]


def forget_findings():
    FindingEvent.objects.all().delete()
    Finding.objects.all().delete()


def written() -> set[tuple]:
    return set(Finding.objects.values_list("kind", "fingerprint", "status", "content_digest", "facts_digest", "price"))


def test_detectors_in_processes_find_the_same_as_in_turn(settings):
    seed()

    in_turn = findings(settings, 1)

    assert {kind for kind, *_ in in_turn} >= {"stalled_pilot", "orphaned_ownership", "duplicate_capability"}
    assert findings(settings, 3) == in_turn


def test_a_scan_writing_as_its_processes_detect_writes_what_a_scan_in_turn_does(settings):
    seed()
    forget_findings()
    settings.SCAN_PROCESSES = 1
    in_turn = run_scan_now(as_of=AS_OF, actor=COMMAND)
    expected = written()
    forget_findings()

    settings.SCAN_PROCESSES = 2
    side_by_side = run_scan_now(as_of=AS_OF, actor=COMMAND)

    assert written() == expected and len(expected) > 100
    assert (side_by_side.opened, side_by_side.still_open, side_by_side.resolved) == (in_turn.opened, 0, 0)


def test_a_detector_failing_in_its_process_fails_the_scan_and_writes_none_of_the_kinds_already_reconciled(
        settings, monkeypatch):
    seed()
    forget_findings()
    settings.SCAN_PROCESSES = 2
    real_detector = scans.detector
    # Shared with the forked detector processes.
    others_reconciled = multiprocessing.get_context("fork").Event()
    real_reconcile = scans.reconcile

    def reconcile_and_tell(**kwargs):
        outcome = real_reconcile(**kwargs)
        others_reconciled.set()
        return outcome

    def detector(kind):
        if kind != FindingKind.LOPSIDED_INVESTMENT:
            return real_detector(kind)

        def broken(**kwargs):
            # Fails only once another kind's findings are written in the scan's transaction.
            assert others_reconciled.wait(timeout=60)
            raise RuntimeError("the investment figures could not be read")
        return broken

    monkeypatch.setattr(scans, "detector", detector)
    monkeypatch.setattr(scans, "reconcile", reconcile_and_tell)

    with pytest.raises(RuntimeError, match="could not be read"):
        run_scan_now(as_of=AS_OF, actor=COMMAND)

    run = ScanRun.objects.get()
    assert run.status == ScanRun.Status.FAILED and "could not be read" in run.error
    assert others_reconciled.is_set()
    assert not Finding.objects.exists()
    assert not multiprocessing.active_children(), "a detector process outlived the scan"


def test_a_detector_process_that_dies_before_it_holds_the_snapshot_fails_the_scan(settings, monkeypatch):
    seed()
    forget_findings()
    settings.SCAN_PROCESSES = 2

    def dies_at_once(*args):
        os._exit(3)  # as a process the kernel killed, say: nothing sent back, nothing released

    monkeypatch.setattr(scans, "_detect_in_process", dies_at_once)

    with pytest.raises(RuntimeError, match="ended before it could read the scan's snapshot"):
        run_scan_now(as_of=AS_OF, actor=COMMAND)

    assert ScanRun.objects.get().status == ScanRun.Status.FAILED
    assert not Finding.objects.exists()
    assert not multiprocessing.active_children()
