"""Import the published US federal AI inventories and scan them on PostgreSQL; print the figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lastmile \\
        .venv/bin/python bench/federal.py [--data ../shared/data] [--database lm_federal_bench]

On a fresh database (`lm_federal_bench` unless --database says otherwise, never the one
DATABASE_URL names): `import_use_cases --format omb-2025` of the 2025 file, the same again
(nothing changes), `export_use_cases --format omb-2025` and whether the export is the file
byte for byte, then each detector alone and the whole `scan` command, and the findings per
kind and severity with a few examples of each. Then, on a fresh database again, the 2024
file (`--format omb-2024`) and the stage histories it gives. Each measurement runs in a
fresh process, as a command would.
"""

from __future__ import annotations

import argparse
import datetime
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from scans import _time_detector
from seed import PROJECT_ROOT, _in_fresh_process, _recreate_database, _report, _setup_django, _timed_command, postgres_server_url

EXAMPLES = 3


def _findings_summary(database_url: str) -> list[str]:
    _setup_django(database_url)
    from django.db.models import Count

    from portfolio.models import SEVERITY_ORDER, Finding

    lines = []
    open_findings = Finding.objects.filter(status="open")
    for kind, total in open_findings.values_list("kind").annotate(n=Count("pk")).order_by("kind"):
        of_kind = open_findings.filter(kind=kind)
        severities = dict(of_kind.values_list("severity").annotate(n=Count("pk")))
        by_severity = ", ".join(f"{s} {severities[s]:,}" for s in SEVERITY_ORDER if s in severities)
        lines.append(f"{kind}: {total:,} ({by_severity})")
        examples = sorted(of_kind.prefetch_related("use_cases"), key=lambda f: (-SEVERITY_ORDER.index(f.severity), f.pk))
        # One example per kind of problem first (orphaned ownership has several), then the worst.
        picked, problems = [], set()
        for finding in examples:
            problem = (finding.detail.get("problem"), finding.detail.get("role"))
            if problem not in problems:
                problems.add(problem)
                picked.append(finding)
        picked += [f for f in examples if f not in picked]
        for finding in picked[:EXAMPLES]:
            members = ", ".join(f"{u.external_id} '{u.title[:50]}'" for u in finding.use_cases.all()[:5])
            lines.append(f"  - [{finding.severity}] {finding.title[:160]}")
            lines.append(f"      use cases: {members}")
    return lines


def _history_summary(database_url: str, today: str) -> list[str]:
    _setup_django(database_url)
    from collections import Counter

    from django.db.models import Count

    from registry.models import Stage, UseCase

    steps = Counter(UseCase.objects.annotate(n=Count("transitions")).values_list("n", flat=True))
    as_of = datetime.date.fromisoformat(today)
    long_pilots = UseCase.objects.filter(stage=Stage.PILOT, stage_entered_on__lt=as_of - datetime.timedelta(days=365))
    return [
        "stage transitions per use case: " + ", ".join(f"{n} → {count:,}" for n, count in sorted(steps.items())),
        f"pilots entered more than a year before {today} (dated by the file): {long_pilots.count():,}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(PROJECT_ROOT.parent / "shared" / "data"), help="folder of the inventories")
    parser.add_argument("--today", default=datetime.date.today().isoformat(), help="scan as of YYYY-MM-DD (default today)")
    parser.add_argument("--database", default="lm_federal_bench", help="database to drop and recreate")
    options = parser.parse_args()
    server_url = postgres_server_url(parser, options.database)
    data = Path(options.data)
    file_2025, file_2024 = data / "federal_ai_use_cases.csv", data / "federal_ai_use_cases_2024.csv"
    os.environ["EMAIL_URL"] = "dummymail://"
    print(f"PostgreSQL at {urlsplit(server_url).hostname}, database {options.database}, {os.cpu_count()} CPUs", flush=True)

    database_url = _recreate_database(server_url, options.database)
    for attempt in ("import", "import again"):
        seconds, peak, output = _in_fresh_process(
            _timed_command, database_url, "import_use_cases", str(file_2025), "--format", "omb-2025"
        )
        _report(f"2025 inventory, {attempt}", seconds, peak)
        print(f"  {output.strip()}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        exported = Path(folder) / "export.csv"
        seconds, peak, _ = _in_fresh_process(
            _timed_command, database_url, "export_use_cases", str(exported), "--format", "omb-2025"
        )
        _report("2025 inventory, export", seconds, peak)
        same = exported.read_bytes() == file_2025.read_bytes()
        print(f"  export identical to the published file, byte for byte: {same}", flush=True)

    _setup_django(database_url)
    from portfolio.services.scans import ALL_KINDS

    for kind in ALL_KINDS:
        seconds, peak, found = _in_fresh_process(_time_detector, database_url, str(kind), options.today)
        _report(f"detector {kind} ({found:,} found)", seconds, peak)
    seconds, peak, output = _in_fresh_process(_timed_command, database_url, "scan", "--as-of", options.today)
    _report(f"scan command over the 2025 inventory as of {options.today}", seconds, peak)
    print(f"  {output.strip().splitlines()[-1]}", flush=True)
    print("Open findings by kind:", flush=True)
    for line in _in_fresh_process(_findings_summary, database_url):
        print(f"  {line}", flush=True)

    database_url = _recreate_database(server_url, options.database)
    seconds, peak, output = _in_fresh_process(
        _timed_command, database_url, "import_use_cases", str(file_2024), "--format", "omb-2024"
    )
    _report("2024 inventory, import", seconds, peak)
    print(f"  {output.strip()}", flush=True)
    for line in _in_fresh_process(_history_summary, database_url, options.today):
        print(f"  {line}", flush=True)
    seconds, peak, output = _in_fresh_process(
        _timed_command, database_url, "scan", "--as-of", options.today, "--kind", "stalled_pilot"
    )
    _report("stalled_pilot scan over the 2024 inventory", seconds, peak)
    print(f"  {output.strip().splitlines()[-1]}", flush=True)


if __name__ == "__main__":
    main()
