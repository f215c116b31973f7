"""A scan spread over real Celery workers on the real Redis: one task per detector as a chord,
then one reconcile. It opens what the `scan` command opens on the same data, its parts are
shared by the workers, and a worker killed while it holds a part leaves the run to complete on
the next worker with nothing written twice; a part that fails on a worker fails the run
through the chord's error callback and frees the lock. A chord that outlives the lock expiry is
not handed over by the sweep; a part delivered twice at once, and a reconcile killed half way
(or right after its commit) and delivered again, write, log and mail once. A detector routed to
a queue of its own (SCAN_PART_QUEUES) runs only on the workers of that queue; routed to a queue no
worker consumes, it fails the run at once, and to one whose worker is busy, it waits its turn.

The pieces, run in the test process, are in tests/portfolio/test_scan_parts.py; the workers,
Redis and the helpers are those of test_celery.py; tests/e2e/slow_parts_worker.py is the app of
workers whose scans are slowed down where a test says, so it can act while one is at that point.
"""

from __future__ import annotations

import re
import time

import pytest
from django.utils import timezone

from demo.generator import seed_demo_portfolio
from portfolio import embeddings
from portfolio.models import DigestDelivery, Finding, FindingEvent, FindingKind, ScanPart, ScanRun
from portfolio.services.scans import ALL_KINDS, QUEUE_ANSWER_SECONDS
from registry.models import AuditEntry
from tests.e2e.test_celery import (  # noqa: F401  (fixtures)
    PAUSED_MID_WRITE, SCAN_SECONDS, SLOW_PARTS_APP, SWEEP_TASK, VISIBILITY_TIMEOUT, Worker, _redis,
    _restore_migration_data, assert_each_finding_written_once, assert_same_as_the_scan_command, broker_url,
    real_worker_db, send_scan_all, send_task, start_worker, statuses_by_fingerprint, wait_for_run,
    wait_until_acknowledged, wait_until_writing_findings,
)
from tests.portfolio.test_scan_tasks import AS_OF, scan_json

pytestmark = pytest.mark.slow

SPREAD = {"SCAN_SPREAD_OVER_WORKERS": "true"}
PART_TASK = "portfolio.tasks.scan_part"
FINISH_TASK = "portfolio.tasks.finish_spread_scan"
OCCUPY_TASK = f"{SLOW_PARTS_APP}.occupy"  # not imported: the app would patch the scans of this process
HEAVY = FindingKind.DUPLICATE_CAPABILITY
HEAVY_QUEUE = "scan-heavy"
ROUTED = {**SPREAD, "SCAN_PART_QUEUES": f"{HEAVY}={HEAVY_QUEUE}"}


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


def wait_for_failed_run(task_id: str, worker: Worker, timeout: float) -> ScanRun:
    """The run of task `task_id` once it has failed; fails the test if it succeeds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = ScanRun.objects.filter(task_id=task_id).first()
        if run is not None and run.status == ScanRun.Status.FAILED:
            return run
        if run is not None and run.status == ScanRun.Status.SUCCEEDED:
            pytest.fail(f"The scan succeeded:\n{worker.log()}")
        time.sleep(0.1)
    pytest.fail(f"The scan of task {task_id} had not failed after {timeout} s:\n{worker.log()}")


def mailed_by(*workers: Worker) -> list[int]:
    """The digest emails each worker sent (the console backend writes them to its log)."""
    return [worker.log_path.read_text(errors="replace").count("Subject: Last Mile: ") for worker in workers]


def wait_for_digests(run: ScanRun, worker: Worker) -> None:
    deadline = time.monotonic() + SCAN_SECONDS
    while ScanRun.objects.filter(pk=run.pk, digests_sent_at__isnull=True).exists():
        if time.monotonic() > deadline:
            pytest.fail(f"The digests of run {run.pk} were not sent within {SCAN_SECONDS} s:\n{worker.log()}")
        time.sleep(0.1)


def assert_finished_once_by(worker: Worker, run: ScanRun, *, killed: Worker, broker_url: str) -> None:
    """What a reconcile delivered again to `worker` after `killed` died in it leaves: each
    finding written once, the scan command's findings, and the digests sent once, by `worker`
    (one email a recipient), its message acknowledged."""
    found = assert_each_finding_written_once(run)
    wait_for_digests(run, worker)
    mailed = mailed_by(killed, worker)
    assert mailed == [0, DigestDelivery.objects.filter(scan_run=run).count()] and mailed[1] > 0
    wait_until_acknowledged(broker_url, worker=worker)
    assert_same_as_the_scan_command(found)


def parts_run_by(worker: Worker) -> int:
    return worker.log_path.read_text(errors="replace").count(f"Task {PART_TASK}[")


def kinds_stored_by(worker: Worker) -> list[str]:
    """The kinds whose parts `worker` stored, as the part's service logs them."""
    return re.findall(r"the part of (\w+) stored", worker.log_path.read_text(errors="replace"))


