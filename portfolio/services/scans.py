"""Running scans: one code path for the `scan` command, the Celery tasks, the admin and the API.

Two scans never overlap: a database constraint allows one running ScanRun at a time, and a
run that has been "running" longer than SCAN_LOCK_EXPIRY_SECONDS is taken to belong to a dead
worker (for a spread scan, counted from the last time one of its parts started or stored: its
lock is renewed as it goes, so a chord longer than the expiry is not taken for dead). Its own
redelivered task takes it over; another scan wanting the lock fails it as abandoned. A scan
finding the lock taken waits (its task retries) until the run holding it finishes or its lock
expires, however long the expiry. A finished run is never run again.

Nothing is left queued or running for nobody: every few minutes beat's sweep
(requeue_stuck_scans) hands to a worker again the runs left queued, or left running by a dead
worker, past the lock expiry.

A worker (with a broker, unless SCAN_SPREAD_OVER_WORKERS is off) does not run a scan alone:
spread_scan claims it and sends a chord of one part per detector (run_scan_part, storing what it
found in scan_parts; each on the queue SCAN_PART_QUEUES names for its kind, or the default
one) and one reconcile of them all (finish_spread_scan), through the same _record_results as a
scan in one process (execute_scan, which the `scan` command runs). Each claim counts up the
run's attempt, which the chord carries: when the sweep hands over a run whose chord was taken
for dead, what that chord still delivers (a part, its reconcile, its error callback) finds its
attempt over and writes nothing; a scan run whole checks its attempt as it commits, so one handed
over while it still ran rolls back. A part routed (SCAN_PART_QUEUES) to a queue no worker
consumes fails the run before the chord is sent.

The Celery tasks (portfolio/tasks.py) call these services, so this module never imports
them: it hands work to a task by its registered name (core.workers.task_named).
"""

from __future__ import annotations

import ctypes
import datetime
import importlib
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import re
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import NoReturn

from celery import chord, current_app, current_task, group
from celery.exceptions import Retry
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from core.actors import NIGHTLY_SCAN, SystemActor, acting, acting_user
from core.errors import Conflict, InvalidInput, NotAllowed, Refused, Unavailable
from core.workers import hand_to_worker, send_failing_fast, task_named
from registry import audit

from .. import embeddings
from ..access import can_run_scans
from ..detectors.base import Digested
from ..models import FindingKind, Policy, ScanPart, ScanRun
from ..pricing import price_findings
from . import scan_parts
from .findings import ReconcileResult, reconcile

logger = logging.getLogger(__name__)

# The tasks this service hands work to, by their registered names (see the module docstring).
RUN_QUEUED_SCAN_TASK = "portfolio.tasks.run_queued_scan"
SCAN_PART_TASK = "portfolio.tasks.scan_part"
FINISH_SPREAD_SCAN_TASK = "portfolio.tasks.finish_spread_scan"
FAIL_SPREAD_SCAN_TASK = "portfolio.tasks.fail_spread_scan"
SEND_DIGESTS_TASK = "portfolio.tasks.send_scan_digests_task"
SEAL_AUDIT_LOG_TASK = "portfolio.tasks.seal_audit_log_task"

# What pg_export_snapshot() returns, e.g. 00000003-0000001B-1.
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+(-[0-9A-F]+)+")

# Detectors by dotted path, imported when a scan needs them: the duplicate detector pulls in
# SciPy, which pages and commands that never scan should not pay for.
DETECTORS: dict[str, str] = {
    FindingKind.STALLED_PILOT: "portfolio.detectors.stalled_pilots",
    FindingKind.DUPLICATE_CAPABILITY: "portfolio.detectors.duplicates",
    FindingKind.ORPHANED_OWNERSHIP: "portfolio.detectors.orphaned_ownership",
    FindingKind.BROKEN_FEEDBACK_LOOP: "portfolio.detectors.feedback_loops",
    FindingKind.MISSING_DECISION: "portfolio.detectors.missing_decision",
    FindingKind.INVENTORY_COMPLETENESS: "portfolio.detectors.inventory_completeness",
    FindingKind.HIGH_IMPACT_PRACTICES: "portfolio.detectors.high_impact_practices",
    FindingKind.VALUE_NOT_REALISED: "portfolio.detectors.value_not_realised",
    FindingKind.LOPSIDED_INVESTMENT: "portfolio.detectors.lopsided_investment",
}
ALL_KINDS = list(DETECTORS)
# The detectors the processes start first: the slowest, so that the last to start is a short one,
# then those finding the most, so that writing their tens of thousands of findings starts early.
DETECTED_FIRST = [FindingKind.DUPLICATE_CAPABILITY, FindingKind.ORPHANED_OWNERSHIP, FindingKind.STALLED_PILOT]

