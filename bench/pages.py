"""Time the main pages at scale on PostgreSQL: print the server time of `/`, `/portfolio/`,
`/findings/`, `/use-cases/` (listed, searched, filtered and sorted) and `/value/` (and the
queries each runs).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lastmile \\
        .venv/bin/python bench/pages.py --use-cases 100000

DATABASE_URL names the server; the benchmark drops and recreates its own database on it
(`lastmile_bench` unless --database says otherwise), never the one DATABASE_URL names,
seeds it with `seed_demo`, runs the scans so the inbox has findings, and VACUUM ANALYZEs it
(as autovacuum would have). With --reuse, the
database is kept as a previous run left it.

Server time is the time Django takes to answer the request in process (test client, a
signed-in demo login): URL routing, middleware, views, queries and templates; not the
network. Each page is requested once to warm up, then --repeat times; the median and the
best are printed, with the load average they ran under (the machine may be shared). Targets:
/portfolio/ at most 1 s, an owner's `/` 150 ms, the others 300 ms.

    DATABASE_URL=… .venv/bin/python bench/pages.py --use-cases 100000 --database lastmile_value_bench \
        --scan-kind stalled_pilot --scan-kind orphaned_ownership --scan-kind broken_feedback_loop \
        --scan-kind value_not_realised --scan-kind lopsided_investment
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import time
from urllib.parse import urlsplit

import psycopg

from seed import _in_fresh_process, _recreate_database, _report, _setup_django, _timed_command, postgres_server_url

PAGES = [
    ("owner", "/", 0.15),
    ("office", "/portfolio/", 1.0),
    ("office", "/portfolio/?unit=1", 1.0),
    ("office", "/findings/", 0.3),
    ("owner", "/findings/", 0.3),
    ("office", "/findings/?kind=duplicate_capability&status=", 0.3),
    ("office", "/findings/?order=price", 0.3),
    ("office", "/use-cases/", 0.3),
    ("office", "/use-cases/?q=invoice+supplier", 0.3),
    ("office", "/use-cases/?open_finding_kind=stalled_pilot&sort=-findings", 0.3),
    ("office", "/value/", 0.3),
    ("office", "/value/?unit=1", 0.3),
    ("office", "/api/value/", 0.3),
    ("office", "/api/value/?business_unit=1", 0.3),
]


def _time_pages(database_url: str, repeat: int) -> list[tuple[str, str, float, float, int, float, float]]:
    _setup_django(database_url)
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import override_settings

    results = []
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=storages, ALLOWED_HOSTS=["testserver"], DEBUG=True):
        for username, path, target in PAGES:
            client = Client()
            client.force_login(User.objects.get(username=username))
            assert client.get(path).status_code == 200, path  # warm up (and check)
            times = []
            for _ in range(repeat):
                reset_queries()
                started = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, path
            queries = len(connection.queries)
            results.append((username, path, statistics.median(times), min(times), queries, target, os.getloadavg()[0]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--use-cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default=datetime.date.today().isoformat(), help="YYYY-MM-DD (default: today)")
    parser.add_argument("--database", default="lastmile_bench", help="database to drop and recreate (default lastmile_bench)")
    parser.add_argument("--reuse", action="store_true", help="keep the database a previous run seeded")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scan-kind", action="append", default=[], metavar="KIND",
                        help="scan only these kinds (repeatable; default all): leaving out duplicate_capability "
                             "skips embedding every use case from nothing, which takes most of an hour at 100,000")
    options = parser.parse_args()

    server_url = postgres_server_url(parser, options.database)
    os.environ["EMAIL_URL"] = "dummymail://"  # the scan's digests are sent, not printed over the figures
    database_url = urlsplit(server_url)._replace(path=f"/{options.database}").geturl()
    print(f"PostgreSQL at {urlsplit(server_url).hostname}, database {options.database}, {os.cpu_count()} CPUs", flush=True)
    if not options.reuse:
        database_url = _recreate_database(server_url, options.database)
        seconds, peak, _ = _in_fresh_process(
            _timed_command, database_url, "seed_demo", "--use-cases", str(options.use_cases), "--seed",
            str(options.seed), "--today", options.today,
        )
        _report(f"seed_demo --use-cases {options.use_cases:,}", seconds, peak)
        kinds = [argument for kind in options.scan_kind for argument in ("--kind", kind)]
        seconds, peak, output = _in_fresh_process(_timed_command, database_url, "scan", "--as-of", options.today, *kinds)
        _report("scan", seconds, peak)
        print(f"  {output.strip()}", flush=True)
        # A live database has planner statistics and a visibility map (autovacuum, which vacuums
        # tables after bulk inserts too); a freshly COPYed one not yet.
        with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")

    for username, path, median, best, queries, target, load in _in_fresh_process(_time_pages, database_url, options.repeat):
        verdict = "ok" if median <= target else f"OVER the {target * 1000:.0f} ms target"
        print(f"{path:<48} as {username:<6} median {median * 1000:6.0f} ms, best {best * 1000:6.0f} ms, "
              f"{queries} queries, load {load:.1f}  ({verdict})", flush=True)


if __name__ == "__main__":
    main()
