"""Findings, scan runs and the policy in the admin, as each role meets them."""

import datetime

import pytest
from django.urls import reverse

from config.celery import app as celery_app

from portfolio.services.findings import reconcile
from portfolio.models import Finding, FindingStatus, Policy, ScanRun
from portfolio.detectors.base import Detected
from tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 11, 2)


@pytest.fixture
def finding():
    use_case = UseCaseFactory()
    reconcile(
        kinds=["stalled_pilot"],
        detected=[Detected(kind="stalled_pilot", identity=(use_case.pk,), severity="high",
                           title=f"'{use_case.title}' has been in pilot for 120 days", use_case_ids=[use_case.pk])],
        as_of=AS_OF,
    )
    return Finding.objects.get()


@pytest.fixture
def no_detectors(monkeypatch):
    """Scans that find nothing, run in process, so admin tests exercise the run, not the
    detectors or a worker (CI has a real broker configured)."""
    monkeypatch.setattr("portfolio.services.scans.detector", lambda kind: lambda *, as_of, policy: [])
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def test_auditor_browses_findings_scan_runs_and_policy(client, auditor_user, finding):
    client.force_login(auditor_user)

    for url in (
        reverse("admin:portfolio_finding_changelist"),
        reverse("admin:portfolio_finding_change", args=[finding.pk]),
        reverse("admin:portfolio_finding_history", args=[finding.pk]),
        reverse("admin:portfolio_scanrun_changelist"),
        reverse("admin:portfolio_policy_change", args=[Policy.current().pk]),
    ):
        assert client.get(url).status_code == 200, url


def test_auditor_cannot_dismiss_change_the_policy_or_start_a_scan(client, auditor_user, finding, no_detectors):
    client.force_login(auditor_user)
    policy = Policy.current()

    dismiss = client.post(reverse("admin:portfolio_finding_changelist"),
                          {"action": "dismiss", "_selected_action": [finding.pk], "reason": "nope"})
    change_policy = client.post(reverse("admin:portfolio_policy_change", args=[policy.pk]), {"pilot_max_days": 1})
    start = client.post(reverse("admin:portfolio_scanrun_start"), {"kinds": ["stalled_pilot"]})

    assert change_policy.status_code == 403
    assert start.status_code == 403
    assert dismiss.status_code == 200  # Django ignores an action the user is not offered
    assert Finding.objects.get().status == FindingStatus.OPEN
    assert Policy.current().pilot_max_days == 90
    assert not ScanRun.objects.exists()


def test_program_office_dismisses_with_a_reason_from_the_list(client, program_office_user, finding):
    client.force_login(program_office_user)

    client.post(reverse("admin:portfolio_finding_changelist"),
                {"action": "dismiss", "_selected_action": [finding.pk], "reason": "Pilot paused on purpose until Q1."})

    finding.refresh_from_db()
    assert finding.status == FindingStatus.DISMISSED
    assert finding.status_reason == "Pilot paused on purpose until Q1."
    assert finding.events.first().actor == program_office_user


def test_dismissing_without_a_reason_is_refused_with_a_message(client, program_office_user, finding):
    client.force_login(program_office_user)

    response = client.post(reverse("admin:portfolio_finding_changelist"),
                           {"action": "dismiss", "_selected_action": [finding.pk], "reason": ""}, follow=True)

    assert "needs a reason" in response.content.decode()
    assert Finding.objects.get().status == FindingStatus.OPEN


def test_program_office_starts_a_scan_from_the_admin_and_watches_it(client, program_office_user, no_detectors, finding):
    client.force_login(program_office_user)

    response = client.post(reverse("admin:portfolio_scanrun_start"),
                           {"kinds": ["stalled_pilot"], "as_of": "2026-11-03"}, follow=True)

    run = ScanRun.objects.get()
    assert (run.status, run.as_of, run.kinds, run.triggered_by) == ("succeeded", datetime.date(2026, 11, 3),
                                                                   ["stalled_pilot"], program_office_user)
    assert run.resolved == 1
    assert f"Scan run {run.pk} is succeeded" in response.content.decode()
    changelist = client.get(reverse("admin:portfolio_scanrun_changelist")).content.decode()
    assert "Start a scan" in changelist


def test_program_office_edits_the_policy(client, program_office_user):
    client.force_login(program_office_user)
    policy = Policy.current()
    data = {
        "pilot_max_days": 120, "validating_max_days": 60, "inactivity_days": 45, "ownership_confirmation_days": 180,
        "kpi_observation_days": 90, "duplicate_min_similarity": 0.6, "generic_mailbox_patterns": "info@*",
        "value_min_observations": 3, "value_min_production_days": 180, "lopsided_spend_share": 0.6,
        "lopsided_readiness_gap": 1.0,
    }

    response = client.post(reverse("admin:portfolio_policy_change", args=[policy.pk]), data)

    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.pilot_max_days, policy.inactivity_days, policy.mailbox_patterns) == (120, 45, ("info@*",))
    assert policy.history.first().history_user == program_office_user


def test_a_similarity_above_one_is_refused_naming_the_field(client, program_office_user):
    client.force_login(program_office_user)
    policy = Policy.current()
    data = {
        "pilot_max_days": 90, "validating_max_days": 60, "inactivity_days": 60, "ownership_confirmation_days": 180,
        "kpi_observation_days": 90, "duplicate_min_similarity": 1.5, "generic_mailbox_patterns": "info@*",
        "value_min_observations": 3, "value_min_production_days": 180, "lopsided_spend_share": 0.6,
        "lopsided_readiness_gap": 1.0,
    }

    response = client.post(reverse("admin:portfolio_policy_change", args=[policy.pk]), data)

    assert response.status_code == 200
    assert "duplicate_min_similarity" in str(response.context["adminform"].form.errors)
    assert Policy.current().duplicate_min_similarity == 0.3


def test_the_policy_list_leads_straight_to_the_one_policy(client, program_office_user):
    client.force_login(program_office_user)

    response = client.get(reverse("admin:portfolio_policy_changelist"))

    assert response.status_code == 302
    assert response.url == reverse("admin:portfolio_policy_change", args=[Policy.current().pk])


def test_an_auditor_reads_a_findings_evidence_in_the_admin(client, auditor_user):
    use_cases = UseCaseFactory.create_batch(25)
    reconcile(
        kinds=["orphaned_ownership"],
        detected=[Detected(kind="orphaned_ownership", identity=("mailbox", 1, "business_owner"), severity="medium",
                           title="The shared mailbox ai@example.com owns 25 use cases", use_case_ids=[u.pk for u in use_cases],
                           detail={"object": "use_cases", "role": "business_owner", "owner": "ai@example.com",
                                   "problem": "generic_mailbox", "count": 25, "in_production": 2,
                                   "business_units": ["Finance"]})],
        as_of=AS_OF,
    )
    finding = Finding.objects.get()
    client.force_login(auditor_user)

    body = client.get(reverse("admin:portfolio_finding_change", args=[finding.pk])).content.decode()

    assert "ai@example.com, a shared mailbox, is the only business owner of 25 use cases of Finance, 2 of them in production." in body
    first = min(use_cases, key=lambda u: (u.title, u.pk))
    assert f'<a href="{reverse("admin:registry_usecase_change", args=[first.pk])}">{first.title}</a>' in body
    assert "… and 5 more: " in body and reverse("web:finding", args=[finding.pk]) in body
