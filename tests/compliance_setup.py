"""A small made-up compliance portfolio, shared by the compliance page's and API's tests: two
units, high-impact use cases with every kind of practice state, waivers in force, expiring
today, expired and revoked, and EU AI Act classes. Import the fixtures you use by name."""

import datetime

import pytest
from django.utils import timezone

from registry.models import HighImpact, Practice, Stage
from registry.services.determinations import (
    classify_eu, determine_high_impact, grant_waiver, record_practice, revoke_waiver,
)
from tests.factories import TEST_ACTOR, BusinessUnitFactory, DecisionFactory, UseCaseFactory


DONE = {"status": "done", "evidence_link": "https://wiki.example.com/evidence"}
NOT_APPLICABLE = {"status": "not_applicable", "evidence_note": "No person is affected."}


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def use_case(unit, stage, *, title, determination=None):
    made = UseCaseFactory(decision=DecisionFactory(business_unit=unit), stage=stage, title=title)
    if determination:
        justification = "Routes tickets only." if determination == HighImpact.PRESUMED_NOT_HIGH_IMPACT else ""
        determine_high_impact(use_case=made, is_high_impact=determination, hi_justification=justification,
                              actor=TEST_ACTOR)
    return made


def practice(of, name, **status):
    record_practice(use_case=of, practice=name, actor=TEST_ACTOR, **status)


def waive(of, name, *, granted, expires, revoked=None):
    waiver = grant_waiver(use_case=of, practice=name, justification="Vendor contract renegotiation.",
                          granted_on=days(granted), expires_on=days(expires), actor=TEST_ACTOR)
    if revoked is not None:
        revoke_waiver(waiver=waiver, reason="The vendor delivered.", on=days(revoked), actor=TEST_ACTOR)


def classify(of, risk_class, role, **extra):
    classify_eu(use_case=of, role=role, risk_class=risk_class, rationale="As the legal team read it.",
                actor=TEST_ACTOR, **extra)


@pytest.fixture
def portfolio(db):
    """Two units. Benefits: a production use case with every kind of practice state, a pilot one
    with every practice done, a proposed high-impact one, and one each not high-impact, presumed
    not, and not determined. Claims: a production high-impact one with nothing done and an
    expired waiver, and one not determined."""
    benefits, claims = BusinessUnitFactory(name="Benefits"), BusinessUnitFactory(name="Claims")
    eligibility = use_case(benefits, Stage.PRODUCTION, title="Eligibility screening", determination=HighImpact.HIGH_IMPACT)
    practice(eligibility, Practice.TESTING_CONDUCTED, **DONE)
    practice(eligibility, Practice.ASSESSMENT_COMPLETED, status="in_progress")
    practice(eligibility, Practice.INDEPENDENT_REVIEW, **NOT_APPLICABLE)
    waive(eligibility, Practice.ONGOING_MONITORING, granted=-30, expires=0)  # expires today: still in force
    practice(eligibility, Practice.TRAINING_ESTABLISHED, status="not_started")
    waive(eligibility, Practice.TRAINING_ESTABLISHED, granted=-20, expires=100, revoked=-1)
    practice(eligibility, Practice.FAILSAFE_PRESENCE, **DONE)
    waive(eligibility, Practice.FAILSAFE_PRESENCE, granted=-5, expires=30)  # waived beats done
    practice(eligibility, Practice.APPEAL_PROCESS, status="not_started")
    classify(eligibility, "high_risk_annex_iii", "deployer", annex_iii_area="essential_services")

    fraud = use_case(benefits, Stage.PILOT, title="Fraud triage", determination=HighImpact.HIGH_IMPACT)
    for name in Practice.values:
        practice(fraud, name, **DONE)
    classify(fraud, "minimal", "provider")
    use_case(benefits, Stage.PROPOSED, title="Appeals drafting", determination=HighImpact.HIGH_IMPACT)
    use_case(benefits, Stage.PRODUCTION, title="Mail sorting", determination=HighImpact.NOT_HIGH_IMPACT)
    use_case(benefits, Stage.PILOT, title="Ticket routing", determination=HighImpact.PRESUMED_NOT_HIGH_IMPACT)
    use_case(benefits, Stage.VALIDATING, title="Forms reading")

    scoring = use_case(claims, Stage.PRODUCTION, title="Claims scoring", determination=HighImpact.HIGH_IMPACT)
    waive(scoring, Practice.TESTING_CONDUCTED, granted=-60, expires=-1)  # expired yesterday
    classify(scoring, "prohibited", "provider")
    use_case(claims, Stage.PILOT, title="Adjuster chatbot")
    return {"benefits": benefits, "claims": claims, "eligibility": eligibility, "fraud": fraud, "scoring": scoring}