# A scan waiting for another one looks again this often, or as soon as the other's lock
# expires if that is sooner. It waits as long as some scan holds the lock, with no cap on the
# retries: each run holds the lock at most SCAN_LOCK_EXPIRY_SECONDS.
RECHECK_RUNNING_SCAN_SECONDS = 60
# How often a claim tries again when the run holding the lock finished as it looked for it.
CLAIM_ATTEMPTS = 3
# The sweep gives up on a run it has re-queued this often without its finishing (a scan that
# kills its worker every time must not take the workers down forever), and on a run queued
# longer ago than this: a scan that old would undo what the scans since have found.
MAX_REQUEUES = 3
REQUEUE_WITHIN = datetime.timedelta(days=1)
# How long a spread scan waits, after the last answer, for workers to say which queues they
# consume, when one of its parts is routed to a queue nobody has named yet: an idle worker or a
# busy one's main process answers within milliseconds, a loaded machine's in well under this.
QUEUE_ANSWER_SECONDS = 2.0


def detector(kind: str) -> Callable:
    return importlib.import_module(DETECTORS[kind]).detect


def detect_and_price(kind: str, *, as_of: datetime.date, policy: Policy) -> list[Digested]:
    """What the detector of `kind` finds on `as_of`, priced and digested: ready to reconcile (and
    cheap to send from a detector process, or to store as a part of a spread scan)."""
    found = detector(kind)(as_of=as_of, policy=policy)
    price_findings(found, as_of=as_of)
    return [each.digested() for each in found]


def detect_all(kinds: list[str], *, as_of: datetime.date, policy: Policy) -> list[Digested]:
    """What the detectors of `kinds` find on `as_of`, priced, in the order of `kinds`."""
    with detecting(kinds, as_of=as_of, policy=policy) as found_by_kind:
        found = dict(found_by_kind)
    return [each for kind in kinds for each in found[kind]]


