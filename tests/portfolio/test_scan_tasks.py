"""Scans as Celery tasks, run in the test process: the lock that keeps two scans apart, a task
delivered twice or redelivered after its worker died, and the `scan` command's JSON.

Real workers on the real Redis, a broker that is down and the `scan` command run as another
process are in tests/e2e/test_celery.py, which shares the helpers below.
"""

from __future__ import annotations

import datetime
import io
import json
from collections import Counter

import pytest
from celery import current_task
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

import portfolio.services.scans
from core.actors import COMMAND
from portfolio.models import ACTIVE_STATUSES, Finding, FindingEvent, ScanRun
from portfolio.services.scans import ALL_KINDS, ScanAlreadyRunning, run_scan_now
from portfolio.tasks import run_queued_scan, scan_all
from registry.models import Decision, UseCase
from registry.services import decisions as decision_services
from registry.services import directory, use_cases
from tests.factories import TEST_ACTOR

AS_OF = datetime.date(2025, 6, 30)


# What a scan leaves ----------------------------------------------------------------------------


def open_findings() -> Counter:
    """The open findings as (kind, severity, use cases, title): what the JSON report shows."""
    findings = Finding.objects.filter(status__in=ACTIVE_STATUSES).prefetch_related("use_cases")
    return Counter((f.kind, f.severity, tuple(sorted(u.key for u in f.use_cases.all())), f.title) for f in findings)


def scan_json(*arguments: str) -> dict:
    out = io.StringIO()
    call_command("scan", "--as-of", AS_OF.isoformat(), *arguments, "--json", stdout=out)
    return json.loads(out.getvalue())


# 1. The lock -----------------------------------------------------------------------------------


def running_run(*, started_ago: datetime.timedelta = datetime.timedelta(0), **fields) -> ScanRun:
    return ScanRun.objects.create(kinds=list(ALL_KINDS), as_of=AS_OF, status=ScanRun.Status.RUNNING,
                                  started_at=timezone.now() - started_ago, **fields)


def left_owner_use_case(external_id: str | None, title: str):
    """A registered use case whose business owner has left: an orphaned-ownership finding."""
    registered = timezone.make_aware(datetime.datetime(2025, 1, 6, 9, 0))
    unit = directory.business_unit_named(name="Finance", actor=TEST_ACTOR)
    owner, _ = directory.upsert_person(email=f"left-{title.lower().replace(' ', '-')}@example.com", name=title,
                                      business_unit=unit, active=False, actor=TEST_ACTOR)
    decision = decision_services.save_decision(decision=Decision(statement=f"Which invoices does {title} pay early?",
                                                        business_unit=unit, owner=owner),
                                      actor=TEST_ACTOR, on=registered.date())
    return use_cases.register_use_case(
        use_case=UseCase(decision=decision, external_id=external_id, title=title, business_unit=unit,
                         business_owner=owner),
        actor=TEST_ACTOR, on=registered,
    )


@pytest.fixture
def execute_calls(monkeypatch):
    """Count the scans the tasks actually execute (inside a task, not a test's own run_scan_now)."""
    calls = []
    real = portfolio.services.scans.execute_scan

    def counting(scan_run):
        if current_task:
            calls.append(scan_run.pk)
        return real(scan_run)

    monkeypatch.setattr(portfolio.services.scans, "execute_scan", counting)
    return calls


@pytest.mark.django_db
def test_a_running_scan_refuses_another_and_the_command_names_it():
    blocker = running_run()

    with pytest.raises(ScanAlreadyRunning) as refused:
        run_scan_now(as_of=AS_OF, actor=COMMAND)
    assert refused.value.running == blocker

    with pytest.raises(CommandError, match=rf"Another scan \(run {blocker.pk}, started .*\) is still running"):
        call_command("scan", "--as-of", AS_OF.isoformat(), stdout=io.StringIO())

    # The refused scans are recorded as not started, not left queued for nobody to run.
    refused_runs = ScanRun.objects.exclude(pk=blocker.pk)
    assert refused_runs.count() == 2
    assert set(refused_runs.values_list("status", flat=True)) == {ScanRun.Status.FAILED}
    assert all(error.startswith("Not started: Another scan") for error in refused_runs.values_list("error", flat=True))
    assert ScanRun.objects.get(pk=blocker.pk).status == ScanRun.Status.RUNNING


@pytest.mark.django_db
@override_settings(SCAN_LOCK_EXPIRY_SECONDS=600)
def test_a_scan_running_past_the_lock_expiry_is_failed_as_abandoned_and_the_new_scan_runs():
    left_owner_use_case("FIN-001", "Early payment optimiser")
    abandoned = running_run(started_ago=datetime.timedelta(seconds=601))

    run = run_scan_now(as_of=AS_OF, actor=COMMAND)

    abandoned.refresh_from_db()
    assert abandoned.status == ScanRun.Status.FAILED and abandoned.finished_at is not None
    assert abandoned.error.startswith("Abandoned")
    assert run.status == ScanRun.Status.SUCCEEDED and run.opened >= 1


