"""Time the REST API at scale on PostgreSQL: in process (server time, queries) and over HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lastmile \\
        .venv/bin/python bench/api.py --use-cases 100000 --database lm_api_bench

A fresh database (never the one DATABASE_URL names) seeded by `seed_demo`, unless --keep
reuses (and migrates) one already seeded with that many use cases; then VACUUM ANALYZE. Then,
as a program office system with a token, each case is requested --requests times (after a
warm-up) through Django's full request handling, in process: list pages of 100 (plain,
filtered, searched for words of every searched field, from one use case's to every one's and
none's, a later cursor page), a use case's detail, an edit with If-Match, and a move through
the gate.
Printed per case: median and 95th-percentile server time (ms) and queries per request
(min–max: equal means constant). Then the same cases (on use cases picked afresh) over HTTP
against gunicorn serving this checkout on a free local port, each request on a new
connection: the time a client waits. Each part prints the load average it ran under.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
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


def _print(label: str, times: list[float], queries: list[int] | None, statuses: dict) -> None:
    status_text = ", ".join(f"{code}×{count}" for code, count in sorted(statuses.items()))
    counted = f"queries {min(queries)}–{max(queries)}" if queries else "queries  –  "
    print(f"{label:<58} median {statistics.median(times):6.1f} ms  p95 {_percentile(times, 0.95):6.1f} ms  "
          f"{counted}  ({len(times)} requests: {status_text})", flush=True)


def _measure_in_process(client, label: str, requests: list[tuple[str, str, dict, dict]], warmup: int) -> None:
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
    _print(label, times, queries, statuses)


def _measure_over_http(port: int, token: str, label: str, requests: list[tuple[str, str, dict, dict]],
                       warmup: int) -> None:
    """Each request on a connection of its own, as a client without keep-alive: the time from
    connecting to the last byte of the answer."""
    times, statuses = [], {}
    for index, (method, path, body, headers) in enumerate(requests):
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        payload = json.dumps(body).encode() if method in ("post", "patch") else None
        connection.request(method.upper(), path, body=payload, headers={
            "Authorization": f"Token {token}", "Content-Type": "application/json", "Connection": "close", **headers})
        response = connection.getresponse()
        response.read()
        connection.close()
        elapsed = (time.perf_counter() - started) * 1000
        if index < warmup:
            continue
        times.append(elapsed)
        statuses[response.status] = statuses.get(response.status, 0) + 1
    _print(label, times, None, statuses)


def _cases(rng: random.Random, n: int, token: str) -> dict[str, list[tuple[str, str, dict, dict]]]:
    """Each case's `n` requests: list pages, a detail, an edit and moves, on use cases picked now
    (an edit names the version it reads; a move needs use cases still proposed)."""
    from django.db.models import Count

    from registry.gates import unmet_conditions
    from registry.models import Stage, UseCase

    big_unit = (UseCase.objects.values("business_unit").annotate(n=Count("id")).order_by("-n").first())["business_unit"]
    external_id = UseCase.objects.exclude(external_id=None).order_by("id").values_list("external_id", flat=True).first()
    page = "/api/use-cases/?page_size=100"
    lists = {
        "list, page of 100": f"{page}",
        "list, page of 100, filtered (unit + stage)": f"{page}&business_unit={big_unit}&stage=pilot",
        "list, page of 100, filtered (unit + 2 stages + entered before)":
            f"{page}&business_unit={big_unit}&stage=pilot&stage=production&stage_entered_before={datetime.date.today()}",
        "list, page of 100, filtered (open finding kind)": f"{page}&open_finding_kind=stalled_pilot",
        # Words from every searched field, from one use case's to every one's, and none's.
        "list, page of 100, search (title, summary: 'invoice')": f"{page}&search=invoice",
        "list, page of 100, search (title, capability: 'forecast')": f"{page}&search=forecast",
        "list, page of 100, search (two words: 'invoice supplier')": f"{page}&search=invoice+supplier",
        "list, page of 100, search (every use case's owners' mail domain)": f"{page}&search=meridian",
        "list, page of 100, search (every decision's statement: 'which')": f"{page}&search=which",
        "list, page of 100, search (a unit's name: 'procurement')": f"{page}&search=procurement",
        "list, page of 100, search (owners' surname: 'kaya')": f"{page}&search=kaya",
        "list, page of 100, search (an owner's email)": f"{page}&search=paula.lopez",
        "list, page of 100, search (one external id)": f"{page}&search={external_id}",
        "list, page of 100, search (a word found nowhere)": f"{page}&search=zqxw",
        "list, page of 100, filtered + search": f"{page}&business_unit={big_unit}&search=forecast",
        "list, page of 100, filtered + search (a word found nowhere)": f"{page}&business_unit={big_unit}&search=zqxw",
        "list, page of 100, ordered by title": f"{page}&ordering=title",
    }
    cases = {label: [("get", path, {}, {})] * n for label, path in lists.items()}
    later = _first_next_page(f"{page}&business_unit={big_unit}", token)
    cases["list, page of 100, filtered, next cursor page"] = [("get", later, {}, {})] * n

    ids = list(UseCase.objects.values_list("id", flat=True))
    cases["detail (KPIs + next gate needs)"] = [("get", f"/api/use-cases/{pk}/", {}, {}) for pk in rng.sample(ids, n)]
    edit_ids = rng.sample(ids, n)
    versions = dict(UseCase.objects.filter(id__in=edit_ids).values_list("id", "version"))
    cases["edit (PATCH with If-Match)"] = [
        ("patch", f"/api/use-cases/{pk}/", {"monitoring_plan": f"bench {pk} v{versions[pk]}"},
         {"If-Match": f'"usecase-{pk}-v{versions[pk]}"'})
        for pk in edit_ids
    ]
    # Moves that pass their gate: proposed use cases whose decision is described.
    candidates = UseCase.objects.filter(stage=Stage.PROPOSED).select_related("decision")[: n * 20]
    movable = [uc.pk for uc in candidates if not unmet_conditions(uc, Stage.VALIDATING)][:n]
    cases["move proposed → validating (gate met)"] = [
        ("post", f"/api/use-cases/{pk}/move/", {"to_stage": "validating"}, {}) for pk in movable]
    refused = UseCase.objects.filter(stage=Stage.PROPOSED).values_list("id", flat=True)[:n]
    cases["move proposed → production (refused, 409)"] = [
        ("post", f"/api/use-cases/{pk}/move/", {"to_stage": "production"}, {}) for pk in refused]
    return cases


def _first_next_page(path: str, token: str) -> str:
    from django.test import Client

    return Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {token}").get(path).json()["next"]


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def bench(database_url: str, repeat: int, warmup: int, seed: int, http_workers: int) -> None:
    os.environ["API_THROTTLE_USER"] = "100000000/minute"
    _setup_django(database_url)
    logging.getLogger("django.request").setLevel(logging.ERROR)  # no warning line per 409
    from django.contrib.auth.models import Group, User
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from registry.models import UseCase

    rng = random.Random(seed)
    user, _ = User.objects.get_or_create(username="bench-api", defaults={"email": "bench-api@example.com"})
    user.groups.add(Group.objects.get(name="program_office"))
    token, _ = Token.objects.get_or_create(user=user)
    n = repeat + warmup
    print(f"{UseCase.objects.count():,} use cases; {repeat} timed requests per case after {warmup} warm-up", flush=True)

    print(f"\nIn process (Django's test client: server time, no HTTP); {_load()}", flush=True)
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {token.key}")
    for label, requests in _cases(rng, n, token.key).items():
        _measure_in_process(client, label, requests, warmup)

    with _gunicorn(database_url, http_workers) as port:
        print(f"\nOver HTTP (gunicorn, {http_workers} worker(s), a new connection per request); {_load()}", flush=True)
        for label, requests in _cases(rng, n, token.key).items():
            _measure_over_http(port, token.key, label, requests, warmup)
    print(f"{_load()} at the end (other work on the machine slows every figure)", flush=True)


@contextlib.contextmanager
def _gunicorn(database_url: str, workers: int):
    """gunicorn serving this checkout on a free local port, as in production (DEBUG off)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "false", "API_THROTTLE_USER": "100000000/minute"}
    # Its log (a warning line per refused move) goes to a file, shown only if it does not start.
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning"],
        cwd=_BENCH.parent, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"gunicorn did not start:\n{log.read()}") from None
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--use-cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default=datetime.date.today().isoformat())
    parser.add_argument("--database", default="lm_api_bench", help="database to (re)create (default lm_api_bench)")
    parser.add_argument("--keep", action="store_true", help="reuse the database if it is already seeded")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case (default 200)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--http-workers", type=int, default=1,
                        help="gunicorn workers for the HTTP figures (default 1: the requests come one at a time)")
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
    else:
        _in_fresh_process(_timed_command, database_url, "migrate", "--no-input")  # a kept database seeded earlier
    # Fresh statistics, visibility map and trigram pending lists, as autovacuum would keep them on
    # a live database (an earlier run's edits leave them stale, and autovacuum may be off).
    _in_fresh_process(_vacuum_analyze, database_url)
    _in_fresh_process(bench, database_url, options.requests, options.warmup, options.seed, options.http_workers)


def _vacuum_analyze(database_url: str) -> None:
    _setup_django(database_url)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


if __name__ == "__main__":
    main()
