"""Time the REST API at scale on PostgreSQL: server time and queries per request.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lastmile \\
        .venv/bin/python bench/api.py --use-cases 100000 --database lm_api_bench

A fresh database (never the one DATABASE_URL names) seeded by `seed_demo`, unless
--keep reuses one already seeded with that many use cases. Then, as a program office system
with a token, each case is requested --requests times (after a warm-up) through Django's
full request handling, in process: list pages of 100 (plain, filtered, searched, a later
cursor page), a use case's detail, an edit with If-Match, and a move through the gate.
Printed per case: median and 95th-percentile server time (ms) and queries per request
(min–max: equal means constant).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

# This file is bench/api.py: with bench/ on the path, `import api` would find it instead of
# the project's api package. So bench/ is on the path only while `seed` is imported.
_BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(_BENCH))
from seed import (  # noqa: E402
    _in_fresh_process,
    _recreate_database,
    _report,
    _seeded,
    _setup_django,
    _timed_command,
    postgres_server_url,
)

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _BENCH]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _measure(client, label: str, requests: list[tuple[str, str, dict, dict]], warmup: int) -> None:
    from django.db import connection

    times, queries, statuses = [], [], {}
    counted = [0]

    def count(execute, sql, params, many, context):
        counted[0] += 1
        return execute(sql, params, many, context)

    for index, (method, path, body, headers) in enumerate(requests):
        call = getattr(client, method)
        kwargs = {"data": body, "content_type": "application/json"} if method in ("post", "patch") else {}
        counted[0] = 0
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            response = call(path, headers=headers, **kwargs)
            elapsed = (time.perf_counter() - started) * 1000
        if index < warmup:
            continue
        times.append(elapsed)
        queries.append(counted[0])
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    status_text = ", ".join(f"{code}×{count}" for code, count in sorted(statuses.items()))
    print(f"{label:<58} median {statistics.median(times):6.1f} ms  p95 {_percentile(times, 0.95):6.1f} ms  "
          f"queries {min(queries)}–{max(queries)}  ({len(times)} requests: {status_text})", flush=True)


def bench(database_url: str, repeat: int, warmup: int, seed: int) -> None:
    os.environ["API_THROTTLE_USER"] = "100000000/minute"
    _setup_django(database_url)
    logging.getLogger("django.request").setLevel(logging.ERROR)  # no warning line per 409
    from django.contrib.auth.models import Group, User
    from django.db.models import Count
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from registry.gates import unmet_conditions
    from registry.models import Stage, UseCase

    rng = random.Random(seed)
    user, _ = User.objects.get_or_create(username="bench-api", defaults={"email": "bench-api@example.com"})
    user.groups.add(Group.objects.get(name="program_office"))
    token, _ = Token.objects.get_or_create(user=user)
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {token.key}")
    total = UseCase.objects.count()
    print(f"{total:,} use cases; {repeat} timed requests per case after {warmup} warm-up; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)

    big_unit = (UseCase.objects.values("business_unit").annotate(n=Count("id")).order_by("-n").first())["business_unit"]
    n = repeat + warmup
    page = "/api/use-cases/?page_size=100"
    lists = {
        "list, page of 100": f"{page}",
        "list, page of 100, filtered (unit + stage)": f"{page}&business_unit={big_unit}&stage=pilot",
        "list, page of 100, filtered (unit + 2 stages + entered before)":
            f"{page}&business_unit={big_unit}&stage=pilot&stage=production&stage_entered_before={datetime.date.today()}",
        "list, page of 100, filtered (open finding kind)": f"{page}&open_finding_kind=stalled_pilot",
        "list, page of 100, search": f"{page}&search=invoice",
        "list, page of 100, filtered + search": f"{page}&business_unit={big_unit}&search=forecast",
        "list, page of 100, ordered by title": f"{page}&ordering=title",
    }
    for label, path in lists.items():
        _measure(client, label, [("get", path, {}, {})] * n, warmup)

    later = client.get(f"{page}&business_unit={big_unit}", headers={}).json()["next"]
    _measure(client, "list, page of 100, filtered, next cursor page", [("get", later, {}, {})] * n, warmup)

    ids = list(UseCase.objects.values_list("id", flat=True))
    detail_ids = rng.sample(ids, n)
    _measure(client, "detail (KPIs + next gate needs)", [("get", f"/api/use-cases/{pk}/", {}, {}) for pk in detail_ids], warmup)

    edit_ids = rng.sample(ids, n)
    versions = dict(UseCase.objects.filter(id__in=edit_ids).values_list("id", "version"))
    _measure(client, "edit (PATCH with If-Match)", [
        ("patch", f"/api/use-cases/{pk}/", {"monitoring_plan": f"bench {pk}"}, {"If-Match": f'"usecase-{pk}-v{versions[pk]}"'})
        for pk in edit_ids
    ], warmup)

    # Moves that pass their gate: proposed use cases whose decision is described.
    candidates = UseCase.objects.filter(stage=Stage.PROPOSED).select_related("decision")[: n * 20]
    movable = [uc.pk for uc in candidates if not unmet_conditions(uc, Stage.VALIDATING)][:n]
    _measure(client, "move proposed → validating (gate met)",
             [("post", f"/api/use-cases/{pk}/move/", {"to_stage": "validating"}, {}) for pk in movable], warmup)
    refused = UseCase.objects.filter(stage=Stage.PROPOSED).values_list("id", flat=True)[:n]
    _measure(client, "move proposed → production (refused, 409)",
             [("post", f"/api/use-cases/{pk}/move/", {"to_stage": "production"}, {}) for pk in refused], warmup)
    print(f"load average at the end {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--use-cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default=datetime.date.today().isoformat())
    parser.add_argument("--database", default="lm_api_bench", help="database to (re)create (default lm_api_bench)")
    parser.add_argument("--keep", action="store_true", help="reuse the database if it is already seeded")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case (default 200)")
    parser.add_argument("--warmup", type=int, default=10)
    options = parser.parse_args()

    server_url = postgres_server_url(parser, options.database)
    os.environ["EMAIL_URL"] = "dummymail://"  # the seeding scan's digests are sent, not printed
    database_url = urlsplit(server_url)._replace(path=f"/{options.database}").geturl()
    print(f"PostgreSQL at {urlsplit(server_url).hostname}, database {options.database}, {os.cpu_count()} CPUs", flush=True)
    if not (options.keep and _in_fresh_process(_seeded, database_url) >= options.use_cases):
        database_url = _recreate_database(server_url, options.database)
        seconds, peak, _ = _in_fresh_process(
            _timed_command, database_url, "seed_demo", "--use-cases", str(options.use_cases), "--seed",
            str(options.seed), "--today", options.today,
        )
        _report(f"seed_demo --use-cases {options.use_cases:,}", seconds, peak)
        _in_fresh_process(_timed_command, database_url, "scan", "--as-of", options.today)  # findings to filter on
        # Fresh statistics, as autovacuum would gather on a live database.
        _in_fresh_process(_analyze, database_url)
    _in_fresh_process(bench, database_url, options.requests, options.warmup, options.seed)


def _analyze(database_url: str) -> None:
    _setup_django(database_url)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


if __name__ == "__main__":
    main()
