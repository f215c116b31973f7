"""Time the portfolio scans at scale on PostgreSQL; print seconds and peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lastmile \\
        .venv/bin/python bench/scans.py --sizes 10000 100000

For each size: a fresh database (`lastmile_bench` unless --database says otherwise, never
the one DATABASE_URL names) seeded by `seed_demo`, then each detector alone, then the whole
`scan` command twice (the first opens every finding, the second finds them all still open).
Each measurement runs in a fresh process, so its peak memory (ru_maxrss) is its own. Last,
the ratio of duplicate-detection time at the largest size to the smallest: all pairs would
grow with the square of the size.

Embeddings: right after seeding, every use case is embedded from nothing (`embed_use_cases`,
its progress bar on stderr); the scans then find them stored. `--keep` reuses a database already
seeded (and embedded) with the size asked: embedding 100,000 use cases takes a quarter of an
hour or more, so a second look at the scans need not pay for it again.

After the two scans, the scan of the next day (day counts move), then two days of edits to 1% of the summaries each: with a worker, which embeds each text as
it is written (that work timed apart), then the scan; and written in SQL, around the product,
where the scan embeds them itself.
"""

from __future__ import annotations

import argparse
import datetime
import os
import time
from urllib.parse import urlsplit

from seed import (
    _in_fresh_process,
    _peak_mib,
    _recreate_database,
    _report,
    _seeded,
    _setup_django,
    _timed_command,
    postgres_server_url,
)

# The share of use cases whose text changes between two scans in the last measurement.
EDITED_SHARE = 0.01


def _time_detector(database_url: str, kind: str, as_of: str) -> tuple[float, float, int]:
    _setup_django(database_url)
    from portfolio.models import Policy
    from portfolio.services.scans import detector

    detect = detector(kind)  # imported before the clock starts: a worker has it loaded
    started = time.perf_counter()
    found = detect(as_of=datetime.date.fromisoformat(as_of), policy=Policy.current())
    return time.perf_counter() - started, _peak_mib(), len(found)


def bench_size(server_url: str, database: str, size: int, seed: int, today: str, keep: bool) -> float:
    database_url = urlsplit(server_url)._replace(path=f"/{database}").geturl()
    if keep and _in_fresh_process(_seeded, database_url) == size:
        # Seeded and embedded by an earlier run: bring its schema up to date, clear its findings.
        _in_fresh_process(_timed_command, database_url, "migrate", "--noinput", "--verbosity", "0")
        _in_fresh_process(_forget_findings, database_url)
        print(f"[{size:,}] reusing database {database}", flush=True)
    else:
        database_url = _recreate_database(server_url, database)
        seconds, peak, _ = _in_fresh_process(
            _timed_command, database_url, "seed_demo", "--use-cases", str(size), "--seed", str(seed), "--today", today
        )
        _report(f"[{size:,}] seed_demo", seconds, peak)
        seconds, peak, output = _in_fresh_process(_timed_command, database_url, "embed_use_cases")
        _report(f"[{size:,}] embedding every use case from nothing ({output.strip()})", seconds, peak)
    seconds, peak, output = _in_fresh_process(_timed_command, database_url, "embed_use_cases")
    _report(f"[{size:,}] embedding what changed since ({output.strip()})", seconds, peak)
    _setup_django(database_url)
    from portfolio.services.scans import ALL_KINDS

    duplicate_seconds = 0.0
    total = 0.0
    for kind in ALL_KINDS:
        # A plain string: the fresh process must not unpickle a model enum before Django is set up.
        seconds, peak, found = _in_fresh_process(_time_detector, database_url, str(kind), today)
        total += seconds
        if kind == "duplicate_capability":
            duplicate_seconds = seconds
        _report(f"[{size:,}] detector {kind} ({found:,} found)", seconds, peak)
    print(f"[{size:,}] detectors together: {total:.1f} s", flush=True)
    for attempt in ("first scan", "second scan"):
        seconds, peak, output = _in_fresh_process(_timed_command, database_url, "scan", "--as-of", today)
        _report(f"[{size:,}] scan command, {attempt}", seconds, peak)
        scan_seconds, opened = _in_fresh_process(_last_run_figures, database_url)
        print(f"  the scan run itself (detectors and reconcile, as a worker runs it): {scan_seconds:.1f} s, "
              f"{opened:,} finding(s) opened; the rest of the command (digest emails, lock): "
              f"{seconds - scan_seconds:.1f} s", flush=True)
        print(f"  {output.strip()}", flush=True)
    # The next night: the same portfolio a day later. Stalls, unconfirmed owners and quiet KPIs
    # count one more day (rewritten without a history record); the rest only move last_seen.
    next_day = (datetime.date.fromisoformat(today) + datetime.timedelta(days=1)).isoformat()
    seconds, peak, output = _in_fresh_process(_timed_command, database_url, "scan", "--as-of", next_day)
    _report(f"[{size:,}] scan command the next day ({next_day})", seconds, peak)
    print(f"  {output.strip()}", flush=True)
    today = next_day
    # A day of text edits with a worker: each is embedded as it is written (the task's work,
    # timed here in one go), and the scan finds the vectors stored.
    edited = _in_fresh_process(_edit_texts, database_url, EDITED_SHARE, 0)
    seconds, peak, _ = _in_fresh_process(_embed_as_the_worker_does, database_url, edited)
    _report(f"[{size:,}] {len(edited):,} use cases' texts changed, embedded by the worker as written", seconds, peak)
    seconds, peak, output = _in_fresh_process(_timed_command, database_url, "scan", "--as-of", today)
    _report(f"[{size:,}] scan command after those changes", seconds, peak)
    print(f"  {output.strip()}", flush=True)
    # The same written around the product (in SQL, as a bulk fix would): the scan embeds them first.
    edited = _in_fresh_process(_edit_texts, database_url, EDITED_SHARE, 1)
    seconds, peak, output = _in_fresh_process(_timed_command, database_url, "scan", "--as-of", today)
    _report(f"[{size:,}] scan command after {len(edited):,} more texts changed in SQL (embedded in the scan)",
            seconds, peak)
    print(f"  {output.strip()}", flush=True)
    return duplicate_seconds


