"""Scans outside the request: real Celery workers on the real Redis, a worker or its pool
process killed half way (and the sweep that re-queues a dead worker's scan), a scan handed over
while its first worker still runs it, a broker that is down, and the `scan` command's JSON
printed by a process of its own.

The worker tests run only on PostgreSQL with Redis answering at REDIS_URL (as in CI): the
worker is another process, so it must see the test database's committed rows, and it talks
to the Redis database REDIS_URL names, which these tests flush before and after: give each
test run a database of its own (redis://…/11), so runs side by side never flush each other.
The lock, the tasks and the sweep run in the test process are in
tests/portfolio/test_scan_tasks.py (whose helpers these tests share), test_scan_recovery.py
and test_scan_sweep.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from demo.generator import seed_demo_portfolio
from portfolio import embeddings
from portfolio.models import Finding, FindingEvent, FindingKind, ScanRun
from portfolio.services.scans import ALL_KINDS
from registry.models import AuditEntry
from tests.portfolio.test_scan_tasks import AS_OF, FINDING_KEYS, open_findings, scan_json
from tests.processes import children_of

BASE_DIR = Path(settings.BASE_DIR)
WORKER_BOOT_SECONDS = 60
SCAN_SECONDS = 120
VISIBILITY_TIMEOUT = 3
# The scan lock of the recovery tests, and a visibility timeout long enough (the default, an
# hour) that Redis never hands their killed scan out again while they run.
LOCK_EXPIRY = 6
LONG_VISIBILITY = {"SCAN_LOCK_EXPIRY_SECONDS": str(LOCK_EXPIRY), "CELERY_VISIBILITY_TIMEOUT": str(60 * 60)}
# How late after its lock expired a dead run may be taken over: a worker's timer and a poll.
TAKEOVER_SLACK = 15
# How long the detectors of a scan handed over while it runs take: past its lock expiry, the
# sweep and the whole scan of the worker it is handed to.
LATE_DETECTOR_SECONDS = 40
SWEEP_TASK = "portfolio.tasks.requeue_stuck_scans_task"
# The app of workers whose scans are slowed down where a test says (tests/e2e/slow_parts_worker.py).
SLOW_PARTS_APP = "tests.e2e.slow_parts_worker"
# A worker whose reconcile, once it has opened its first findings, waits inside its transaction
# longer than a test's patience: killed while writing, surely, whatever the portfolio's size (a
# reconcile that is not held can commit between the test's seeing it write and the kill).
PAUSED_MID_WRITE = {"app": SLOW_PARTS_APP, "PAUSE_IN_RECONCILE": str(SCAN_SECONDS)}

# Committed rows, visible to the worker process; the data the migrations wrote (groups,
# friction points) is put back after the flush that follows each such test.
real_worker_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)

pytestmark = pytest.mark.slow


# Services ------------------------------------------------------------------------------------


def _test_redis_url() -> str:
    """REDIS_URL's database (0 when it names none), the one the workers of these tests use."""
    parts = urlsplit(settings.REDIS_URL)
    database = parts.path.strip("/") or "0"
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5, retry=Retry(NoBackoff(), 0))


def _why_no_real_services() -> str | None:
    if connection.vendor != "postgresql":
        return ("a Celery worker is another process and needs the test database on PostgreSQL "
                "(set DATABASE_URL=postgres://…)")
    if not settings.REDIS_URL:
        return "a Celery worker needs a broker: set REDIS_URL=redis://…"
    try:
        _redis(_test_redis_url()).ping()
    except redis.RedisError as exc:
        return f"Redis does not answer at {_test_redis_url()}: {exc}"
    return None


def _database_url() -> str:
    """The test database (not the one DATABASE_URL names) as a URL for another process."""
    db = settings.DATABASES["default"]
    credentials = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or ""
    host = quote(host, safe="") if host.startswith("/") else host
    if db.get("PORT"):
        host += f":{db['PORT']}"
    netloc = f"{credentials}@{host}" if credentials else host
    return f"postgres://{netloc}/{quote(db['NAME'], safe='')}"