@pytest.mark.django_db
@override_settings(SCAN_LOCK_EXPIRY_SECONDS=600)
def test_a_scan_running_within_the_lock_expiry_is_not_abandoned():
    recent = running_run(started_ago=datetime.timedelta(seconds=590))

    with pytest.raises(ScanAlreadyRunning):
        run_scan_now(as_of=AS_OF, actor=COMMAND)

    assert ScanRun.objects.get(pk=recent.pk).status == ScanRun.Status.RUNNING


@pytest.mark.django_db
def test_the_database_refuses_two_running_scans():
    running_run()

    with pytest.raises(IntegrityError), transaction.atomic():
        running_run()
    with pytest.raises(IntegrityError), transaction.atomic():
        ScanRun.objects.filter(pk=ScanRun.objects.create(kinds=ALL_KINDS, as_of=AS_OF).pk).update(
            status=ScanRun.Status.RUNNING
        )
    assert ScanRun.objects.filter(status=ScanRun.Status.RUNNING).count() == 1


@pytest.mark.django_db
def test_a_task_delivered_twice_creates_one_run_and_scans_once(execute_calls):
    left_owner_use_case("FIN-001", "Early payment optimiser")

    first = scan_all.apply(kwargs={"as_of": AS_OF.isoformat()}, task_id="fixed-id")
    run = ScanRun.objects.get(task_id="fixed-id")
    findings, events = open_findings(), FindingEvent.objects.count()
    second = scan_all.apply(kwargs={"as_of": AS_OF.isoformat()}, task_id="fixed-id")

    assert first.successful() and second.successful()
    assert first.result == second.result == run.pk
    assert execute_calls == [run.pk]
    assert ScanRun.objects.count() == 1
    assert ScanRun.objects.get().finished_at == run.finished_at
    assert run.status == ScanRun.Status.SUCCEEDED and run.kinds == ALL_KINDS and run.as_of == AS_OF
    assert open_findings() == findings and FindingEvent.objects.count() == events and events >= 1


@pytest.mark.django_db
@override_settings(SCAN_LOCK_EXPIRY_SECONDS=600)
def test_a_redelivered_task_takes_over_its_own_run_once_the_lock_expired(execute_calls):
    left_owner_use_case("FIN-001", "Early payment optimiser")
    # Its worker died: the run is still "running", past the lock expiry.
    orphan = running_run(task_id="redelivered-id", started_ago=datetime.timedelta(seconds=601))

    result = scan_all.apply(kwargs={"as_of": AS_OF.isoformat()}, task_id="redelivered-id")

    assert result.successful() and result.result == orphan.pk
    orphan.refresh_from_db()
    assert orphan.status == ScanRun.Status.SUCCEEDED and orphan.opened >= 1
    assert ScanRun.objects.count() == 1 and execute_calls == [orphan.pk]


@pytest.mark.django_db
def test_running_a_succeeded_run_again_does_nothing(execute_calls):
    left_owner_use_case("FIN-001", "Early payment optimiser")
    run = run_scan_now(as_of=AS_OF, actor=COMMAND)
    events = FindingEvent.objects.count()

    result = run_queued_scan.apply(args=[run.pk])

    assert result.successful() and result.result == run.pk
    assert execute_calls == []
    again = ScanRun.objects.get(pk=run.pk)
    assert (again.status, again.started_at, again.finished_at) == (run.status, run.started_at, run.finished_at)
    assert FindingEvent.objects.count() == events


# 2. The scan command's JSON contract ------------------------------------------------------------


FINDING_KEYS = {"kind", "status", "severity", "use_cases", "detail"}


@pytest.mark.django_db
def test_the_json_report_names_use_cases_by_external_id_or_primary_key_and_kind_restricts():
    named = left_owner_use_case("FIN-001", "Early payment optimiser")
    unnamed = left_owner_use_case(None, "Cash forecast")

    report = scan_json("--kind", "orphaned_ownership", "--kind", "stalled_pilot")

    assert report["as_of"] == AS_OF.isoformat()
    assert ScanRun.objects.get(pk=report["scan_run"]).kinds == ["orphaned_ownership", "stalled_pilot"]
    assert report["findings"]
    for finding in report["findings"]:
        assert FINDING_KEYS <= finding.keys()
        assert finding["kind"] in {"orphaned_ownership", "stalled_pilot"}
        assert finding["status"] in ACTIVE_STATUSES
        assert all(isinstance(key, str) for key in finding["use_cases"])
        assert isinstance(finding["detail"], dict)
    named_in = {tuple(f["use_cases"]) for f in report["findings"] if f["kind"] == "orphaned_ownership"}
    assert ("FIN-001",) in named_in
    assert (str(unnamed.pk),) in named_in and unnamed.external_id is None
    assert named.pk != unnamed.pk


@pytest.mark.django_db
@pytest.mark.parametrize("arguments, message", [
    (["--as-of", "30/06/2025"], "'30/06/2025' is not a date in the form YYYY-MM-DD"),
    (["--kind", "unicorns"], "invalid choice: 'unicorns'"),
])
def test_bad_scan_arguments_are_named(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("scan", *arguments, stdout=io.StringIO())
    assert not ScanRun.objects.exists()