@contextmanager
def detecting(kinds: list[str], *, as_of: datetime.date, policy: Policy) -> Iterator[Iterator[tuple[str, list[Digested]]]]:
    """(kind, what its detector found, priced) for each of `kinds`, as each detector finishes.

    On PostgreSQL, with SCAN_PROCESSES above 1 and outside any transaction, that many forked
    processes run them, each on its own connection in a REPEATABLE READ transaction that imports
    one exported snapshot: together they judge the database as it stood at one instant, as one
    process running them in turn inside one transaction would. Processes, not threads: the
    detectors are mostly Python, which threads would run one at a time, and with them the
    caller's writing. Once every process holds the snapshot, this process's connection is free:
    the caller writes the first kinds' findings while the others are still detected. Elsewhere
    (SQLite, inside a caller's transaction, whose writes other connections cannot see) they all
    run in turn, here, before the caller sees any.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    processes = min(settings.SCAN_PROCESSES, len(kinds))
    if processes <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        yield iter([(kind, detect_and_price(kind, as_of=as_of, policy=policy)) for kind in kinds])
        return
    side_by_side = _DetectorProcesses(kinds, processes, as_of=as_of, policy=policy)
    try:
        yield side_by_side.results()
    finally:
        side_by_side.stop()


class _DetectorProcesses:
    """Forked processes sharing out the detectors of `kinds` in one exported snapshot (see
    `detecting`); each sends back on its own pipe what it found, priced and digested.

    Forked with os.fork rather than multiprocessing's Process, which refuses to start children
    from a daemonic process, as a Celery worker's pool process is. Each process dies with the
    thread that forked it (Linux's parent-death signal), so a killed scan leaves no detector
    holding a connection; the pipe of one that dies without saying it is done reads as its end,
    and fails the scan."""

    def __init__(self, kinds: list[str], processes: int, *, as_of: datetime.date, policy: Policy):
        context = multiprocessing.get_context("fork")
        self.pending = set(kinds)
        waiting = context.SimpleQueue()
        first = {kind: place for place, kind in enumerate(DETECTED_FIRST)}
        for kind in sorted(kinds, key=lambda kind: first.get(kind, len(first))):
            waiting.put(kind)
        for _ in range(processes):
            waiting.put(None)  # one "no more" for each
        pipes = [context.Pipe(duplex=False) for _ in range(processes)]
        self.readers, self.pids, self.holding = [], [], 0
        connection = connections[DEFAULT_DB_ALIAS]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            [(snapshot,)] = cursor.fetchall()
            parent = os.getpid()
            self.early: list[tuple[str, list[Digested]]] = []
            try:
                for reader, writer in pipes:
                    pid = os.fork()
                    if pid == 0:
                        for other_reader, other_writer in pipes:
                            other_reader.close()
                            if other_writer is not writer:
                                other_writer.close()
                        _run_forked(parent, _detect_in_process, snapshot, waiting, writer, as_of, policy)
                    self.readers.append(reader)
                    self.pids.append(pid)
                for _, writer in pipes:
                    writer.close()
                # A snapshot can be imported only while its exporter's transaction lasts; the
                # first to hold it may send a kind before the last holds it.
                while self.holding < processes:
                    self.early += self._receive()
            except BaseException:  # a fork refused, or a process that failed: none left running
                self.stop()
                raise

    def _receive(self) -> list[tuple[str, list[Digested]]]:
        """The kinds detected since the last call, waiting until some process sends something;
        a process that failed, or ended without saying it was done, raises."""
        detected = []
        for reader in multiprocessing.connection.wait(self.readers):
            try:
                message = reader.recv()
            except EOFError:
                raise RuntimeError("A detector process ended before it sent what it found "
                                   "(killed, or out of memory?).") from None
            match message:
                case ("holding",):
                    self.holding += 1
                case ("done",):
                    self.readers.remove(reader)
                    reader.close()
                case ("failed", error):
                    raise error
                case (kind, found):
                    self.pending.discard(kind)
                    detected.append((kind, found))
        return detected

    def results(self) -> Iterator[tuple[str, list[Digested]]]:
        yield from self.early
        while self.pending:
            yield from self._receive()

    def stop(self) -> None:
        """Wait for the processes; when the caller stops early (an error, its own or a
        detector's), kill them first: what they would still find is not wanted, and their
        snapshot's transaction holds nothing they would need to undo."""
        if self.pending:
            for pid in self.pids:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for reader in self.readers:
            reader.close()
        for pid in self.pids:
            with suppress(ChildProcessError):  # reaped already, by a SIGCHLD handler say
                os.waitpid(pid, 0)
        self.readers, self.pids = [], []


def _run_forked(parent: int, work: Callable, *arguments) -> NoReturn:
    """The forked child: `work`, then out, whatever happens, running none of the parent's exit
    handlers nor returning into its stack."""
    status = 1
    try:
        _die_with_parent(parent)
        work(*arguments)
        status = 0
    finally:
        os._exit(status)


def _die_with_parent(parent: int) -> None:
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # died before the line above
        os._exit(1)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
# The connections a detector process inherits from its parent: kept referenced, never used nor
# closed, for closing one would end the parent's session on the socket they share.
_PARENTS_CONNECTIONS: list = []


def _detect_in_process(snapshot: str, waiting, results, as_of: datetime.date, policy: Policy) -> None:
    for alias in connections:
        _PARENTS_CONNECTIONS.append(connections[alias])
        connections[alias] = connections.create_connection(alias)
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # A utility statement takes no parameter bound on the server (as values are with
            # DATABASE_PREPARE_THRESHOLD set): the id PostgreSQL exported goes in as a literal.
            if not _SNAPSHOT_ID.fullmatch(snapshot):
                raise ValueError(f"Not a snapshot id PostgreSQL exports: {snapshot!r}")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            results.send(("holding",))
            while (kind := waiting.get()) is not None:
                results.send((kind, detect_and_price(kind, as_of=as_of, policy=policy)))
        results.send(("done",))
    except BaseException as error:  # raised in the parent
        results.send(("failed", error if _picklable(error) else RuntimeError(f"{error.__class__.__name__}: {error}")))
        raise
    finally:
        connection.close()


def _picklable(error: BaseException) -> bool:
    try:
        pickle.dumps(error)
    except Exception:
        return False
    return True


def lock_expiry() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.SCAN_LOCK_EXPIRY_SECONDS)


class ScanAlreadyRunning(Conflict):
    """Another scan holds the lock; `running` is that run, if it could be read."""

    def __init__(self, running: ScanRun | None):
        self.running = running
        if running is not None and running.started_at is not None:
            which = f"Another scan (run {running.pk}, started {running.started_at:%Y-%m-%d %H:%M:%S %Z})"
        elif running is not None:
            which = f"Another scan (run {running.pk})"
        else:
            which = "Another scan"
        super().__init__(f"{which} is still running; try again when it has finished.")

    def recheck_in(self) -> int:
        """Seconds to wait before trying again: RECHECK_RUNNING_SCAN_SECONDS, or until just
        after the running scan's lock expires if that is sooner."""
        held_since = None if self.running is None else self.running.lock_renewed_at or self.running.started_at
        if held_since is None:
            return RECHECK_RUNNING_SCAN_SECONDS
        until_expiry = (held_since + lock_expiry() - timezone.now()).total_seconds()
        return max(1, min(RECHECK_RUNNING_SCAN_SECONDS, math.ceil(until_expiry) + 1))


def unknown_kinds(kinds: list[str]) -> list[str]:
    return [kind for kind in kinds if kind not in DETECTORS]


def queue_scan(
    *, kinds: list[str] | None = None, as_of: datetime.date | None = None, actor, task_id: str = ""
) -> ScanRun:
    """Record a scan to be run, as `actor` (the program office, or the system acting as it);
    the caller hands its id to a worker or runs it at once."""
    if not can_run_scans(actor):
        raise NotAllowed("Only the program office runs scans.")
    kinds = kinds or ALL_KINDS
    if unknown := unknown_kinds(kinds):
        raise InvalidInput(f"Unknown scan kind: {', '.join(unknown)}. Known: {', '.join(ALL_KINDS)}.", field="kinds")
    return ScanRun.objects.create(
        kinds=list(dict.fromkeys(kinds)), as_of=as_of or timezone.localdate(),
        triggered_by=acting_user(actor), task_id=task_id,
    )


def _lock_expired(now: datetime.datetime) -> Q:
    """Runs whose lock, taken at their start and renewed by a spread scan's parts, has expired."""
    cutoff = now - lock_expiry()
    return Q(lock_renewed_at__lt=cutoff) | Q(lock_renewed_at__isnull=True, started_at__lt=cutoff)


def _expire_abandoned_runs(*, but: ScanRun) -> None:
    """Fail the runs other than `but` still running after the lock expiry: their workers died."""
    ScanRun.objects.filter(_lock_expired(timezone.now()), status=ScanRun.Status.RUNNING).exclude(
        pk=but.pk
    ).update(
        status=ScanRun.Status.FAILED, finished_at=timezone.now(),
        error="Abandoned: still running after the lock expiry, so its worker presumably died.",
    )


def _claim(scan_run: ScanRun) -> None:
    """Mark `scan_run` running, or raise ScanAlreadyRunning if another one is."""
    for _attempt in range(CLAIM_ATTEMPTS):
        _expire_abandoned_runs(but=scan_run)
        now = timezone.now()
        # A queued run may be claimed; a failed one again by its own retried or redelivered
        # task; a running one only once its lock has expired (its worker died), or one
        # delivery would overlap another.
        claimable = Q(status__in=[ScanRun.Status.QUEUED, ScanRun.Status.FAILED]) | (
            Q(status=ScanRun.Status.RUNNING) & _lock_expired(now)
        )
        try:
            with transaction.atomic():
                claimed = ScanRun.objects.filter(claimable, pk=scan_run.pk).update(
                    status=ScanRun.Status.RUNNING, started_at=now, lock_renewed_at=None, attempt=F("attempt") + 1,
                    finished_at=None, error="",
                )
        except IntegrityError:
            running = ScanRun.objects.filter(status=ScanRun.Status.RUNNING).exclude(pk=scan_run.pk).first()
            if running is None:
                continue  # The run holding the lock finished as we looked: the lock is free.
            raise ScanAlreadyRunning(running) from None
        scan_run.refresh_from_db()
        if claimed:
            return
        if scan_run.status == ScanRun.Status.RUNNING:
            raise ScanAlreadyRunning(scan_run)
        if scan_run.status == ScanRun.Status.SUCCEEDED:
            raise Refused(f"Scan run {scan_run.pk} has already succeeded.")
        # Its status changed as we claimed it (the sweep re-queued it): look again.
    # Every attempt found the lock taken and then free: scans are starting and finishing
    # back to back. Wait like for any running scan.
    raise ScanAlreadyRunning(None)


def scan_actor(scan_run: ScanRun) -> SystemActor:
    """Who the audit log names as the writer of a scan's findings."""
    if scan_run.triggered_by_id:
        return SystemActor(f"scan started by {scan_run.triggered_by.get_username()}")
    if scan_run.task_id:
        return NIGHTLY_SCAN
    return SystemActor("scan from the command line")


def _record_in_audit_log(scan_run: ScanRun) -> None:
    """The run's entry in the audit log, with its figures."""
    audit.record_event(
        kind="scan", record_type="scan run", subject_type="scan", subject_id=scan_run.pk,
        actor=scan_actor(scan_run).name, reason=f"{', '.join(scan_run.kinds)} as of {scan_run.as_of.isoformat()}",
        detail={"opened": scan_run.opened, "still_open": scan_run.still_open, "resolved": scan_run.resolved,
                "reopened": scan_run.reopened},
    )


def _anchor(scan_run: ScanRun) -> None:
    """The audit log's entries handed to a worker to seal (a first scan writes a hundred
    thousand: their chain is no part of the scan's time), and the chain's head kept in the run,
    an anchor an auditor can copy elsewhere and check the log against. With tasks run in
    process (no broker configured), it is sealed here and the head includes the run."""
    # With the broker unreachable, beat's sealing catches up within minutes.
    hand_to_worker(task_named(SEAL_AUDIT_LOG_TASK), run_here_if_unreachable=False)
    head = audit.chain_head()
    scan_run.audit_head_seq, scan_run.audit_head_hash = head.seq, head.chain_hash
    scan_run.save(update_fields=["audit_head_seq", "audit_head_hash"])


def execute_scan(scan_run: ScanRun) -> ScanRun:
    """Run the detectors of `scan_run` in this process and reconcile their findings in one
    transaction."""
    _claim(scan_run)
    # Whatever the scan writes (findings, embeddings, the policy's first row) names it.
    with _failing(scan_run), acting(scan_actor(scan_run)):
        _embed_for(scan_run)
        with detecting(scan_run.kinds, as_of=scan_run.as_of, policy=Policy.current()) as found_by_kind:
            return _record_results(scan_run, found_by_kind)


@contextmanager
def _failing(scan_run: ScanRun):
    """Mark `scan_run` (its attempt just claimed) failed, its lock released, with the error that
    escapes."""
    try:
        yield
    except Exception as exc:
        fail_scan_run(scan_run.pk, attempt=scan_run.attempt, error=f"{exc.__class__.__name__}: {exc}")
        raise


def fail_scan_run(scan_run_id: int, *, attempt: int, error: str) -> None:
    """Attempt `attempt` at a scan stops for good: the run failed with `error`, which frees the
    lock, and the parts it stored dropped. A later attempt (the sweep handed the run over) is
    left to run."""
    with transaction.atomic():
        if ScanRun.objects.filter(pk=scan_run_id, attempt=attempt).exclude(status=ScanRun.Status.SUCCEEDED).update(
            status=ScanRun.Status.FAILED, finished_at=timezone.now(), error=error
        ):
            ScanPart.objects.filter(scan_run_id=scan_run_id).delete()


def _embed_for(scan_run: ScanRun) -> None:
    if FindingKind.DUPLICATE_CAPABILITY in scan_run.kinds:
        # The duplicates detector reads stored vectors: embed what changed since the last scan.
        embeddings.refresh()


def _record_results(scan_run: ScanRun, found_by_kind: Iterable[tuple[str, list[Digested]]]) -> ScanRun:
    """Reconcile what the run's detectors found and mark the run succeeded, in one transaction;
    then queue its digests. If the attempt was handed over meanwhile (it outlived its lock and
    the sweep gave the run to another worker), everything it wrote is rolled back: the run is
    that worker's."""
    try:
        with transaction.atomic():
            _check_references_as_written()
            _reconcile_and_record(scan_run, found_by_kind)
    except AttemptOver:
        logger.warning("Scan run %s, attempt %s: handed over while it ran; what it found is dropped",
                       scan_run.pk, scan_run.attempt)
        scan_run.refresh_from_db()
        return scan_run
    return _after_success(scan_run)


def _check_references_as_written() -> None:
    """In the caller's transaction, check each foreign key as its statement writes it rather
    than all at commit: the first kinds' findings are written while the detector processes still
    run, and so are their checks (a first scan's hundreds of thousands of rows), instead of
    all after the last detector."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _reconcile_and_record(scan_run: ScanRun, found_by_kind: Iterable[tuple[str, list[Digested]]]) -> None:
    """Inside the caller's transaction: the findings of each kind reconciled (as `found_by_kind`
    yields them), then, the run's row locked and its attempt found still running, the run's
    figures, success and audit log entry recorded and its stored parts dropped: committed
    together, so a worker killed after the commit leaves no run without its entry. Raises
    AttemptOver, for the caller to roll back, when the attempt is over."""
    result = ReconcileResult()
    for kind, detected in found_by_kind:
        result.add(reconcile(kinds=[kind], detected=detected, as_of=scan_run.as_of, scan_run=scan_run))
    if not ScanRun.objects.select_for_update().filter(
        pk=scan_run.pk, status=ScanRun.Status.RUNNING, attempt=scan_run.attempt
    ).exists():
        raise AttemptOver(f"Scan run {scan_run.pk}: attempt {scan_run.attempt} is over.")
    scan_parts.clear_parts(scan_run)
    scan_run.opened = len(result.opened) + len(result.reopened)
    scan_run.still_open, scan_run.resolved, scan_run.reopened = result.still_open, result.resolved, len(result.reopened)
    scan_run.status, scan_run.finished_at = ScanRun.Status.SUCCEEDED, timezone.now()
    scan_run.save(update_fields=["opened", "still_open", "resolved", "reopened", "status", "finished_at"])
    _record_in_audit_log(scan_run)


class AttemptOver(Exception):
    """The attempt at a run being recorded is over: the run failed, or was handed over, meanwhile."""


def _after_success(scan_run: ScanRun) -> ScanRun:
    _anchor(scan_run)
    if scan_run.opened:
        _queue_digests(scan_run)
    return scan_run


def _finish_success_cut_short(scan_run: ScanRun) -> ScanRun:
    """A run delivered again once it has succeeded: if the worker that recorded its success
    died before anchoring it in the audit log (its head unset), anchor it and queue its digests
    now (their sender's lease keeps a second sending from mailing anyone twice)."""
    if scan_run.status == ScanRun.Status.SUCCEEDED and scan_run.audit_head_seq is None:
        return _after_success(scan_run)
    return scan_run


# --- A scan spread over workers --------------------------------------------------------------


def part_queue(kind: str) -> str | None:
    """The queue SCAN_PART_QUEUES sends the part of `kind` to; None: the default queue."""
    return settings.SCAN_PART_QUEUES.get(kind)


def check_part_queues() -> None:
    """Refuse a SCAN_PART_QUEUES that routes a kind no detector has: a misspelt kind would leave
    the detector it meant on the default queue, unnoticed."""
    if unknown := unknown_kinds(list(settings.SCAN_PART_QUEUES)):
        raise ImproperlyConfigured(
            f"SCAN_PART_QUEUES names an unknown scan kind: {', '.join(unknown)}. Known: {', '.join(ALL_KINDS)}."
        )


class NoWorkerForQueue(Unavailable):
    """A part of a spread scan would go to a queue no worker consumes."""


class _EveryQueueHeardOf(Exception):
    """Raised from the broadcast's reply callback to stop listening: nothing more to learn."""


def _queues_of_this_worker() -> set[str]:
    """The queues the worker running this code consumes, if it is one: on a solo pool it cannot
    answer a broadcast while it runs the scan's own task."""
    if not current_task or current_task.request.is_eager or not current_task.request.hostname:
        return set()
    return set(current_task.app.amqp.queues.consume_from)


def queues_without_a_worker(queues: set[str]) -> set[str]:
    """Of `queues`, those no worker says it consumes: this worker's own, then the answers to a
    broadcast asking every worker (Celery's inspect active_queues), which a worker's main
    process answers even while its pool runs tasks (a solo worker, running its task in that
    process, answers only between tasks). The broadcast stops as soon as every queue is
    accounted for; only a queue nobody names waits QUEUE_ANSWER_SECONDS past the last answer."""
    unheard = set(queues) - _queues_of_this_worker()
    if not unheard:
        return unheard

    def heard(reply: dict) -> None:
        for consumed in reply.values():
            if isinstance(consumed, list):
                unheard.difference_update(queue["name"] for queue in consumed)
        if not unheard:
            raise _EveryQueueHeardOf

    try:
        current_app.control.inspect(timeout=QUEUE_ANSWER_SECONDS, callback=heard).active_queues()
    except _EveryQueueHeardOf:
        pass
    return unheard


def _refuse_queues_no_worker_consumes(scan_run: ScanRun) -> None:
    """Raise NoWorkerForQueue, naming each kind, its queue and the setting, when SCAN_PART_QUEUES
    sends a part of `scan_run` to a queue no worker consumes: the chord would wait for it until
    the sweep failed the run, a lock expiry or more later, saying nothing of why. Parts on the
    default queue need no asking: the scan's own task came from it."""
    routed = {kind: queue for kind in scan_run.kinds if (queue := part_queue(kind))}
    if not routed or current_app.conf.task_always_eager:
        return
    asked = time.monotonic()
    unconsumed = queues_without_a_worker(set(routed.values()))
    logger.info("Scan run %s: asked the workers for the queues %s in %.0f ms", scan_run.pk,
                ", ".join(sorted(set(routed.values()))), 1000 * (time.monotonic() - asked))
    if unconsumed:
        raise NoWorkerForQueue(" ".join(
            f"No worker answered within {QUEUE_ANSWER_SECONDS:g} s that it consumes the queue {queue!r}, to which "
            f"SCAN_PART_QUEUES sends the part of {kind}: start a worker on it (celery -A config worker -Q {queue}) "
            f"or take {kind} out of SCAN_PART_QUEUES, then start the scan again."
            for kind, queue in routed.items() if queue in unconsumed
        ))


def spread_scan(scan_run: ScanRun) -> ScanRun:
    """Claim `scan_run` and hand its detectors to the workers as a Celery chord: one part per
    kind (scan_part, on its kind's queue), then one reconcile of them all (finish_spread_scan),
    all carrying the attempt just claimed. The run holds the lock from here until that reconcile
    or a part's failure (fail_scan_run) releases it; each part renews it as it starts and stores.
    A part routed to a queue no worker consumes fails the run at once, with what to do."""
    _claim(scan_run)
    with _failing(scan_run), acting(scan_actor(scan_run)):
        _refuse_queues_no_worker_consumes(scan_run)
        _embed_for(scan_run)  # once, here, rather than racing in the parts
        scan_parts.clear_parts(scan_run)  # what an earlier, failed attempt of this run stored
        parts = group(
            task_named(SCAN_PART_TASK).si(scan_run.pk, kind, scan_run.attempt).set(
                **({"queue": queue} if (queue := part_queue(kind)) else {})
            )
            for kind in scan_run.kinds
        )
        finish = task_named(FINISH_SPREAD_SCAN_TASK).si(scan_run.pk, scan_run.attempt)
        fail = task_named(FAIL_SPREAD_SCAN_TASK).s(scan_run_id=scan_run.pk, attempt=scan_run.attempt)
        chord(parts)(finish.on_error(fail))
    return scan_run


def run_scan_part(scan_run_id: int, kind: str, attempt: int) -> int:
    """Detect and price the findings of `kind` for attempt `attempt` at a spread scan and store
    them (a redelivered part replaces what it stored before), renewing the run's lock as it
    starts and as it stores; returns how many it stored. An attempt that is over (the run failed
    meanwhile, or was handed over as dead) is left alone."""
    scan_run = ScanRun.objects.select_related("triggered_by").get(pk=scan_run_id)
    if not scan_parts.renew_lock(scan_run_id, attempt):
        return 0
    with acting(scan_actor(scan_run)):
        detected = detect_all([kind], as_of=scan_run.as_of, policy=Policy.current())
        stored = scan_parts.store_part(scan_run=scan_run, attempt=attempt, kind=kind, detected=detected)
    logger.info("Scan run %s, attempt %s: the part of %s %s %s findings", scan_run_id, attempt, kind,
                "stored" if stored else "found its attempt over and dropped", len(detected))
    return len(detected) if stored else 0


def finish_spread_scan(scan_run_id: int, attempt: int) -> ScanRun:
    """Reconcile the stored parts of attempt `attempt` at a spread scan, as execute_scan
    reconciles what it found.

    The run's row is locked first: a callback delivered again, even while the first still
    runs, finds the run finished and leaves it as it is (but anchors it, if the worker that
    reconciled it died before doing so); so does the callback of an attempt that is over. An
    error escapes to the task, which retries database errors; the chord's error callback fails
    the run when the retries run out.
    """
    scan_run = ScanRun.objects.select_related("triggered_by").get(pk=scan_run_id)
    missing: list[str] = []
    with acting(scan_actor(scan_run)), transaction.atomic():
        scan_run = ScanRun.objects.select_for_update().get(pk=scan_run_id)
        if scan_run.attempt != attempt:
            return scan_run
        reconciling = scan_run.status == ScanRun.Status.RUNNING
        if reconciling:
            missing = [kind for kind in scan_run.kinds if kind not in scan_parts.stored_kinds(scan_run)]
            if not missing:
                _reconcile_and_record(scan_run, scan_parts.load_parts(scan_run))
    if not reconciling:
        return _finish_success_cut_short(scan_run)
    if missing:
        error = f"The parts of {', '.join(missing)} were not stored."
        fail_scan_run(scan_run_id, attempt=attempt, error=error)
        raise Refused(error)
    return _after_success(scan_run)


def scans_spread_over_workers() -> bool:
    """Whether a scan a worker runs spreads its detectors over the workers (a broker is
    configured and SCAN_SPREAD_OVER_WORKERS is on), rather than running them all itself."""
    return not settings.CELERY_TASK_ALWAYS_EAGER and settings.SCAN_SPREAD_OVER_WORKERS


def _run(scan_run: ScanRun) -> ScanRun:
    return spread_scan(scan_run) if scans_spread_over_workers() else execute_scan(scan_run)


def _queue_digests(scan_run: ScanRun) -> None:
    """Hand the run's digests to a worker; with no broker configured or reachable, send them here."""
    try:
        hand_to_worker(task_named(SEND_DIGESTS_TASK), scan_run.pk)
    except Exception:
        # The findings are written and the scan succeeded; the run says the mail failed, and
        # the pending-digests sweep tries again.
        logger.exception("The digests of scan run %s could not be sent", scan_run.pk)
    scan_run.refresh_from_db(fields=["error", "digests_sent_at"])


def run_scan_now(*, kinds: list[str] | None = None, as_of: datetime.date | None = None, actor) -> ScanRun:
    """Queue and run a scan in this process (the `scan` command), as `actor`."""
    scan_run = queue_scan(kinds=kinds, as_of=as_of, actor=actor)
    try:
        return execute_scan(scan_run)
    except ScanAlreadyRunning as exc:
        # Nobody will run this one later (unlike a task, which retries): do not leave it queued.
        ScanRun.objects.filter(pk=scan_run.pk, status=ScanRun.Status.QUEUED).update(
            status=ScanRun.Status.FAILED, finished_at=timezone.now(), error=f"Not started: {exc}"
        )
        raise


def run_queued_scan(scan_run_id: int) -> ScanRun:
    """Run a scan someone queued (admin, API), unless it has already succeeded: a task
    delivered twice runs it once."""
    scan_run = ScanRun.objects.get(pk=scan_run_id)
    if scan_run.status == ScanRun.Status.SUCCEEDED:
        return _finish_success_cut_short(scan_run)
    return _run(scan_run)


def run_scan_of_task(*, task_id: str, kinds: list[str] | None = None, as_of: datetime.date | None = None,
                     actor) -> ScanRun:
    """The scan of Celery task `task_id` (the nightly scan), queued as `actor`: a redelivered
    task finds its run again by the task id and takes it over, or leaves it alone if it has
    succeeded."""
    scan_run = ScanRun.objects.filter(task_id=task_id).first() if task_id else None
    if scan_run is None:
        scan_run = queue_scan(kinds=kinds, as_of=as_of, actor=actor, task_id=task_id)
    if scan_run.status == ScanRun.Status.SUCCEEDED:
        return _finish_success_cut_short(scan_run)
    return _run(scan_run)


def _left_for_nobody(now: datetime.datetime) -> Q:
    """Runs nobody is running: left running past the lock expiry (their worker died), or
    queued and not handed to a worker within it (a start whose task was lost)."""
    cutoff = now - lock_expiry()
    left_running = Q(status=ScanRun.Status.RUNNING) & _lock_expired(now)
    left_queued = Q(status=ScanRun.Status.QUEUED) & (
        Q(requeued_at__lt=cutoff) | Q(requeued_at__isnull=True, queued_at__lt=cutoff)
    )
    return left_running | left_queued


def requeue_stuck_scans(*, actor) -> list[int]:
    """Hand to a worker again, as `actor` (the scheduler), the runs nobody is running, past
    the lock expiry: left queued, or left running by a worker that died. Returns those runs.

    Each is marked re-queued (counted, dated, and said in its error until it starts) with one
    conditional update, so of two sweeps at once only one hands it over, and only again
    after another lock expiry; the claim lets one worker run it, and never two scans at once.
    A run re-queued MAX_REQUEUES times, or queued before REQUEUE_WITHIN, is failed instead.
    """
    if not can_run_scans(actor):
        raise NotAllowed("Only the program office runs scans.")
    now = timezone.now()
    requeued = []
    for run in ScanRun.objects.filter(_left_for_nobody(now)).order_by("queued_at", "pk"):
        # Still as read: left for nobody, and not re-queued by another sweep meanwhile.
        this_run = ScanRun.objects.filter(_left_for_nobody(now), pk=run.pk, requeues=run.requeues)
        if run.requeues >= MAX_REQUEUES:
            this_run.update(status=ScanRun.Status.FAILED, finished_at=now, error=(
                f"Given up after {run.requeues} re-queues: still {run.status} after the lock expiry again."
            ))
        elif run.queued_at < now - REQUEUE_WITHIN:
            this_run.update(status=ScanRun.Status.FAILED, finished_at=now, error=(
                f"Not run again: still {run.status} after the lock expiry, and queued on "
                f"{run.queued_at:%Y-%m-%d %H:%M %Z}, too long ago to run now."
            ))
        else:
            why = ("its worker presumably died" if run.status == ScanRun.Status.RUNNING
                   else "no worker took it")
            if this_run.update(status=ScanRun.Status.QUEUED, requeued_at=now, requeues=F("requeues") + 1, error=(
                f"Re-queued by the scheduler at {now:%Y-%m-%d %H:%M:%S %Z}: still {run.status} after the lock "
                f"expiry, so {why}."
            )):
                requeued.append(run.pk)
                _hand_over(run.pk)
    return requeued


def _hand_over(scan_run_id: int) -> None:
    try:
        hand_to_worker(task_named(RUN_QUEUED_SCAN_TASK), scan_run_id)
    except ScanAlreadyRunning:
        # Run here (no broker) while another scan runs: it stays queued, for a later sweep.
        logger.info("Scan run %s stays queued behind the running scan; a later sweep hands it over again",
                    scan_run_id)


class BrokerUnavailable(Unavailable):
    """The scan was recorded but no worker can be told to run it."""


def start_scan(*, kinds: list[str] | None = None, as_of: datetime.date | None = None, actor) -> ScanRun:
    """Queue a scan for a worker (admin, API), as `actor`; raises BrokerUnavailable when Redis is down."""
    scan_run = queue_scan(kinds=kinds, as_of=as_of, actor=actor)
    try:
        # The ScanRun is the record, so nobody waits on the task's result: without
        # ignore_result, sending first subscribes to the result store, which with Redis down
        # retries for ~20 s and then raises RuntimeError instead of the broker's error.
        result = send_failing_fast(task_named(RUN_QUEUED_SCAN_TASK), scan_run.pk, ignore_result=True)
    except Retry as retry:
        # Run in process (no broker): a scan already running cannot be waited for here.
        ScanRun.objects.filter(pk=scan_run.pk).update(status=ScanRun.Status.FAILED, error=f"Not started: {retry.exc}")
        if isinstance(retry.exc, ScanAlreadyRunning):
            raise retry.exc from None
        raise
    except (KombuOperationalError, OSError) as exc:
        ScanRun.objects.filter(pk=scan_run.pk).update(
            status=ScanRun.Status.FAILED, error=f"Not started: the task broker cannot be reached ({exc})."
        )
        raise BrokerUnavailable(
            "The scan could not be started: the task broker (Redis) cannot be reached. "
            "Registry edits still work; try again when the broker is back, or run `manage.py scan`."
        ) from exc
    ScanRun.objects.filter(pk=scan_run.pk).exclude(task_id=result.id).update(task_id=result.id)
    scan_run.refresh_from_db()
    return scan_run
