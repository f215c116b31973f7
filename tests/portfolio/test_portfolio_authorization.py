"""Every portfolio write service decides itself who may act: called directly, with an actor who
may not, it refuses (NotAllowed) and writes nothing. Pages, the API and the admin check too,
but only to decide what to offer."""

import datetime
from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser

from core.actors import COMMAND, SCHEDULER
from core.errors import NotAllowed
from portfolio.detectors.base import Detected
from portfolio.models import Finding, FindingEvent, FindingStatus, ScanRun
from portfolio.services.findings import assign_finding, change_finding_status, reconcile
from portfolio.services.scans import queue_scan, run_scan_now, start_scan
from tests.factories import PersonFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 11, 2)


@pytest.fixture
def finding():
    use_case = UseCaseFactory(business_owner=PersonFactory(email="olga@example.com"))
    reconcile(kinds=["stalled_pilot"], as_of=AS_OF, detected=[
        Detected(kind="stalled_pilot", identity=(use_case.pk,), severity="high",
                 title=f"'{use_case.title}' has been in pilot for 120 days", use_case_ids=[use_case.pk]),
    ])
    return Finding.objects.get()


@pytest.fixture
def stranger(db):
    """A business owner of nothing this finding concerns."""
    PersonFactory(email="stranger@example.com")
    return UserFactory(username="stranger", email="stranger@example.com", groups=["business_owner"])


@pytest.fixture
def finding_owner(finding):
    """The business owner of the finding's use case."""
    return UserFactory(username="olga", email="olga@example.com", groups=["business_owner"])


def _not_allowed(request, who):
    return {"auditor": lambda: request.getfixturevalue("auditor_user"),
            "business owner of something else": lambda: request.getfixturevalue("stranger"),
            "anonymous": AnonymousUser,
            "nobody (None)": lambda: None}[who]()


WHO_MAY_NOT = ["auditor", "business owner of something else", "anonymous", "nobody (None)"]


def _unchanged(finding):
    again = Finding.objects.get(pk=finding.pk)
    assert (again.status, again.assignee, again.version) == (FindingStatus.OPEN, None, 1)
    assert FindingEvent.objects.filter(finding=finding).count() == 1  # its opening only
    assert again.history.count() == 1


# Scans ---------------------------------------------------------------------------------------


SCAN_SERVICES = {
    "queue_scan": lambda actor: queue_scan(as_of=AS_OF, actor=actor),
    "run_scan_now": lambda actor: run_scan_now(as_of=AS_OF, actor=actor),
    "start_scan": lambda actor: start_scan(as_of=AS_OF, actor=actor),
}


@pytest.mark.parametrize("service", SCAN_SERVICES)
@pytest.mark.parametrize("who", WHO_MAY_NOT)
def test_only_the_program_office_runs_scans(request, service, who):
    actor = _not_allowed(request, who)

    with mock.patch("portfolio.tasks.run_queued_scan.apply_async") as sent, \
            mock.patch("portfolio.services.scans.detector") as detector:
        with pytest.raises(NotAllowed, match="Only the program office runs scans"):
            SCAN_SERVICES[service](actor)

    assert not ScanRun.objects.exists()
    assert not sent.called and not detector.called


@pytest.mark.parametrize("actor", [SCHEDULER, COMMAND], ids=str)
def test_the_system_runs_scans_as_the_program_office(actor):
    run = run_scan_now(kinds=["stalled_pilot"], as_of=AS_OF, actor=actor)

    assert run.status == ScanRun.Status.SUCCEEDED and run.triggered_by is None


# Findings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("to_status, reason", [("acknowledged", ""), ("resolved", ""), ("dismissed", "Not mine.")])
@pytest.mark.parametrize("who", WHO_MAY_NOT)
def test_only_the_program_office_or_an_owner_answers_a_finding(request, finding, who, to_status, reason):
    actor = _not_allowed(request, who)

    with pytest.raises(NotAllowed, match="Only the program office or an owner of what it concerns"):
        change_finding_status(finding=finding, to_status=to_status, actor=actor, reason=reason)

    _unchanged(finding)


@pytest.mark.parametrize("who", [*WHO_MAY_NOT, "business owner of the finding"])
def test_only_the_program_office_assigns_a_finding(request, finding, who):
    actor = (request.getfixturevalue("finding_owner") if who == "business owner of the finding"
             else _not_allowed(request, who))

    with pytest.raises(NotAllowed, match="Only the program office assigns findings"):
        assign_finding(finding=finding, assignee=PersonFactory(), actor=actor)

    _unchanged(finding)


def test_the_owner_of_what_a_finding_concerns_answers_it(finding, finding_owner):
    answered = change_finding_status(finding=finding, to_status="acknowledged", actor=finding_owner)

    assert (answered.status, answered.version) == (FindingStatus.ACKNOWLEDGED, 2)
