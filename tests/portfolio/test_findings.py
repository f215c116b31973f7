"""The finding lifecycle as the program office sees it across scans."""

import datetime
from decimal import Decimal

import pytest

from core.errors import NotAllowed, StaleVersion
from portfolio.services.findings import FindingChangeRefused, assign_finding, change_finding_status, reconcile
from portfolio.models import Finding, FindingEvent, FindingStatus
from portfolio.detectors.base import Detected
from tests.factories import PersonFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 11, 2)
TUESDAY = datetime.date(2026, 11, 3)
WEDNESDAY = datetime.date(2026, 11, 4)
KIND = "duplicate_capability"


def found(*use_cases, severity="medium", anchor=None):
    ids = sorted(u.pk for u in use_cases)
    return Detected(
        kind=KIND, identity=(anchor or ids[0],), severity=severity, title=f"{len(ids)} use cases do the same",
        use_case_ids=ids, decision_ids=sorted({u.decision_id for u in use_cases}), detail={"similarity": 0.8},
        substance=tuple(ids),
    )


def office():
    return UserFactory(groups=["program_office"])


def scan(*detected, on=MONDAY):
    return reconcile(kinds=[KIND], detected=list(detected), as_of=on)


@pytest.fixture
def pair():
    return UseCaseFactory(), UseCaseFactory()


def test_a_new_problem_opens_a_finding_with_its_use_cases(pair):
    result = scan(found(*pair))

    finding = Finding.objects.get()
    assert len(result.opened) == 1
    assert finding.status == FindingStatus.OPEN
    assert set(finding.use_cases.all()) == set(pair)
    assert finding.first_seen == finding.last_seen == MONDAY
    assert finding.events.get().reason == "Opened by the scan."


def test_scanning_twice_changes_nothing_but_last_seen(pair):
    scan(found(*pair))
    first = Finding.objects.get()

    result = scan(found(*pair), on=TUESDAY)

    again = Finding.objects.get()
    assert (result.opened, result.still_open, result.resolved) == ([], 1, 0)
    assert again.pk == first.pk and again.status == FindingStatus.OPEN
    assert (again.first_seen, again.last_seen) == (MONDAY, TUESDAY)
    assert FindingEvent.objects.count() == 1


def test_a_finding_seen_again_unchanged_adds_nothing_to_its_history(pair):
    scan(found(*pair))

    scan(found(*pair), on=TUESDAY)

    finding = Finding.objects.get()
    assert [record.history_change_reason for record in finding.history.all()] == ["opened by a scan"]
    assert finding.last_seen == TUESDAY


def test_scanning_again_on_the_same_day_writes_nothing(pair):
    scan(found(*pair))

    scan(found(*pair))

    finding = Finding.objects.get()
    assert (finding.version, finding.history.count(), finding.events.count()) == (1, 1, 1)


def test_a_finding_whose_use_cases_change_is_relinked(pair):
    scan(found(*pair))
    newcomer = UseCaseFactory()

    scan(found(*pair, newcomer, anchor=min(u.pk for u in pair)), on=TUESDAY)

    finding = Finding.objects.get()
    assert set(finding.use_cases.all()) == {*pair, newcomer}
    assert finding.version == 2


def test_a_finding_whose_words_change_is_rewritten_with_a_history_record(pair):
    scan(found(*pair))
    reworded = found(*pair)
    reworded.detail = {"similarity": 0.9}

    scan(reworded, on=TUESDAY)

    finding = Finding.objects.get()
    assert finding.detail == {"similarity": 0.9}
    assert [(record.history_change_reason, record.detail) for record in finding.history.order_by("history_id")] == [
        ("opened by a scan", {"similarity": 0.8}), ("updated by a scan", {"similarity": 0.9})]


def counted(days: int, *use_cases, severity="medium"):
    """A finding whose title, detail and price count days to the judged date over steady facts."""
    finding = found(*use_cases, severity=severity)
    finding.title, finding.detail, finding.price = f"Stalled for {days} days", {"days": days}, Decimal(days * 10)
    finding.facts = ("pilot", "2026-01-05")
    return finding