def _edit_texts(database_url: str, share: float, offset: int) -> list[int]:
    """Change the summary of `share` of the use cases (every 1/share-th from `offset`), as a day
    of edits would; returns their ids."""
    _setup_django(database_url)
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    from registry.models import UseCase

    step = max(1, round(1 / share))
    ids = list(UseCase.objects.order_by("pk").values_list("pk", flat=True)[offset::step])
    UseCase.objects.filter(pk__in=ids).update(summary=Concat(F("summary"), Value(" Now also reviewed weekly.")),
                                               version=F("version") + 1)
    return ids


def _embed_as_the_worker_does(database_url: str, use_case_ids: list[int]) -> tuple[float, float, int]:
    """What embed_use_cases_task does for `use_case_ids`, with the model loaded as in a worker."""
    _setup_django(database_url)
    from portfolio import embeddings

    embeddings.encoder()
    started = time.perf_counter()
    embedded = embeddings.refresh(use_case_ids)
    return time.perf_counter() - started, _peak_mib(), embedded


def _forget_findings(database_url: str) -> None:
    _setup_django(database_url)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE portfolio_finding, portfolio_scanrun RESTART IDENTITY CASCADE")


def _last_run_figures(database_url: str) -> tuple[float, int]:
    """The latest ScanRun's own duration (started to finished) and the findings it opened."""
    _setup_django(database_url)
    from portfolio.models import ScanRun

    run = ScanRun.objects.order_by("-pk").first()
    return run.duration.total_seconds(), run.opened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="portfolio sizes (use cases)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default=datetime.date.today().isoformat(), help="YYYY-MM-DD (default: today)")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the database when it holds as many use cases as asked (skips seeding and embedding)")
    parser.add_argument("--database", default="lastmile_bench", help="database to drop and recreate (default lastmile_bench)")
    options = parser.parse_args()

    server_url = postgres_server_url(parser, options.database)

    # Digest emails are timed (they are sent) but not printed over the figures.
    os.environ["EMAIL_URL"] = "dummymail://"
    print(f"PostgreSQL at {urlsplit(server_url).hostname}, database {options.database}, {os.cpu_count()} CPUs", flush=True)
    duplicate_seconds = {size: bench_size(server_url, options.database, size, options.seed, options.today, options.keep)
                         for size in options.sizes}
    smallest, largest = min(options.sizes), max(options.sizes)
    if smallest != largest and duplicate_seconds[smallest]:
        ratio = duplicate_seconds[largest] / duplicate_seconds[smallest]
        print(f"duplicate detection time, {largest:,} vs {smallest:,} use cases: x{ratio:.1f} "
              f"(all pairs would be x{(largest / smallest) ** 2:.0f})", flush=True)


if __name__ == "__main__":
    main()