def deliveries(worker: Worker, task: str) -> list[str]:
    """The ids of the messages of `task` that `worker` received, in order."""
    return re.findall(rf"Task {re.escape(task)}\[([^\]]+)\] received", worker.log_path.read_text(errors="replace"))


def scan_events(run: ScanRun) -> int:
    """The run's entries in the audit log: one when its reconcile has succeeded."""
    return AuditEntry.objects.filter(kind="scan", subject_type="scan", subject_id=run.pk).count()


@pytest.mark.slow
@real_worker_db
def test_two_workers_share_a_scans_detectors_and_open_what_the_scan_command_finds(broker_url, start_worker):
    seed_demo_portfolio(use_cases=300, seed=11, today=AS_OF)
    # Each part lasts a second at least, so that neither worker can run them all while the other
    # is slow to take one: on a small portfolio most parts take milliseconds.
    slow = {"app": SLOW_PARTS_APP, "SLOW_SCAN_PARTS": ",".join(f"{kind}=1" for kind in ALL_KINDS), **SPREAD}
    first, second = start_worker(**slow), start_worker(**slow)

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
    seed_demo_portfolio(use_cases=300, seed=12, today=AS_OF)
    embeddings.refresh()  # as after an import: the parts detect, nobody embeds
    short_visibility = {**SPREAD, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    # The first worker's parts outlast the test's patience, so it is surely killed holding one:
    # on a small portfolio a part can be done and acknowledged between its log line and the kill.
    holding = ",".join(f"{kind}={SCAN_SECONDS}" for kind in ALL_KINDS)
    first = start_worker(app=SLOW_PARTS_APP, SLOW_SCAN_PARTS=holding, **short_visibility)

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


@pytest.mark.slow
@real_worker_db
def test_a_chord_outliving_the_lock_expiry_is_left_to_its_workers_by_the_sweep_and_completes_once(
    broker_url, start_worker
):
    seed_demo_portfolio(use_cases=300, seed=15, today=AS_OF)
    embeddings.refresh()  # as after an import: the parts detect, nobody embeds
    lock = 4
    # Three parts a little over half the lock each, in turn on one worker: the chord lasts
    # longer than the lock, each part well within it.
    slow = ",".join(f"{kind}={lock * 0.6}" for kind in ALL_KINDS[:3])
    worker = start_worker(app=SLOW_PARTS_APP, SLOW_SCAN_PARTS=slow, SCAN_LOCK_EXPIRY_SECONDS=str(lock), **SPREAD)
    # Beat's sweep, on a worker of its own so that it runs while the parts do.
    sweeper = start_worker(queues="sweep", SCAN_LOCK_EXPIRY_SECONDS=str(lock))

    task_id = send_scan_all(broker_url)
    running = wait_for_run(task_id, {ScanRun.Status.RUNNING}, worker=worker, poll=0.02)
    time.sleep(max(0.0, (running.started_at - timezone.now()).total_seconds() + lock + 0.5))
    sweep_id = send_task(broker_url, SWEEP_TASK, queue="sweep")
    sweeper.wait_for_log(f"Task {SWEEP_TASK}[{sweep_id}] succeeded")

    # The sweep ran past the lock expiry counted from the start, with the parts still running,
    # and handed nothing over: the parts renew the lock as they go.
    assert re.search(rf"{re.escape(sweep_id)}\] succeeded in [0-9.]+s: \[\]", sweeper.log()), sweeper.log()
    assert ScanRun.objects.get(pk=running.pk).status == ScanRun.Status.RUNNING, (
        f"The chord finished before the sweep ran; slow its parts down more:\n{worker.log()}"
    )
    run = wait_for_spread_run(task_id, worker, sweeper)

    assert run.pk == running.pk and ScanRun.objects.count() == 1
    assert (run.finished_at - run.started_at).total_seconds() > lock, "the chord outlived the lock"
    assert (run.requeues, run.attempt) == (0, 1), "one attempt, never handed over"
    assert parts_run_by(worker) == 2 * len(ALL_KINDS), "each part ran once"
    assert sorted(kinds_stored_by(worker)) == sorted(ALL_KINDS)
    found = assert_each_finding_written_once(run)
    assert scan_events(run) == 1
    wait_until_acknowledged(broker_url, worker=worker)
    assert_same_as_the_scan_command(found)


@pytest.mark.slow
@real_worker_db
def test_a_part_delivered_again_while_its_first_delivery_runs_is_stored_and_reconciled_once(
    broker_url, start_worker
):
    seed_demo_portfolio(use_cases=300, seed=16, today=AS_OF)
    embeddings.refresh()  # as after an import: the parts detect, nobody embeds
    # The heavy part runs long on the one worker of its queue. A second worker of that queue
    # starting once the part has been unacknowledged past the visibility timeout gives it
    # back to the queue (kombu does as a worker's event loop starts) and takes it, while the
    # first delivery still runs.
    delay = VISIBILITY_TIMEOUT + 22
    heavy_worker = {**ROUTED, "SLOW_SCAN_PARTS": f"{HEAVY}={delay}",
                    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    main = start_worker(**ROUTED)
    first = start_worker(queues=HEAVY_QUEUE, app=SLOW_PARTS_APP, **heavy_worker)

    task_id = send_scan_all(broker_url)
    first.wait_for_log(f"Task {PART_TASK}[")
    time.sleep(VISIBILITY_TIMEOUT + 1)
    second = start_worker(queues=HEAVY_QUEUE, app=SLOW_PARTS_APP, **heavy_worker)
    deadline = time.monotonic() + SCAN_SECONDS
    while not deliveries(second, PART_TASK):
        assert not ScanPart.objects.filter(kind=HEAVY).exists(), (
            f"The heavy part was stored before its second delivery started; raise its delay:\n{second.log()}"
        )
        if time.monotonic() > deadline:
            pytest.fail(f"The heavy part was not delivered again:\n{second.log()}")
        time.sleep(0.1)
    # Both deliveries are running: neither has stored the part yet.
    assert not ScanPart.objects.filter(kind=HEAVY).exists() and not Finding.objects.exists()
    assert deliveries(first, PART_TASK) == deliveries(second, PART_TASK), "the same message, twice"

    run = wait_for_spread_run(task_id, main, first, second)
    for worker in (first, second):
        worker.wait_for_log(f"Task {PART_TASK}[{deliveries(worker, PART_TASK)[0]}] succeeded")
    written = statuses_by_fingerprint(), FindingEvent.objects.count()

    assert run.status == ScanRun.Status.SUCCEEDED and (run.requeues, run.attempt) == (0, 1)
    assert len(deliveries(main, FINISH_TASK)) == 1 and scan_events(run) == 1, "reconciled once"
    assert HEAVY not in kinds_stored_by(main), "the heavy part runs on its own queue only"
    found = assert_each_finding_written_once(run)
    assert not ScanPart.objects.exists(), "the later delivery stored nothing once the run was reconciled"
    assert (statuses_by_fingerprint(), FindingEvent.objects.count()) == written
    wait_until_acknowledged(broker_url, worker=main)
    assert_same_as_the_scan_command(found)


@pytest.mark.slow
@real_worker_db
def test_a_reconcile_killed_half_way_is_delivered_again_and_writes_and_mails_once(broker_url, start_worker):
    seed_demo_portfolio(use_cases=300, seed=17, today=AS_OF)
    embeddings.refresh()  # as after an import: the parts detect, nobody embeds
    short_visibility = {**SPREAD, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    first = start_worker(**PAUSED_MID_WRITE, **short_visibility)

    task_id = send_scan_all(broker_url)
    running = wait_for_run(task_id, {ScanRun.Status.RUNNING, ScanRun.Status.SUCCEEDED}, worker=first, poll=0.02)
    # Only the reconcile writes findings: kill the worker inside its transaction.
    assert wait_until_writing_findings(running, worker=first), "The scan finished before the worker could be killed."
    first.kill()
    killed_at = time.monotonic()

    # Killed mid-reconcile: nothing of it committed, and its message is unacknowledged.
    assert ScanRun.objects.get(pk=running.pk).status == ScanRun.Status.RUNNING
    assert not Finding.objects.exists() and not FindingEvent.objects.exists()
    assert ScanPart.objects.filter(scan_run=running).count() == len(ALL_KINDS), "the parts wait for the reconcile"
    [unacked] = _redis(broker_url).hvals("unacked")
    assert FINISH_TASK.encode() in unacked

    # Redis hands it to a worker that starts after its visibility timeout.
    time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 1 - time.monotonic()))
    second = start_worker(**short_visibility)
    run = wait_for_spread_run(task_id, first, second)

    assert run.pk == running.pk and ScanRun.objects.count() == 1 and (run.requeues, run.attempt) == (0, 1)
    assert deliveries(second, FINISH_TASK) == deliveries(first, FINISH_TASK), "the same reconcile, delivered again"
    assert not ScanPart.objects.exists() and scan_events(run) == 1
    assert_finished_once_by(second, run, killed=first, broker_url=broker_url)


@pytest.mark.slow
@real_worker_db
def test_a_detector_routed_to_a_queue_of_its_own_runs_only_on_that_queues_workers(broker_url, start_worker):
    seed_demo_portfolio(use_cases=300, seed=18, today=AS_OF)
    embeddings.refresh()
    main = start_worker(**ROUTED)
    dedicated = start_worker(queues=HEAVY_QUEUE, **ROUTED)

    task_id = send_scan_all(broker_url)
    run = wait_for_spread_run(task_id, main, dedicated)

    assert kinds_stored_by(dedicated) == [HEAVY], dedicated.log()
    assert sorted(kinds_stored_by(main)) == sorted(set(ALL_KINDS) - {HEAVY})
    assert not deliveries(dedicated, "portfolio.tasks.scan_all") and not deliveries(dedicated, FINISH_TASK)
    found = assert_each_finding_written_once(run)
    assert any(kind == HEAVY for kind, *_ in found), "the routed detector's findings are reconciled with the rest"
    wait_until_acknowledged(broker_url, worker=main)
    assert_same_as_the_scan_command(found)


@pytest.mark.slow
@real_worker_db
def test_a_reconcile_killed_right_after_its_commit_leaves_the_run_in_the_audit_log_and_is_anchored_and_mailed_once(
    broker_url, start_worker
):
    seed_demo_portfolio(use_cases=300, seed=19, today=AS_OF)
    embeddings.refresh()  # as after an import: the parts detect, nobody embeds
    short_visibility = {**SPREAD, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    # Once its reconcile has committed, the first worker waits before anchoring the run in the
    # audit log and queuing its digests: it is killed there.
    first = start_worker(app=SLOW_PARTS_APP, PAUSE_AFTER_RECONCILE=str(SCAN_SECONDS), **short_visibility)

    task_id = send_scan_all(broker_url)
    committed = wait_for_run(task_id, {ScanRun.Status.SUCCEEDED}, worker=first, poll=0.02)
    first.kill()
    killed_at = time.monotonic()

    # The run's entry in the audit log was committed with its findings; the anchor and the
    # digests were not done, and the reconcile's message is unacknowledged.
    assert scan_events(committed) == 1
    assert committed.audit_head_seq is None and committed.digests_sent_at is None
    [unacked] = _redis(broker_url).hvals("unacked")
    assert FINISH_TASK.encode() in unacked

    # Redis hands the reconcile to a worker that starts after its visibility timeout: it finds
    # the run succeeded and does what the kill cut short.
    time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 1 - time.monotonic()))
    second = start_worker(**short_visibility)
    [reconcile] = deliveries(first, FINISH_TASK)
    second.wait_for_log(f"Task {FINISH_TASK}[{reconcile}] succeeded")
    run = ScanRun.objects.get(pk=committed.pk)

    assert deliveries(second, FINISH_TASK) == [reconcile], "the same reconcile, delivered again"
    assert (run.status, run.finished_at, run.opened, run.attempt) == (
        ScanRun.Status.SUCCEEDED, committed.finished_at, committed.opened, 1
    )
    assert scan_events(run) == 1, "the run is in the audit log once"
    assert run.audit_head_seq is not None and run.audit_head_hash, "anchored by the reconcile delivered again"
    assert_finished_once_by(second, run, killed=first, broker_url=broker_url)