@pytest.fixture(scope="module")
def _restore_migration_data(django_db_blocker):
    """Put back what the migrations wrote, which the flush after a transactional test removes.

    Django restores it at the start of the next serialized-rollback test only; without this
    the groups and friction points would be missing from a --reuse-db database next session.
    """
    yield
    contents = getattr(connection, "_test_serialized_contents", None)
    if contents:
        with django_db_blocker.unblock():
            connection.creation.deserialize_db_from_string(contents)


@pytest.fixture
def broker_url(_restore_migration_data):
    if reason := _why_no_real_services():
        pytest.skip(reason)
    url = _test_redis_url()
    client = _redis(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


class Worker:
    """`celery worker` as a subprocess in its own process group, logging to a file; one task at
    a time, in the worker process itself (`solo`) or in a pool process (`prefork`), from the
    default queue or the comma-separated `queues`, of the Celery app `app`."""

    def __init__(self, *, broker_url: str, log_path: Path, pool: str = "solo", queues: str = "",
                 app: str = "config", **extra_env: str):
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "REDIS_URL": broker_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "PYTHONUNBUFFERED": "1",
            # These tests follow a scan run whole by one task; test_scan_chord.py spreads it.
            "SCAN_SPREAD_OVER_WORKERS": "false",
            **extra_env,
        }
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", app, "worker", f"--pool={pool}", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--loglevel=INFO", "-n", f"lm-test-{uuid.uuid4().hex[:8]}@%h",
             *(["--queues", queues] if queues else [])],
            cwd=BASE_DIR, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]

    def wait_ready(self, timeout: float = WORKER_BOOT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"The worker exited ({self.process.returncode}) before it was ready:\n{self.log()}")
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.1)
        pytest.fail(f"The worker was not ready after {timeout} s:\n{self.log()}")

    def wait_for_log(self, text: str, timeout: float = SCAN_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_text(errors="replace"):
            if time.monotonic() > deadline:
                pytest.fail(f"The worker did not log {text!r} within {timeout} s:\n{self.log()}")
            if self.process.poll() is not None:
                pytest.fail(f"The worker exited ({self.process.returncode}):\n{self.log()}")
            time.sleep(0.1)

    def kill_pool_process(self) -> None:
        """SIGKILL the pool process running the task (prefork): the worker itself lives on."""
        [child] = children_of(self.process.pid)
        os.kill(child, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole process group: no warm shutdown, no acknowledgement."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture
def start_worker(broker_url, tmp_path):
    started: list[Worker] = []

    def start(pool: str = "solo", queues: str = "", app: str = "config", **extra_env: str) -> Worker:
        worker = Worker(broker_url=broker_url, log_path=tmp_path / f"worker-{len(started) + 1}.log", pool=pool,
                        queues=queues, app=app, **extra_env)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


def send_task(broker_url: str, name: str, queue: str | None = None, **kwargs) -> str:
    """Publish task `name` as beat would (to `queue`, or the default one), through an app of its
    own: the test process's Celery app may run tasks eagerly (no REDIS_URL) or point at another
    Redis database."""
    task_id = f"test-{name.rsplit('.', 1)[-1]}-{uuid.uuid4()}"
    sender = Celery("lm-test-sender", broker=broker_url, set_as_current=False)
    try:
        sender.send_task(name, kwargs=kwargs, task_id=task_id, queue=queue)
    finally:
        sender.close()
    return task_id


def send_scan_all(broker_url: str) -> str:
    return send_task(broker_url, "portfolio.tasks.scan_all", as_of=AS_OF.isoformat())


def wait_for_run(task_id: str, statuses: set[str], *, worker: Worker, timeout: float = SCAN_SECONDS,
                 poll: float = 0.1) -> ScanRun:
    deadline = time.monotonic() + timeout
    run = None
    while time.monotonic() < deadline:
        run = ScanRun.objects.filter(task_id=task_id).first()
        if run is not None and run.status in statuses:
            return run
        if run is not None and run.status == ScanRun.Status.FAILED:
            pytest.fail(f"The scan failed: {run.error}\n{worker.log()}")
        if worker.process.poll() is not None:
            pytest.fail(f"The worker exited ({worker.process.returncode}):\n{worker.log()}")
        time.sleep(poll)
    pytest.fail(f"No scan run of task {task_id} reached {sorted(statuses)} within {timeout} s "
                f"(last seen: {run and run.status}):\n{worker.log()}")


def wait_until_acknowledged(broker_url: str, *, worker: Worker, timeout: float = 60) -> None:
    """The task is acknowledged when it returns: after the run is marked succeeded and its
    digests are queued."""
    client = _redis(broker_url)
    deadline = time.monotonic() + timeout
    while client.hlen("unacked"):
        if time.monotonic() > deadline:
            pytest.fail(f"The task was still unacknowledged after {timeout} s:\n{worker.log()}")
        time.sleep(0.1)


# Only the reconcile step inserts findings; it holds this lock until its transaction ends.
WRITING_FINDINGS_SQL = """
    SELECT 1 FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation
    WHERE pg_locks.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND pg_class.relname = %s AND pg_locks.mode = 'RowExclusiveLock' AND pg_locks.pid <> pg_backend_pid()
"""


def wait_until_writing_findings(run: ScanRun, *, worker: Worker, timeout: float = SCAN_SECONDS) -> bool:
    """Wait until another process writes findings in an open transaction; False if `run`
    finished first."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(WRITING_FINDINGS_SQL, [Finding._meta.db_table])
            if cursor.fetchone():
                return True
            if ScanRun.objects.filter(pk=run.pk).exclude(status=ScanRun.Status.RUNNING).exists():
                return False
            if worker.process.poll() is not None:
                pytest.fail(f"The worker exited ({worker.process.returncode}):\n{worker.log()}")
            time.sleep(0.01)
    pytest.fail(f"The worker did not write findings within {timeout} s:\n{worker.log()}")


# What a scan leaves ----------------------------------------------------------------------------


def reported(report: dict) -> Counter:
    return Counter((f["kind"], f["severity"], tuple(sorted(f["use_cases"])), f["title"]) for f in report["findings"])


def statuses_by_fingerprint() -> dict[str, str]:
    return dict(Finding.objects.values_list("fingerprint", "status"))


def assert_same_as_the_scan_command(found: Counter) -> None:
    """The `scan` command on the same data finds exactly the open findings `found` the workers
    wrote: it opens, resolves, reopens and rewrites nothing."""
    statuses, events = statuses_by_fingerprint(), FindingEvent.objects.count()
    report = scan_json()
    assert reported(report) == found
    assert statuses_by_fingerprint() == statuses
    assert FindingEvent.objects.count() == events
    again = ScanRun.objects.get(pk=report["scan_run"])
    assert (again.opened, again.resolved, again.reopened, again.still_open) == (0, 0, 0, sum(found.values()))


# 1. A real worker ------------------------------------------------------------------------------


@pytest.mark.slow
@real_worker_db
def test_a_real_worker_runs_the_all_scans_task_and_records_its_findings(broker_url, start_worker):
    seed_demo_portfolio(use_cases=300, seed=11, today=AS_OF)
    worker = start_worker()

    task_id = send_scan_all(broker_url)
    run = wait_for_run(task_id, {ScanRun.Status.SUCCEEDED}, worker=worker)

    found = open_findings()
    assert run.kinds == ALL_KINDS and run.as_of == AS_OF
    # Every decision of the generated demo is stated; missing decisions and inventory
    # completeness come from imported inventories (seed_demo --federal).
    demo_kinds = set(ALL_KINDS) - {FindingKind.MISSING_DECISION, FindingKind.INVENTORY_COMPLETENESS}
    assert {kind for kind, *_ in found} == demo_kinds, "the demo portfolio holds every kind of problem"
    assert (run.opened, run.still_open, run.resolved, run.reopened) == (sum(found.values()), 0, 0, 0)
    assert run.started_at <= run.finished_at and run.error == ""
    assert ScanRun.objects.count() == 1

    assert_same_as_the_scan_command(found)

    # The worker mailed the owners' digests from their own task, after the scan committed.
    deadline = time.monotonic() + SCAN_SECONDS
    while ScanRun.objects.filter(pk=run.pk, digests_sent_at__isnull=True).exists():
        if time.monotonic() > deadline:
            pytest.fail(f"The digests of run {run.pk} were not sent within {SCAN_SECONDS} s:\n{worker.log()}")
        time.sleep(0.1)
    run.refresh_from_db()
    assert run.digests_sent_at >= run.finished_at
    # The whole log: the digests' HTML parts make it long.
    assert "Subject: Last Mile: " in worker.log_path.read_text(errors="replace")


# 2. A worker killed half way -------------------------------------------------------------------


@pytest.mark.slow
@real_worker_db
def test_a_worker_killed_mid_scan_hands_the_same_run_to_the_next_worker(broker_url, start_worker):
    seed_demo_portfolio(use_cases=300, seed=12, today=AS_OF)
    embeddings.refresh()  # as after an import: the scan that is killed writes findings, it does not embed
    # The redelivered task takes its run over once the lock has expired, so both are short here.
    short_visibility = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
                        "SCAN_LOCK_EXPIRY_SECONDS": str(VISIBILITY_TIMEOUT)}
    first = start_worker(**PAUSED_MID_WRITE, **short_visibility)

    sent_at = time.monotonic()
    task_id = send_scan_all(broker_url)
    running = wait_for_run(task_id, {ScanRun.Status.RUNNING, ScanRun.Status.SUCCEEDED}, worker=first, poll=0.02)
    # Kill it in the worst place: inside the reconcile transaction, findings half inserted.
    assert wait_until_writing_findings(running, worker=first), "The scan finished before the worker could be killed."
    first.kill()

    # Killed, not finished: the run is still "running", the message is still unacknowledged,
    # and nothing of the reconcile transaction was committed.
    at_kill = open_findings()
    events_at_kill = FindingEvent.objects.count()
    assert ScanRun.objects.get(pk=running.pk).status == ScanRun.Status.RUNNING
    unacked = _redis(broker_url).hvals("unacked")
    assert len(unacked) == 1 and task_id.encode() in unacked[0], "acks_late: the task stays unacknowledged"

    # Redis hands an unacknowledged message to a worker that starts after its visibility
    # timeout has passed (kombu restores it when the worker's event loop starts).
    time.sleep(max(0.0, sent_at + VISIBILITY_TIMEOUT + 1 - time.monotonic()))
    second = start_worker(**short_visibility)
    run = wait_for_run(task_id, {ScanRun.Status.SUCCEEDED}, worker=second)

    found = open_findings()
    total = sum(found.values())
    assert total > 0
    assert at_kill == Counter() and events_at_kill == 0, "the killed worker left some of its findings behind"
    # The redelivered task took over its own run: no second run, no finding twice.
    assert run.pk == running.pk and ScanRun.objects.count() == 1
    assert run.opened + run.still_open == total and run.resolved == 0
    assert Finding.objects.count() == total
    assert not [fp for fp, n in Counter(Finding.objects.values_list("fingerprint", flat=True)).items() if n > 1]
    opening_events = Counter(FindingEvent.objects.filter(from_status="").values_list("finding_id", flat=True))
    assert set(opening_events.values()) == {1} and len(opening_events) == total, "each finding opened once"
    wait_until_acknowledged(broker_url, worker=second)

    assert_same_as_the_scan_command(found)


def assert_each_finding_written_once(run: ScanRun) -> Counter:
    """The run's findings, each written and opened once; returns them."""
    found = open_findings()
    total = sum(found.values())
    assert total > 0
    assert run.opened + run.still_open == total and run.resolved == 0
    assert Finding.objects.count() == total
    assert not [fp for fp, n in Counter(Finding.objects.values_list("fingerprint", flat=True)).items() if n > 1]
    opening_events = Counter(FindingEvent.objects.filter(from_status="").values_list("finding_id", flat=True))
    assert set(opening_events.values()) == {1} and len(opening_events) == total, "each finding opened once"
    return found


@pytest.mark.slow
@real_worker_db
def test_a_scan_handed_back_at_once_by_its_killed_pool_process_runs_when_its_lock_expires(broker_url, start_worker):
    seed_demo_portfolio(use_cases=300, seed=13, today=AS_OF)
    embeddings.refresh()  # as after an import: the scan that is killed writes findings, it does not embed
    # The pool process dies, the worker lives: the worker hands the message back at once
    # (reject_on_worker_lost), and the task, delivered again, finds its own run "running"
    # under the dead process's lock. Redis's visibility timeout (an hour) plays no part.
    # The pool process that takes the run over pauses as the killed one did, for less long.
    worker = start_worker(pool="prefork", **{**PAUSED_MID_WRITE, "PAUSE_IN_RECONCILE": "5"}, **LONG_VISIBILITY)

    task_id = send_scan_all(broker_url)
    killed = wait_for_run(task_id, {ScanRun.Status.RUNNING, ScanRun.Status.SUCCEEDED}, worker=worker, poll=0.02)
    assert wait_until_writing_findings(killed, worker=worker), "The scan finished before its process could be killed."
    worker.kill_pool_process()

    run = wait_for_run(task_id, {ScanRun.Status.SUCCEEDED}, worker=worker, timeout=LOCK_EXPIRY + SCAN_SECONDS)

    # The same run, taken over once the dead process's lock had expired: not before (it might
    # have been alive), and not a fixed wait later, whatever the expiry.
    assert run.pk == killed.pk and ScanRun.objects.count() == 1
    taken_over_after = (run.started_at - killed.started_at).total_seconds()
    assert LOCK_EXPIRY <= taken_over_after <= LOCK_EXPIRY + TAKEOVER_SLACK, (
        f"taken over {taken_over_after:.1f} s after it started, with a lock of {LOCK_EXPIRY} s:\n{worker.log()}"
    )
    assert run.requeues == 0
    assert_each_finding_written_once(run)
    wait_until_acknowledged(broker_url, worker=worker)


@pytest.mark.slow
@real_worker_db
def test_a_scan_whose_worker_died_is_requeued_by_the_sweep_long_before_the_visibility_timeout(broker_url, start_worker):
    seed_demo_portfolio(use_cases=300, seed=14, today=AS_OF)
    embeddings.refresh()  # as after an import: the scan that is killed writes findings, it does not embed
    first = start_worker(**PAUSED_MID_WRITE, **LONG_VISIBILITY)

    task_id = send_scan_all(broker_url)
    killed = wait_for_run(task_id, {ScanRun.Status.RUNNING, ScanRun.Status.SUCCEEDED}, worker=first, poll=0.02)
    seen_running = time.monotonic()
    assert wait_until_writing_findings(killed, worker=first), "The scan finished before the worker could be killed."
    first.kill()

    # The whole worker is gone: its message stays unacknowledged in Redis for an hour, and a
    # worker that starts now does not get it.
    second = start_worker(**LONG_VISIBILITY)
    time.sleep(max(0.0, seen_running + LOCK_EXPIRY + 1 - time.monotonic()))
    assert ScanRun.objects.get(pk=killed.pk).status == ScanRun.Status.RUNNING
    assert len(_redis(broker_url).hvals("unacked")) == 1

    # Beat's sweep, once the lock has expired, hands the run to a worker again.
    send_task(broker_url, SWEEP_TASK)
    run = wait_for_run(task_id, {ScanRun.Status.SUCCEEDED}, worker=second)

    assert run.pk == killed.pk and ScanRun.objects.count() == 1
    assert run.requeues == 1 and run.requeued_at is not None, "the run says it was re-queued"
    assert run.started_at > killed.started_at
    found = assert_each_finding_written_once(run)
    second.wait_for_log(f"Task {SWEEP_TASK}[")
    second.stop()

    # Redis hands the killed worker's message out at last (a worker with a short visibility
    # timeout, as an hour later): it finds its run done and scans nothing again.
    statuses, events = statuses_by_fingerprint(), FindingEvent.objects.count()
    third = start_worker(CELERY_VISIBILITY_TIMEOUT="1", SCAN_LOCK_EXPIRY_SECONDS=str(LOCK_EXPIRY))
    third.wait_for_log(f"Task portfolio.tasks.scan_all[{task_id}] succeeded")
    again = ScanRun.objects.get(pk=run.pk)
    assert (again.status, again.started_at, again.finished_at) == (run.status, run.started_at, run.finished_at)
    assert ScanRun.objects.count() == 1
    assert open_findings() == found and statuses_by_fingerprint() == statuses
    assert FindingEvent.objects.count() == events


@pytest.mark.slow
@real_worker_db
def test_a_scan_handed_over_while_its_first_worker_still_runs_it_is_written_by_the_second_worker_only(
    broker_url, start_worker
):
    seed_demo_portfolio(use_cases=300, seed=15, today=AS_OF)
    embeddings.refresh()  # as after an import: the scans detect, nobody embeds
    lock = {"SCAN_LOCK_EXPIRY_SECONDS": str(LOCK_EXPIRY)}
    # The first worker's detectors, all at once, each outlast the lock by far: its scan is
    # taken for dead, and handed over, before it has written anything.
    late = start_worker(app=SLOW_PARTS_APP, SLOW_SCAN_PARTS=",".join(f"{kind}={LATE_DETECTOR_SECONDS}" for kind in ALL_KINDS),
                        SCAN_PROCESSES=str(len(ALL_KINDS)), **lock)
    # Beat's sweep, on a worker of its own so that it runs while the first worker is busy.
    sweeper = start_worker(queues="sweep", **lock)

    task_id = send_scan_all(broker_url)
    first_attempt = wait_for_run(task_id, {ScanRun.Status.RUNNING}, worker=late, poll=0.02)
    # Started only now, or it could have taken the scan task itself: the worker the sweep
    # hands the run to.
    second = start_worker(**lock)
    time.sleep(max(0.0, (first_attempt.started_at - timezone.now()).total_seconds() + LOCK_EXPIRY + 0.5))
    sweep_id = send_task(broker_url, SWEEP_TASK, queue="sweep")
    sweeper.wait_for_log(f"Task {SWEEP_TASK}[{sweep_id}] succeeded")
    run = wait_for_run(task_id, {ScanRun.Status.SUCCEEDED}, worker=second)
    assert f"portfolio.tasks.scan_all[{task_id}] succeeded" not in late.log_path.read_text(errors="replace"), (
        f"The first worker finished its scan before the second one; raise LATE_DETECTOR_SECONDS:\n{late.log()}"
    )
    written, events = statuses_by_fingerprint(), FindingEvent.objects.count()

    # The first worker's detectors finish at last: its attempt is over, so it writes nothing.
    late.wait_for_log(f"Task portfolio.tasks.scan_all[{task_id}] succeeded", timeout=LATE_DETECTOR_SECONDS + SCAN_SECONDS)
    again = ScanRun.objects.get(pk=run.pk)
    assert (again.attempt, again.requeues, again.status) == (2, 1, ScanRun.Status.SUCCEEDED)
    assert (again.opened, again.still_open, again.finished_at) == (run.opened, run.still_open, run.finished_at)
    assert AuditEntry.objects.filter(kind="scan", subject_type="scan", subject_id=run.pk).count() == 1
    assert (statuses_by_fingerprint(), FindingEvent.objects.count()) == (written, events)
    assert "handed over while it ran" in late.log_path.read_text(errors="replace")
    found = assert_each_finding_written_once(again)
    assert_same_as_the_scan_command(found)


# Subprocesses on a SQLite file of their own -----------------------------------------------------


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A migrated SQLite database file, made once; tests work on copies."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    # Over a minute on a machine at load 10: the timeout only stops a hung process.
    result = manage(path, "migrate", "--verbosity", "0", timeout=300)
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def sqlite_copy(migrated_sqlite, tmp_path) -> Path:
    path = tmp_path / "db.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    return path


def manage(database: Path, *arguments: str, redis_url: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        # Set even when empty, so a .env file cannot supply one.
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
    }
    return subprocess.run([sys.executable, "manage.py", *arguments], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=timeout)


# 3. The broker down ----------------------------------------------------------------------------


BROKER_DOWN_SCRIPT = """
import datetime, json
from core.actors import COMMAND
from portfolio.models import ScanRun
from portfolio.services.scans import BrokerUnavailable, start_scan
from core.actors import COMMAND
from registry.services import decisions, directory, use_cases
from registry.models import Decision, UseCase

out = {}
try:
    start_scan(as_of=datetime.date(2025, 6, 30), actor=COMMAND)
    out["message"] = None
except BrokerUnavailable as exc:
    out["message"] = str(exc)
out["runs"] = list(ScanRun.objects.values_list("status", "error"))

unit = directory.business_unit_named(name="Finance", actor=COMMAND)
owner, _ = directory.upsert_person(email="ada@example.com", name="Ada Lovelace", business_unit=unit, actor=COMMAND)
decision = decisions.save_decision(decision=Decision(
    statement="Which supplier invoices do we pay early this week?", business_unit=unit, owner=owner,
), actor=COMMAND)
use_cases.register_use_case(use_case=UseCase(
    decision=decision, external_id="FIN-001", title="Early payment optimiser", business_unit=unit, business_owner=owner,
), actor=COMMAND)
use_case = UseCase.objects.get(external_id="FIN-001")
use_case.summary = "Ranks open invoices by the value of paying them early."
use_cases.edit_use_case(use_case=use_case, actor=COMMAND, expected_version=use_case.version)
out["use_case"] = list(UseCase.objects.values_list("external_id", "stage", "version", "summary"))
print("RESULT " + json.dumps(out))
"""


def test_with_the_broker_down_starting_a_scan_says_so_and_registry_writes_still_work(sqlite_copy):
    started = time.monotonic()
    # Nothing listens on port 1: the broker (and result store) cannot be reached.
    result = manage(sqlite_copy, "shell", "-c", BROKER_DOWN_SCRIPT, redis_url="redis://127.0.0.1:1/0", timeout=60)
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr[-3000:]
    line = next((line for line in result.stdout.splitlines() if line.startswith("RESULT ")), None)
    assert line, result.stdout + result.stderr[-3000:]
    out = json.loads(line.removeprefix("RESULT "))
    assert out["message"] and "broker (Redis) cannot be reached" in out["message"]
    assert "Registry edits still work" in out["message"]
    [(status, error)] = out["runs"]
    assert status == ScanRun.Status.FAILED
    assert error.startswith("Not started: the task broker cannot be reached")
    assert out["use_case"] == [["FIN-001", "proposed", 2, "Ranks open invoices by the value of paying them early."]]
    # Three sends meet the broker down (the scan, and the embedding the register and the edit ask
    # for), each given up at the first refusal (core.workers.send_failing_fast); through kombu's
    # pooled connection each waited about 6 s, 18 s in all. What is left is starting Django (2 s
    # on a slow machine) and the writes. Subscribing to the result store, as sending without
    # ignore_result does, would add its own ~20 s of retries.
    assert elapsed < 8, f"saying the broker is down took {elapsed:.1f} s"


# 4. The scan command as a process: its JSON contract ------------------------------------------


@pytest.mark.slow
def test_the_scan_command_prints_one_json_object_and_exits_non_zero_on_bad_input(sqlite_copy):
    seeded = manage(sqlite_copy, "seed_demo", "--use-cases", "150", "--seed", "5", "--today", AS_OF.isoformat())
    assert seeded.returncode == 0, seeded.stderr[-3000:]

    result = manage(sqlite_copy, "scan", "--as-of", AS_OF.isoformat(), "--json")

    assert result.returncode == 0, result.stderr[-3000:]
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"stdout is not one JSON object and nothing else ({exc}); it starts:\n{result.stdout[:1500]}")
    assert isinstance(report, dict) and report["as_of"] == AS_OF.isoformat()
    assert {f["kind"] for f in report["findings"]} <= set(ALL_KINDS) and report["findings"]
    for finding in report["findings"]:
        assert FINDING_KEYS <= finding.keys()
        assert finding["use_cases"] == sorted(finding["use_cases"])

    bad_date = manage(sqlite_copy, "scan", "--as-of", "2025-02-30", "--json")
    assert bad_date.returncode != 0 and bad_date.stdout == ""
    assert "'2025-02-30' is not a date in the form YYYY-MM-DD" in bad_date.stderr
    bad_kind = manage(sqlite_copy, "scan", "--kind", "unicorns", "--json")
    assert bad_kind.returncode != 0 and bad_kind.stdout == ""
    assert "invalid choice: 'unicorns'" in bad_kind.stderr