def test_days_counted_to_a_later_date_are_rewritten_without_a_history_record(pair):
    scan(counted(300, *pair))

    scan(counted(301, *pair), on=TUESDAY)

    finding = Finding.objects.get()
    assert (finding.title, finding.detail, finding.price) == ("Stalled for 301 days", {"days": 301}, Decimal("3010.00"))
    assert (finding.last_seen, finding.version) == (TUESDAY, 2)
    assert finding.history.count() == 1


def test_a_severity_that_grows_with_the_days_is_recorded_in_the_history(pair):
    scan(counted(300, *pair))

    scan(counted(301, *pair, severity="high"), on=TUESDAY)

    finding = Finding.objects.get()
    assert (finding.severity, finding.title) == ("high", "Stalled for 301 days")
    assert [(r.severity, r.title) for r in finding.history.order_by("history_id")] == [
        ("medium", "Stalled for 300 days"), ("high", "Stalled for 301 days")]


def test_a_problem_that_no_longer_holds_is_resolved_by_the_scan_saying_so(pair):
    scan(found(*pair))

    result = scan(on=TUESDAY)

    finding = Finding.objects.get()
    assert result.resolved == 1
    assert finding.status == FindingStatus.RESOLVED
    assert "no longer holds as of 2026-11-03" in finding.events.first().reason


def test_a_resolved_problem_that_comes_back_is_reopened_not_doubled(pair):
    scan(found(*pair))
    scan(on=TUESDAY)

    result = scan(found(*pair), on=WEDNESDAY)

    finding = Finding.objects.get()
    assert len(result.reopened) == 1
    assert finding.status == FindingStatus.OPEN
    assert [e.to_status for e in finding.events.order_by("id")] == ["open", "resolved", "open"]


def test_a_dismissed_finding_stays_dismissed_while_it_holds(pair):
    scan(found(*pair))
    change_finding_status(finding=Finding.objects.get(), to_status="dismissed", actor=office(),
                          reason="Two regional variants, on purpose.")

    result = scan(found(*pair), on=TUESDAY)

    finding = Finding.objects.get()
    assert finding.status == FindingStatus.DISMISSED
    assert finding.last_seen == TUESDAY
    assert result.opened == [] and result.reopened == []


def test_a_dismissed_duplicate_reopens_when_a_new_use_case_joins_the_group(pair):
    scan(found(*pair))
    change_finding_status(finding=Finding.objects.get(), to_status="dismissed", actor=office(),
                          reason="Two regional variants, on purpose.")
    newcomer = UseCaseFactory()

    result = scan(found(*pair, newcomer, anchor=min(u.pk for u in pair)), on=TUESDAY)

    finding = Finding.objects.get()
    assert len(result.reopened) == 1
    assert finding.status == FindingStatus.OPEN
    assert newcomer in finding.use_cases.all()
    assert "changed since it was dismissed" in finding.events.first().reason


def test_acknowledged_findings_stay_acknowledged_while_they_hold(pair):
    scan(found(*pair))
    change_finding_status(finding=Finding.objects.get(), to_status="acknowledged", actor=office())

    scan(found(*pair, severity="high"), on=TUESDAY)

    finding = Finding.objects.get()
    assert (finding.status, finding.severity) == (FindingStatus.ACKNOWLEDGED, "high")


def test_dismissing_without_a_reason_is_refused(pair):
    scan(found(*pair))

    with pytest.raises(FindingChangeRefused, match="needs a reason"):
        change_finding_status(finding=Finding.objects.get(), to_status="dismissed", actor=office(), reason="  ")

    assert Finding.objects.get().status == FindingStatus.OPEN


def test_a_resolved_finding_cannot_be_acknowledged(pair):
    scan(found(*pair))
    finding = change_finding_status(finding=Finding.objects.get(), to_status="resolved", actor=office())

    with pytest.raises(FindingChangeRefused, match="resolved cannot become acknowledged"):
        change_finding_status(finding=finding, to_status="acknowledged", actor=office())


def test_status_changes_record_who_and_why(pair):
    scan(found(*pair))
    lead = UserFactory(username="office-lead", groups=["program_office"])

    change_finding_status(finding=Finding.objects.get(), to_status="dismissed", actor=lead, reason="Planned overlap.")

    event = FindingEvent.objects.first()
    assert (event.from_status, event.to_status, event.actor, event.reason) == ("open", "dismissed", lead, "Planned overlap.")
    assert Finding.objects.get().history.first().history_user == lead