@pytest.mark.slow
@real_worker_db
def test_a_part_routed_to_a_queue_no_worker_consumes_fails_the_run_at_once_saying_what_to_do(broker_url, start_worker):
    seed_demo_portfolio(use_cases=100, seed=20, today=AS_OF)
    # No worker consumes the heavy part's queue.
    worker = start_worker(**ROUTED)

    task_id = send_scan_all(broker_url)
    run = wait_for_failed_run(task_id, worker, timeout=QUEUE_ANSWER_SECONDS + 30)

    assert f"the queue '{HEAVY_QUEUE}', to which SCAN_PART_QUEUES sends the part of {HEAVY}" in run.error
    assert f"celery -A config worker -Q {HEAVY_QUEUE}" in run.error
    assert (run.finished_at - run.started_at).total_seconds() < QUEUE_ANSWER_SECONDS + 5, "failed at once"
    # No part was sent: nothing waits on the queue, nothing was detected or written.
    assert parts_run_by(worker) == 0 and not _redis(broker_url).llen(HEAVY_QUEUE)
    assert not ScanPart.objects.exists() and not Finding.objects.exists()
    # The lock is free: the next scan runs.
    assert scan_json()["findings"]


@pytest.mark.slow
@real_worker_db
def test_a_routed_queue_whose_only_worker_is_busy_is_answered_for_and_its_part_waits_its_turn(broker_url, start_worker):
    seed_demo_portfolio(use_cases=300, seed=21, today=AS_OF)
    embeddings.refresh()
    main = start_worker(**ROUTED)
    # The heavy queue's one worker (prefork, one pool process) is busy when the scan asks.
    heavy = start_worker(pool="prefork", queues=HEAVY_QUEUE, app=SLOW_PARTS_APP, **ROUTED)
    occupied = send_task(broker_url, OCCUPY_TASK, queue=HEAVY_QUEUE, seconds=20)
    heavy.wait_for_log(f"Task {OCCUPY_TASK}[{occupied}] received")

    task_id = send_scan_all(broker_url)
    main.wait_for_log("asked the workers for the queues")

    assert f"Task {OCCUPY_TASK}[{occupied}] succeeded" not in heavy.log(), "the heavy worker was busy all along"
    [asked_ms] = re.findall(rf"queues {HEAVY_QUEUE} in (\d+) ms", main.log_path.read_text(errors="replace"))
    assert int(asked_ms) < 1000 * QUEUE_ANSWER_SECONDS, "the answer ended the wait"
    run = wait_for_spread_run(task_id, main, heavy)
    assert kinds_stored_by(heavy) == [HEAVY], heavy.log()
    log = heavy.log_path.read_text(errors="replace")
    assert log.index(f"Task {OCCUPY_TASK}[{occupied}] succeeded") < log.index(f"Task {PART_TASK}["), (
        "the part waited for the busy worker"
    )
    found = assert_each_finding_written_once(run)
    wait_until_acknowledged(broker_url, worker=main)
    assert_same_as_the_scan_command(found)
