"""Seed (and import) at scale on PostgreSQL; print seconds and peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lastmile \\
        .venv/bin/python bench/seed.py --use-cases 100000 --import-rows 10000

DATABASE_URL names the server; the benchmark drops and recreates its own database on it
(`lastmile_bench` unless --database says otherwise), never the one DATABASE_URL names.

- seed_demo: a fresh, migrated database, then `seed_demo --use-cases N`.
- with --import-rows M: a demo portfolio of M use cases is exported with
  `export_use_cases` (and its people written as a directory feed); then, in a fresh database
  holding only those people, `import_use_cases` loads the file, and loads it again (nothing
  changes the second time).

Each measured command runs in a fresh process, so the peak memory printed (ru_maxrss) is
that command's own, Django included.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis"}


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    sys.path.insert(0, str(PROJECT_ROOT))
    import django

    django.setup()


def _seeded(database_url: str) -> int:
    """How many use cases the database holds; 0 when it does not exist or is not migrated."""
    try:
        _setup_django(database_url)
        from registry.models import UseCase

        return UseCase.objects.count()
    except Exception:
        return 0


def _peak_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_command(database_url: str, name: str, *args: str) -> tuple[float, float, str]:
    """Run one management command; (seconds, peak MiB of this process, what it printed)."""
    _setup_django(database_url)
    from django.core.management import call_command

    out = io.StringIO()
    started = time.perf_counter()
    call_command(name, *args, stdout=out)
    return time.perf_counter() - started, _peak_mib(), out.getvalue()


def _write_directory_feed(database_url: str, path: str) -> int:
    """The seeded people as an import_people CSV: what the HR feed would hold."""
    _setup_django(database_url)
    from registry.models import Person

    rows = Person.objects.order_by("email").values_list("email", "name", "business_unit__name", "active")
    with open(path, "w", newline="", encoding="utf-8") as feed:
        writer = csv.writer(feed)
        writer.writerow(["email", "name", "business_unit", "active"])
        count = 0
        for email, name, unit, active in rows.iterator(chunk_size=5000):
            writer.writerow([email, name, unit or "", "true" if active else "false"])
            count += 1
    return count


def postgres_server_url(parser: argparse.ArgumentParser, database: str) -> str:
    """DATABASE_URL, refused unless it names a PostgreSQL server and not the database to drop."""
    server_url = os.environ.get("DATABASE_URL", "")
    if urlsplit(server_url).scheme not in POSTGRES_SCHEMES:
        parser.error("set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/lastmile")
    if database == urlsplit(server_url).path.lstrip("/"):
        parser.error(f"--database {database} is the database DATABASE_URL names; the benchmark would drop it")
    return server_url


def _in_fresh_process(function, *args):
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def _recreate_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; its URL."""
    parts = urlsplit(server_url)
    maintenance = psycopg.conninfo.make_conninfo(
        host=parts.hostname or "", port=parts.port or "", user=parts.username or "", password=parts.password or "",
        dbname="postgres",
    )
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database_url = parts._replace(path=f"/{name}").geturl()
    _in_fresh_process(_timed_command, database_url, "migrate", "--noinput", "--verbosity", "0")
    return database_url


def _report(label: str, seconds: float, peak_mib: float) -> None:
    """One figure, with the load average it ran under: on a busy machine times stretch."""
    print(f"{label}: {seconds:.1f} s, peak {peak_mib:.0f} MiB (load {os.getloadavg()[0]:.1f})", flush=True)


def bench_seed(server_url: str, database: str, use_cases: int, seed: int, today: str) -> None:
    database_url = _recreate_database(server_url, database)
    seconds, peak, output = _in_fresh_process(
        _timed_command, database_url, "seed_demo", "--use-cases", str(use_cases), "--seed", str(seed), "--today", today
    )
    _report(f"seed_demo --use-cases {use_cases:,}", seconds, peak)
    print(output, flush=True)


def bench_import(server_url: str, database: str, rows: int, seed: int, today: str) -> None:
    with tempfile.TemporaryDirectory(prefix="lastmile-bench-") as folder:
        inventory, directory = str(Path(folder) / "use_cases.csv"), str(Path(folder) / "people.csv")
        database_url = _recreate_database(server_url, database)
        _in_fresh_process(
            _timed_command, database_url, "seed_demo", "--use-cases", str(rows), "--seed", str(seed), "--today", today
        )
        seconds, peak, _ = _in_fresh_process(_timed_command, database_url, "export_use_cases", inventory)
        _report(f"export_use_cases ({rows:,} rows)", seconds, peak)
        people = _in_fresh_process(_write_directory_feed, database_url, directory)

        database_url = _recreate_database(server_url, database)
        seconds, peak, _ = _in_fresh_process(_timed_command, database_url, "import_people", directory)
        _report(f"import_people ({people:,} rows, empty registry)", seconds, peak)
        seconds, peak, output = _in_fresh_process(_timed_command, database_url, "import_use_cases", inventory)
        _report(f"import_use_cases ({rows:,} rows, new use cases)", seconds, peak)
        print(f"  {output.strip()}")
        seconds, peak, output = _in_fresh_process(_timed_command, database_url, "import_use_cases", inventory)
        _report(f"import_use_cases ({rows:,} rows again, nothing changes)", seconds, peak)
        print(f"  {output.strip()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--use-cases", type=int, default=100_000, help="use cases to seed (default 100000; 0 skips)")
    parser.add_argument("--import-rows", type=int, default=0, help="rows of the import benchmark (default 0: skip it)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default=datetime.date.today().isoformat(), help="YYYY-MM-DD (default: today)")
    parser.add_argument("--database", default="lastmile_bench", help="database to drop and recreate (default lastmile_bench)")
    options = parser.parse_args()

    server_url = postgres_server_url(parser, options.database)

    print(f"PostgreSQL at {urlsplit(server_url).hostname}, database {options.database}, {os.cpu_count()} CPUs", flush=True)
    if options.use_cases:
        bench_seed(server_url, options.database, options.use_cases, options.seed, options.today)
    if options.import_rows:
        bench_import(server_url, options.database, options.import_rows, options.seed, options.today)


if __name__ == "__main__":
    main()
