"""Stream the audit log's export at growing sizes on PostgreSQL; print seconds and memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lastmile \\
        .venv/bin/python bench/audit.py --entries 10000 100000

DATABASE_URL names the server; the benchmark drops and recreates its own database on it
(`lastmile_bench_audit` unless --database says otherwise), never the one DATABASE_URL names.

A small demo portfolio is seeded, then its use cases' history rows are copied in SQL until the
log holds each size asked for (the audit triggers log every copy, as they log any write); the
log is sealed. At each size, in a fresh process, an auditor downloads the whole log as CSV and
as JSON Lines through the real view, read as a browser would, a chunk at a time; printed: the
time, the bytes, the peak of Python's own allocations while streaming (tracemalloc) and the
process's peak resident memory. A streamed export holds one batch of entries at a time, so the
peaks stay flat while the size grows. Last, `verify_audit_trail` is timed at the largest size.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from urllib.parse import urlsplit

from seed import _in_fresh_process, _peak_mib, _recreate_database, _setup_django, _timed_command, postgres_server_url

DEMO_USE_CASES = 200


def _grow_log_to(database_url: str, entries: int) -> int:
    """Copy history rows of use cases in SQL until the log holds `entries`; seal it."""
    _setup_django(database_url)
    from django.db import connection

    from registry import audit
    from registry.models import AuditEntry, UseCase

    history = UseCase.history.model
    columns = ", ".join(f.column for f in history._meta.concrete_fields if not f.primary_key)
    have = AuditEntry.objects.count()
    while have < entries:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {history._meta.db_table} ({columns}) SELECT {columns} "
                           f"FROM {history._meta.db_table} ORDER BY history_id LIMIT %s", [entries - have])
        have = AuditEntry.objects.count()
    audit.seal()
    return AuditEntry.objects.count()


def _export(database_url: str, file_format: str) -> tuple[float, int, float, float]:
    """(seconds, bytes, peak MiB of Python allocations while streaming, peak resident MiB)."""
    _setup_django(database_url)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    auditor = get_user_model().objects.get(username="auditor")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(auditor)
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get(reverse(f"web:audit_export_{file_format}"))
    size = sum(len(chunk) for chunk in response.streaming_content)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, size, peak / 2**20, _peak_mib()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--database", default="lastmile_bench_audit")
    args = parser.parse_args()
    server_url = postgres_server_url(parser, args.database)
    database_url = _recreate_database(server_url, args.database)
    _in_fresh_process(_timed_command, database_url, "seed_demo", "--use-cases", str(DEMO_USE_CASES))
    print(f"server {urlsplit(server_url).hostname}, database {args.database}", flush=True)
    for entries in sorted(args.entries):
        held = _in_fresh_process(_grow_log_to, database_url, entries)
        for file_format in ("csv", "jsonl"):
            seconds, size, python_peak, resident_peak = _in_fresh_process(_export, database_url, file_format)
            print(f"{held:>9,} entries, {file_format:<5}: {seconds:6.1f} s, {size / 2**20:7.1f} MiB written, "
                  f"peak {python_peak:5.1f} MiB allocated while streaming, {resident_peak:4.0f} MiB resident",
                  flush=True)
    seconds, peak, output = _in_fresh_process(_timed_command, database_url, "verify_audit_trail")
    print(f"verify_audit_trail: {seconds:.1f} s, peak {peak:.0f} MiB: {output.strip()}", flush=True)


if __name__ == "__main__":
    main()
