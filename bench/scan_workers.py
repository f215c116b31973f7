"""Time a whole scan spread over Celery workers: one worker against two; print seconds and
the load average each ran under.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lastmile REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/scan_workers.py --use-cases 10000

A fresh database (`lastmile_scan_workers_bench` unless --database says otherwise, never the
one DATABASE_URL names) is seeded by `seed_demo` and embedded; `--keep` reuses one already
seeded with the size asked. Then, from no findings each time, the whole scan twice (the first
opens every finding, the second finds them still open): by the `scan` command in this
machine's one process, for reference; then sent as the nightly task to one worker, and to two
workers (`celery worker --pool=solo`, one task at a time each), which split it into one task
per detector and one reconcile. A worker's figure is the run's own duration (claimed to
reconciled) and the time from sending the task until the run succeeded, each sent once the
workers are idle (the last run's digests and audit seal done), with the load average before and
after it.

Give REDIS_URL a database of its own: the workers take whatever that database queues.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from seed import (
    PROJECT_ROOT,
    _in_fresh_process,
    _recreate_database,
    _seeded,
    _timed_command,
    postgres_server_url,
)
from scans import _forget_findings, _last_run_figures

WORKER_BOOT_SECONDS = 120
SCAN_TIMEOUT_SECONDS = 1800


def _start_workers(count: int, database_url: str, redis_url: str, folder: Path) -> list[tuple[subprocess.Popen, Path]]:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "EMAIL_URL": "dummymail://",
           "SCAN_SPREAD_OVER_WORKERS": "true", "DJANGO_SETTINGS_MODULE": "config.settings.base"}
    workers = []
    for number in range(count):
        log_path = folder / f"worker-{count}-{number}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
                 "--without-gossip", "--without-mingle", "--loglevel=INFO", "-n", f"bench-{uuid.uuid4().hex[:8]}@%h"],
                cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        workers.append((process, log_path))
    deadline = time.monotonic() + WORKER_BOOT_SECONDS
    for process, log_path in workers:
        while " ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(workers)
                sys.exit(f"A worker did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
    return workers


def _stop(workers) -> None:
    for process, _ in workers:
        if process.poll() is None:
            process.terminate()
    for process, _ in workers:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_idle(redis_url: str) -> None:
    """Until the workers have done everything queued (a run's digests and audit log seal follow
    it), so that no run is timed while the last one's follow-ups share its workers."""
    import redis

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + SCAN_TIMEOUT_SECONDS
    while client.llen("celery") or client.hlen("unacked"):
        if time.monotonic() > deadline:
            sys.exit(f"The workers were still busy after {SCAN_TIMEOUT_SECONDS} s")
        time.sleep(0.2)
    client.close()


def _scan_on_workers(database_url: str, redis_url: str, today: str) -> tuple[float, float, int, int]:
    """Send the nightly scan task; (run's own seconds, seconds from sending, opened, still open)."""
    from celery import Celery

    task_id = f"bench-scan-{uuid.uuid4()}"
    sender = Celery("lm-bench-sender", broker=redis_url, set_as_current=False)
    sent = time.perf_counter()
    try:
        sender.send_task("portfolio.tasks.scan_all", kwargs={"as_of": today}, task_id=task_id)
    finally:
        sender.close()
    with psycopg.connect(database_url, autocommit=True) as connection:
        while time.perf_counter() - sent < SCAN_TIMEOUT_SECONDS:
            row = connection.execute(
                "SELECT status, EXTRACT(EPOCH FROM finished_at - started_at), opened, still_open, error "
                "FROM portfolio_scanrun WHERE task_id = %s", [task_id]).fetchone()
            if row and row[0] == "succeeded":
                return float(row[1]), time.perf_counter() - sent, row[2], row[3]
            if row and row[0] == "failed":
                sys.exit(f"The scan failed: {row[4]}")
            time.sleep(0.05)
    sys.exit(f"The scan did not finish within {SCAN_TIMEOUT_SECONDS} s")


def _print(label: str, seconds: float, detail: str, load_before: float | None = None) -> None:
    load = f"load {os.getloadavg()[0]:.1f}" if load_before is None else (
        f"load {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{label}: {seconds:.1f} s {detail} ({load})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--use-cases", type=int, default=10_000, help="portfolio size (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default=datetime.date.today().isoformat(), help="YYYY-MM-DD (default: today)")
    parser.add_argument("--keep", action="store_true", help="reuse the database when it holds as many use cases as asked")
    parser.add_argument("--database", default="lastmile_scan_workers_bench",
                        help="database to drop and recreate (default lastmile_scan_workers_bench)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare (default 1 2)")
    options = parser.parse_args()
    # Stopped (timeout, Ctrl-C), it still stops the workers it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    server_url = postgres_server_url(parser, options.database)
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        parser.error("set REDIS_URL to a Redis database of the benchmark's own")
    os.environ["EMAIL_URL"] = "dummymail://"
    size = options.use_cases

    database_url = urlsplit(server_url)._replace(path=f"/{options.database}").geturl()
    if not (options.keep and _in_fresh_process(_seeded, database_url) == size):
        database_url = _recreate_database(server_url, options.database)
        seconds, _, _ = _in_fresh_process(_timed_command, database_url, "seed_demo", "--use-cases", str(size),
                                          "--seed", str(options.seed), "--today", options.today)
        _print(f"[{size:,}] seed_demo", seconds, "")
    _in_fresh_process(_timed_command, database_url, "migrate", "--noinput", "--verbosity", "0")
    seconds, _, _ = _in_fresh_process(_timed_command, database_url, "embed_use_cases")
    _print(f"[{size:,}] embedding", seconds, "")
    print(f"{os.cpu_count()} CPUs; a busy machine stretches every figure: read them with their load", flush=True)

    _in_fresh_process(_forget_findings, database_url)
    for attempt in ("first", "second"):
        load_before = os.getloadavg()[0]
        _in_fresh_process(_timed_command, database_url, "scan", "--as-of", options.today)
        duration, opened = _in_fresh_process(_last_run_figures, database_url)
        _print(f"[{size:,}] scan command, one process, {attempt} run", duration, f"({opened:,} opened)", load_before)

    with tempfile.TemporaryDirectory(prefix="lastmile-scan-workers-") as folder:
        for count in options.workers:
            _in_fresh_process(_forget_findings, database_url)
            workers = _start_workers(count, database_url, redis_url, Path(folder))
            try:
                for attempt in ("first", "second"):
                    _wait_until_idle(redis_url)
                    load_before = os.getloadavg()[0]
                    own, from_sending, opened, still_open = _scan_on_workers(database_url, redis_url, options.today)
                    _print(f"[{size:,}] {count} worker(s), {attempt} run", own,
                           f"claimed to reconciled, {from_sending:.1f} s from sending "
                           f"({opened:,} opened, {still_open:,} still open)", load_before)
            finally:
                _stop(workers)


if __name__ == "__main__":
    main()