def test_assigning_a_finding_keeps_it_in_history(pair):
    scan(found(*pair))
    person = PersonFactory()

    assign_finding(finding=Finding.objects.get(), assignee=person, actor=office())

    finding = Finding.objects.get()
    assert finding.assignee == person
    assert finding.history.first().history_change_reason == f"assigned to {person.email}"


def test_other_kinds_are_left_alone_by_a_scan(pair):
    scan(found(*pair))

    reconcile(kinds=["stalled_pilot"], detected=[], as_of=TUESDAY)

    assert Finding.objects.get().status == FindingStatus.OPEN


def test_a_business_owner_answers_findings_on_what_they_own_only(pair):
    scan(found(*pair))
    finding = Finding.objects.get()
    owner = UserFactory(username="owner-of-first", email=pair[0].business_owner.email, groups=["business_owner"])
    stranger = UserFactory(username="stranger", email="stranger@example.com", groups=["business_owner"])

    with pytest.raises(NotAllowed, match="Only the program office or an owner"):
        change_finding_status(finding=finding, to_status="dismissed", actor=stranger, reason="Not mine.")
    change_finding_status(finding=finding, to_status="acknowledged", actor=owner)

    assert Finding.objects.get().status == FindingStatus.ACKNOWLEDGED


def test_a_back_dated_scan_leaves_later_findings_alone(pair):
    scan(found(*pair), on=TUESDAY)

    reconcile(kinds=[KIND], detected=[], as_of=MONDAY)

    finding = Finding.objects.get()
    assert (finding.status, finding.last_seen) == (FindingStatus.OPEN, TUESDAY)


# Versions: every change a reader could notice moves the finding's version ---------------------


def test_every_change_a_scan_makes_moves_the_version(pair):
    scan(found(*pair))
    assert Finding.objects.get().version == 1

    scan(found(*pair), on=TUESDAY)  # seen again: only last_seen moves
    assert Finding.objects.get().version == 2

    scan(found(*pair, severity="high"), on=WEDNESDAY)  # refreshed
    assert Finding.objects.get().version == 3

    scan(on=datetime.date(2026, 11, 5))  # resolved
    assert (Finding.objects.get().status, Finding.objects.get().version) == (FindingStatus.RESOLVED, 4)

    scan(found(*pair, severity="high"), on=datetime.date(2026, 11, 6))  # reopened
    assert (Finding.objects.get().status, Finding.objects.get().version) == (FindingStatus.OPEN, 5)


def test_a_back_dated_scan_that_changes_nothing_leaves_the_version(pair):
    scan(found(*pair), on=TUESDAY)

    scan(found(*pair), on=MONDAY)

    assert Finding.objects.get().version == 1


def test_answering_and_assigning_move_the_version_and_record_who_and_why(pair):
    scan(found(*pair))
    lead = UserFactory(username="office-lead", groups=["program_office"])
    person = PersonFactory()

    answered = change_finding_status(finding=Finding.objects.get(), to_status="dismissed", actor=lead,
                                     reason="Planned overlap.", expected_version=1)
    assigned = assign_finding(finding=Finding.objects.get(), assignee=person, actor=lead, expected_version=2)

    assert (answered.version, assigned.version, Finding.objects.get().version) == (2, 3, 3)
    dismissed, assigned_record = Finding.objects.get().history.order_by("history_id")[1:]
    assert (dismissed.version, dismissed.history_user, dismissed.history_change_reason) == (2, lead, "Planned overlap.")
    assert (assigned_record.version, assigned_record.history_user) == (3, lead)


@pytest.mark.parametrize("write", [
    lambda finding, actor: change_finding_status(finding=finding, to_status="acknowledged", actor=actor,
                                                 expected_version=1),
    lambda finding, actor: assign_finding(finding=finding, assignee=PersonFactory(), actor=actor, expected_version=1),
], ids=["change status", "assign"])
def test_a_write_with_a_stale_version_is_refused_and_writes_nothing(pair, write):
    scan(found(*pair))
    scan(found(*pair), on=TUESDAY)  # the finding moved to version 2 since it was read
    finding = Finding.objects.get()

    with pytest.raises(StaleVersion):
        write(finding, office())

    again = Finding.objects.get()
    assert (again.version, again.status, again.assignee) == (2, FindingStatus.OPEN, None)
    assert FindingEvent.objects.count() == 1
