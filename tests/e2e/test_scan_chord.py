"""A scan spread over real Celery workers on the real Redis: one task per detector as a chord,
then one reconcile. It opens what the `scan` command opens on the same data, its parts are
shared by the workers, and a worker killed while it holds a part leaves the run to complete on
the next worker with nothing written twice; a part that fails on a worker fails the run
through the chord's error callback and frees the lock.

The pieces, run in the test process, are in tests/portfolio/test_scan_parts.py; the workers,
Redis and the helpers are those of test_celery.py.
"""

from __future__ import annotations

import time

import pytest

from demo.generator import seed_demo_portfolio
from portfolio import embeddings
from portfolio.models import FindingEvent, ScanPart, ScanRun
from portfolio.services.scans import ALL_KINDS
from tests.e2e.test_celery import (  # noqa: F401  (fixtures)
    SCAN_SECONDS, VISIBILITY_TIMEOUT, Worker, _redis, _restore_migration_data, assert_each_finding_written_once,
    broker_url, real_worker_db, reported, send_scan_all, start_worker, statuses_by_fingerprint,
    wait_until_acknowledged,
)
from tests.portfolio.test_scan_tasks import AS_OF, open_findings, scan_json

pytestmark = pytest.mark.slow

SPREAD = {"SCAN_SPREAD_OVER_WORKERS": "true"}
PART_TASK = "portfolio.tasks.scan_part"


def wait_for_spread_run(task_id: str, *workers: Worker, timeout: float = SCAN_SECONDS) -> ScanRun:
    """The run of task `task_id` once it has succeeded; fails the test if it fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = ScanRun.objects.filter(task_id=task_id).first()
        if run is not None and run.status == ScanRun.Status.SUCCEEDED:
            return run
        if run is not None and run.status == ScanRun.Status.FAILED:
            pytest.fail(f"The scan failed: {run.error}\n" + "\n".join(worker.log() for worker in workers))
        time.sleep(0.1)
    pytest.fail(f"The scan of task {task_id} did not succeed within {timeout} s:\n"
                + "\n".join(worker.log() for worker in workers))


def parts_run_by(worker: Worker) -> int:
    return worker.log_path.read_text(errors="replace").count(f"Task {PART_TASK}[")


def assert_same_as_the_scan_command(found) -> None:
    """The `scan` command on the same data finds exactly what the spread scan wrote: it opens,
    resolves and rewrites nothing."""
    statuses, events = statuses_by_fingerprint(), FindingEvent.objects.count()
    report = scan_json()
    assert reported(report) == found
    assert statuses_by_fingerprint() == statuses
    assert FindingEvent.objects.count() == events
    again = ScanRun.objects.get(pk=report["scan_run"])
    assert (again.opened, again.resolved, again.reopened, again.still_open) == (0, 0, 0, sum(found.values()))


@pytest.mark.slow
@real_worker_db
def test_two_workers_share_a_scans_detectors_and_open_what_the_scan_command_finds(broker_url, start_worker):
    seed_demo_portfolio(use_cases=300, seed=11, today=AS_OF)
    first, second = start_worker(**SPREAD), start_worker(**SPREAD)

    task_id = send_scan_all(broker_url)
    run = wait_for_spread_run(task_id, first, second)

    found = assert_each_finding_written_once(run)
    assert run.kinds == ALL_KINDS and run.error == ""
    assert not ScanPart.objects.exists(), "the reconcile drops the stored parts"
    # Each detector ran as a task of its own (received, then succeeded: two lines each), and
    # both workers took some.
    assert parts_run_by(first) + parts_run_by(second) == 2 * len(ALL_KINDS)
    assert parts_run_by(first) and parts_run_by(second), "one worker ran every part"
    wait_until_acknowledged(broker_url, worker=first)
    assert_same_as_the_scan_command(found)


@pytest.mark.slow
@real_worker_db
def test_a_worker_killed_while_it_holds_a_part_leaves_the_run_to_complete_with_nothing_doubled(
    broker_url, start_worker
):
    seed_demo_portfolio(use_cases=1000, seed=12, today=AS_OF)
    embeddings.refresh()  # as after an import: the parts detect, nobody embeds
    short_visibility = {**SPREAD, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    first = start_worker(**short_visibility)

    task_id = send_scan_all(broker_url)
    first.wait_for_log(f"Task {PART_TASK}[")
    first.kill()
    # The part was delivered after the scan_all task had claimed the run and sent the chord:
    # its visibility timeout counts from then, at the latest now.
    killed_at = time.monotonic()

    # Killed holding a part: the run holds the lock, and that part's message is unacknowledged.
    running = ScanRun.objects.get(task_id=task_id)
    assert running.status == ScanRun.Status.RUNNING
    assert any(PART_TASK.encode() in message for message in _redis(broker_url).hvals("unacked"))

    # Redis hands the unacknowledged part to a worker that starts after its visibility timeout.
    time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 1 - time.monotonic()))
    second = start_worker(**short_visibility)
    run = wait_for_spread_run(task_id, first, second)

    assert run.pk == running.pk and ScanRun.objects.count() == 1
    found = assert_each_finding_written_once(run)
    assert not ScanPart.objects.exists()
    wait_until_acknowledged(broker_url, worker=second)
    assert_same_as_the_scan_command(found)


@pytest.mark.slow
@real_worker_db
def test_a_part_that_fails_on_the_worker_fails_the_run_with_its_error_and_frees_the_lock(
    broker_url, start_worker
):
    from celery import current_app

    from portfolio.services.scans import spread_scan

    seed_demo_portfolio(use_cases=100, seed=13, today=AS_OF)
    worker = start_worker(**SPREAD)
    # A part whose detector the worker cannot find fails at once, with no retry; written
    # around queue_scan, which refuses an unknown kind.
    run = ScanRun.objects.create(kinds=["stalled_pilot", "no_such_kind"], as_of=AS_OF)
    # This process sends the chord to the real broker, as a worker's scan task would.
    eager, current_app.conf.task_always_eager = current_app.conf.task_always_eager, False
    try:
        spread_scan(run)
    finally:
        current_app.conf.task_always_eager = eager

    deadline = time.monotonic() + SCAN_SECONDS
    while ScanRun.objects.filter(pk=run.pk, status=ScanRun.Status.RUNNING).exists():
        if time.monotonic() > deadline:
            pytest.fail(f"The run was still running after {SCAN_SECONDS} s:\n{worker.log()}")
        time.sleep(0.1)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.FAILED and "KeyError('no_such_kind')" in run.error
    assert not ScanPart.objects.exists() and not FindingEvent.objects.exists()
    # The lock is free: the next scan runs.
    assert scan_json()["findings"]
