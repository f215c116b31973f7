"""Detectors run side by side in processes on PostgreSQL find what they find one after another,
and a scan that writes the first kinds' findings while the others are still detected writes all
or nothing."""

import datetime
import errno
import multiprocessing
import os
import signal
import time

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections

import portfolio.services.scans as scans
from core.actors import COMMAND
from portfolio.models import Finding, FindingEvent, FindingKind, Policy, ScanRun
from portfolio.services.scans import ALL_KINDS, detect_all, run_scan_now
from tests.processes import children_of, running

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
    assert not children_of(os.getpid()), "a detector process outlived the scan"


def test_a_detector_process_that_dies_before_it_holds_the_snapshot_fails_the_scan(settings, monkeypatch):
    seed()
    forget_findings()
    settings.SCAN_PROCESSES = 2

    def dies_at_once(*args):
        os._exit(3)  # as a process the kernel killed, say: nothing sent back, nothing released

    monkeypatch.setattr(scans, "_detect_in_process", dies_at_once)

    with pytest.raises(RuntimeError, match="ended before it sent what it found"):
        run_scan_now(as_of=AS_OF, actor=COMMAND)

    assert ScanRun.objects.get().status == ScanRun.Status.FAILED
    assert not Finding.objects.exists()
    assert not children_of(os.getpid())


def test_a_scan_killed_while_its_processes_detect_takes_them_and_their_connections_with_it(settings, monkeypatch):
    seed()
    settings.SCAN_PROCESSES = 2
    real_detector = scans.detector

    def slow_detector(kind):
        detect = real_detector(kind)

        def slow(**arguments):
            time.sleep(120)
            return detect(**arguments)
        return slow

    monkeypatch.setattr(scans, "detector", slow_detector)

    def scan_on_its_own_connection():
        connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)
        run_scan_now(as_of=AS_OF, actor=COMMAND)

    before = other_sessions()  # none, unless an earlier test's process lingers
    scanning = multiprocessing.get_context("fork").Process(target=scan_on_its_own_connection)
    scanning.start()
    try:
        deadline = time.monotonic() + 60
        while len(detecting := children_of(scanning.pid)) < 2 or other_sessions() < before + 3:
            assert time.monotonic() < deadline and scanning.is_alive(), "the scan did not start its processes"
            time.sleep(0.05)
    finally:
        os.kill(scanning.pid, signal.SIGKILL)
        scanning.join()

    deadline = time.monotonic() + 10
    while running(detecting) or other_sessions() > before:
        assert time.monotonic() < deadline, f"detector processes {running(detecting)} outlived the scan, " \
                                            f"{other_sessions()} connections open"
        time.sleep(0.05)


def other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_fork_refused_fails_the_scan_and_leaves_no_detector_process_running(settings, monkeypatch):
    seed()
    forget_findings()
    settings.SCAN_PROCESSES = 2
    real_fork, forked = os.fork, []

    def second_refused():
        if forked:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        forked.append(real_fork())
        return forked[-1]

    monkeypatch.setattr(os, "fork", second_refused)

    with pytest.raises(OSError, match="temporarily unavailable"):
        run_scan_now(as_of=AS_OF, actor=COMMAND)

    assert ScanRun.objects.get().status == ScanRun.Status.FAILED
    assert not Finding.objects.exists()
    assert not children_of(os.getpid()) and not running(forked[:1])
