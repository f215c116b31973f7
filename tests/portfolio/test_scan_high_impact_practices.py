"""High-impact practices: high-impact use cases in pilot or production without their minimum
practices, waivers past their expiry, and waivers not reported to OMB within 30 days."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio.detectors import high_impact_practices
from portfolio.evidence import present
from portfolio.models import Finding, FindingKind, FindingStatus, Policy
from portfolio.services.findings import change_finding_status
from portfolio.services.scans import run_scan_now
from registry.models import HighImpact, Practice, Stage, StageTransition
from registry.services.determinations import (
    determine_high_impact, grant_waiver, record_practice, record_waiver_reported, revoke_waiver,
)
from tests.dates import at, days
from tests.factories import TEST_ACTOR, UseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db

ENTERED = datetime.date(2025, 12, 1)
GRANTED = datetime.date(2026, 1, 5)
EXPIRES = datetime.date(2026, 4, 30)
KIND = FindingKind.HIGH_IMPACT_PRACTICES


@pytest.fixture
def caio():
    return UserFactory(username="caio", groups=["chief_ai_officer"])


def use_case_in(stage, *, determination=HighImpact.HIGH_IMPACT, done=(), **kwargs):
    use_case = UseCaseFactory(stage=stage, stage_entered_on=ENTERED, **kwargs)
    StageTransition.objects.create(use_case=use_case, from_stage="", to_stage=stage, occurred_at=at(ENTERED),
                                   source="import")
    if determination:
        determine_high_impact(use_case=use_case, is_high_impact=determination, actor=TEST_ACTOR,
                              hi_justification="Decides nothing about people.")
    for practice in done:
        record_practice(use_case=use_case, practice=practice, status="done", actor=TEST_ACTOR,
                        evidence_link="https://wiki.example.com/evidence")
    return use_case


def all_but(*practices):
    return [p for p in Practice.values if p not in practices]


def detect(as_of=GRANTED):
    return high_impact_practices.detect(as_of=as_of, policy=Policy())


def problems(found):
    return sorted((d.detail["problem"], d.detail.get("practice"), d.severity) for d in found)


def test_high_impact_use_cases_in_pilot_or_production_missing_practices_are_high_and_critical():
    cases = {stage: use_case_in(stage) for stage in Stage.values}
    use_case_in(Stage.PRODUCTION, determination=HighImpact.NOT_HIGH_IMPACT)
    use_case_in(Stage.PRODUCTION, determination=HighImpact.PRESUMED_NOT_HIGH_IMPACT)
    use_case_in(Stage.PRODUCTION, determination=None)

    found = {d.use_case_ids[0]: d for d in detect()}

    assert {pk: d.severity for pk, d in found.items()} == {
        cases[Stage.PILOT].pk: "high", cases[Stage.PRODUCTION].pk: "critical"}
    production = found[cases[Stage.PRODUCTION].pk]
    assert production.kind == KIND
    assert [m["practice"] for m in production.detail["missing"]] == Practice.values
    assert {m["status"] for m in production.detail["missing"]} == {"not_started"}
    assert production.title == (f"'{cases[Stage.PRODUCTION].title}' is high-impact and in production with none of "
                                "the 8 minimum practices done or waived")


def test_done_and_waived_practices_count_and_not_applicable_does_not(caio):
    use_case = use_case_in(Stage.PRODUCTION, done=all_but("ongoing_monitoring", "appeal_process", "training_established"))
    record_practice(use_case=use_case, practice="appeal_process", status="not_applicable", actor=TEST_ACTOR,
                    evidence_note="Appeal precluded by law.")
    record_practice(use_case=use_case, practice="training_established", status="in_progress", actor=TEST_ACTOR)
    grant_waiver(use_case=use_case, practice="ongoing_monitoring", justification="Vendor tool pending.",
                 granted_on=GRANTED, expires_on=EXPIRES, reported_on=GRANTED, actor=caio)

    [finding] = detect(GRANTED + days(1))

    assert finding.detail["missing"] == [{"practice": "training_established", "status": "in_progress"},
                                         {"practice": "appeal_process", "status": "not_applicable"}]
    assert finding.detail["waived"] == [{"practice": "ongoing_monitoring", "expires_on": EXPIRES.isoformat()}]
    assert finding.substance == ("training_established", "appeal_process")
    assert finding.title == (f"'{use_case.title}' is high-impact and in production with 2 minimum practices neither "
                             "done nor waived: Human training and oversight, Appeal and remedy")


def test_a_title_too_long_for_every_practice_name_ends_with_how_many_more():
    use_case = use_case_in(Stage.PILOT, done=["testing_conducted"], title="T" * 150)

    [finding] = detect()

    assert len(finding.title) <= 300
    assert finding.title.endswith("with 7 minimum practices neither done nor waived: AI impact assessment, "
                                  "Independent review and 5 more")


def test_every_practice_done_is_no_finding():
    use_case_in(Stage.PRODUCTION, done=Practice.values)

    assert detect() == []


def test_a_waiver_expiring_today_still_holds_and_the_day_after_it_is_a_finding(caio):
    use_case = use_case_in(Stage.PRODUCTION, done=all_but("independent_review"))
    grant_waiver(use_case=use_case, practice="independent_review", justification="No reviewer yet.",
                 granted_on=GRANTED, expires_on=EXPIRES, reported_on=GRANTED + days(3), actor=caio)

    assert detect(EXPIRES) == []
    after = detect(EXPIRES + days(1))

    assert problems(after) == [("practices_missing", None, "critical"),
                               ("waiver_expired", "independent_review", "high")]
    expired = next(d for d in after if d.detail["problem"] == "waiver_expired")
    assert expired.detail["days_expired"] == 1
    assert expired.title == (f"The waiver of 'Independent review' for '{use_case.title}' expired on 2026-04-30, "
                             "and the practice is not done")
    # done since, the expired waiver is history
    record_practice(use_case=use_case, practice="independent_review", status="done", actor=TEST_ACTOR,
                    evidence_note="Oversight Board Review")
    assert detect(EXPIRES + days(1)) == []


def test_a_renewed_waiver_leaves_the_expired_one_alone(caio):
    use_case = use_case_in(Stage.PILOT, done=all_but("independent_review"))
    grant_waiver(use_case=use_case, practice="independent_review", justification="No reviewer yet.",
                 granted_on=GRANTED, expires_on=GRANTED + days(20), reported_on=GRANTED, actor=caio)
    grant_waiver(use_case=use_case, practice="independent_review", justification="Still none.",
                 granted_on=GRANTED + days(21), expires_on=EXPIRES, reported_on=GRANTED + days(21), actor=caio)

    assert detect(GRANTED + days(25)) == []


@pytest.mark.parametrize(("reported_after", "as_of_after", "expected"), [
    (None, 30, []),  # day 30, not reported yet: still in time
    (None, 31, [("waiver_unreported", "failsafe_presence", "medium")]),
    (30, 60, []),  # reported on day 30: in time
    (31, 60, [("waiver_reported_late", "failsafe_presence", "medium")]),
    (40, 35, [("waiver_unreported", "failsafe_presence", "medium")]),  # reported after the day judged
])
def test_a_waiver_is_reported_within_30_days_of_its_grant(caio, reported_after, as_of_after, expected):
    use_case = use_case_in(Stage.VALIDATING)  # the reporting duty holds whatever the stage
    reported_on = GRANTED + days(reported_after) if reported_after is not None else None
    grant_waiver(use_case=use_case, practice="failsafe_presence", justification="A clerk checks every case.",
                 granted_on=GRANTED, expires_on=EXPIRES, reported_on=reported_on, actor=caio)

    found = detect(GRANTED + days(as_of_after))

    assert problems(found) == expected
    if expected:
        assert found[0].detail["days_to_report"] == min(reported_after or as_of_after, as_of_after)


def test_a_revoked_waiver_has_nothing_to_report_and_a_waiver_not_granted_yet_is_not_judged(caio):
    use_case = use_case_in(Stage.VALIDATING)
    revoked = grant_waiver(use_case=use_case, practice="failsafe_presence", justification="x",
                           granted_on=GRANTED, expires_on=EXPIRES, actor=caio)
    revoke_waiver(waiver=revoked, reason="The fail-safe was built.", actor=caio, on=GRANTED + days(40))

    assert problems(detect(GRANTED + days(35))) == [("waiver_unreported", "failsafe_presence", "medium")]
    assert detect(GRANTED + days(41)) == []
    assert detect(GRANTED - days(1)) == []


def test_judged_as_of_a_date_the_stage_then_counts():
    use_case = use_case_in(Stage.PILOT)
    StageTransition.objects.create(use_case=use_case, from_stage=Stage.PILOT, to_stage=Stage.PRODUCTION,
                                   occurred_at=at(GRANTED + days(10)), source="product")

    assert [d.severity for d in detect(GRANTED)] == ["high"]
    assert [d.severity for d in detect(GRANTED + days(10))] == ["critical"]
    assert detect(ENTERED - days(1)) == []


def test_the_scan_opens_keeps_resolves_and_reopens_its_findings(caio):
    use_case = use_case_in(Stage.PRODUCTION, done=all_but("ongoing_monitoring", "appeal_process"))

    def scan(as_of=GRANTED):
        run_scan_now(kinds=[KIND], as_of=as_of, actor=TEST_ACTOR)
        return list(Finding.objects.filter(kind=KIND).order_by("pk"))

    [opened] = scan()
    assert opened.status == FindingStatus.OPEN and list(opened.use_cases.all()) == [use_case]
    # the owner records monitoring: the same finding, now naming appeal only
    record_practice(use_case=use_case, practice="ongoing_monitoring", status="done", actor=TEST_ACTOR,
                    evidence_note="Drift dashboard reviewed weekly.")
    [still] = scan(GRANTED + days(1))
    assert still.pk == opened.pk and still.status == FindingStatus.OPEN
    assert [m["practice"] for m in still.detail["missing"]] == ["appeal_process"]
    # dismissed, it stays dismissed while nothing else goes missing…
    change_finding_status(finding=still, to_status=FindingStatus.DISMISSED, reason="Appeal process goes live next month.",
                          actor=TEST_ACTOR)
    [dismissed] = scan(GRANTED + days(2))
    assert dismissed.status == FindingStatus.DISMISSED
    # …and reopens when another practice goes missing
    record_practice(use_case=use_case, practice="testing_conducted", status="in_progress", actor=TEST_ACTOR)
    [reopened] = scan(GRANTED + days(3))
    assert reopened.status == FindingStatus.OPEN
    # every practice done or waived: resolved
    for practice in ("appeal_process", "testing_conducted"):
        record_practice(use_case=use_case, practice=practice, status="done", actor=TEST_ACTOR,
                        evidence_link="https://wiki.example.com/evidence")
    [resolved] = scan(GRANTED + days(4))
    assert resolved.status == FindingStatus.RESOLVED


def _queries(as_of):
    with CaptureQueriesContext(connection) as captured:
        detect(as_of)
    return len(captured)


def test_the_scan_takes_as_many_queries_for_12_use_cases_as_for_2(caio):
    def seed(count):
        for _ in range(count):
            use_case = use_case_in(Stage.PRODUCTION, done=["testing_conducted"])
            grant_waiver(use_case=use_case, practice="failsafe_presence", justification="x",
                         granted_on=GRANTED, expires_on=GRANTED + days(10), actor=caio)

    seed(2)
    few = _queries(GRANTED + days(40))
    seed(10)
    many = _queries(GRANTED + days(40))

    assert len(detect(GRANTED + days(40))) == 3 * 12  # practices missing, waiver expired, waiver unreported: each
    assert many == few <= 6


def test_the_evidence_reads_as_sentences_and_a_table(caio):
    use_case = use_case_in(Stage.PRODUCTION, done=all_but("ongoing_monitoring", "appeal_process"))
    grant_waiver(use_case=use_case, practice="appeal_process", justification="x", granted_on=GRANTED,
                 expires_on=GRANTED + days(10), actor=caio)
    found = {d.detail["problem"]: d for d in detect(GRANTED + days(40))}

    missing = present(KIND, found["practices_missing"].detail, members=[use_case])
    expired = present(KIND, found["waiver_expired"].detail, members=[use_case])
    late = present(KIND, found["waiver_unreported"].detail, members=[use_case])

    assert missing.sentences[0] == (f"“{use_case.title}” ({use_case.key}) of {use_case.business_unit.name} is "
                                    "high-impact AI under OMB M-25-21 and in production, with 2 of the 8 minimum "
                                    "practices neither done nor waived.")
    [table] = missing.tables
    assert [[c.text for c in row] for row in table.rows] == [["Ongoing monitoring", "not started"],
                                                            ["Appeal and remedy", "not started"]]
    assert expired.sentences[0].startswith("The waiver of “Appeal and remedy” for “")
    assert "expired on 2026-01-15, 30 days ago." in expired.sentences[0]
    assert "has not been reported to OMB: 40 days since its grant, 10 over the 30-day limit." in late.sentences[0]
    for evidence in (missing, expired, late):
        assert not [s for s in evidence.sentences if "{" in s or "[" in s or "_" in s]
