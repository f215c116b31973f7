"""Shared setup of the page tests: a small portfolio with an owner, someone else's use case
and a finding, plus the logins of each role. Import the fixtures you use by name."""

import datetime

import pytest

from portfolio.services.findings import reconcile
from portfolio.models import Finding
from portfolio.detectors.base import Detected
from tests.factories import DecisionFactory, KPIFactory, PersonFactory, UseCaseFactory, UserFactory

AS_OF = datetime.date(2026, 11, 2)


@pytest.fixture
def owner_person(business_owner_user):
    return PersonFactory(email=business_owner_user.email, name="Olga Owner")


@pytest.fixture
def own_use_case(owner_person):
    # Someone else's decision of the owner's own unit: she answers for the use case, not the decision.
    decision = DecisionFactory(business_unit=owner_person.business_unit)
    use_case = UseCaseFactory(decision=decision, business_owner=owner_person, title="Invoice early payment ranking")
    KPIFactory(use_case=use_case, name="Discount captured")
    return use_case


@pytest.fixture
def others_use_case(db):
    return UseCaseFactory(title="Someone else's churn model")


@pytest.fixture
def no_role_user(db):
    return UserFactory(username="norole")


def make_finding(*use_cases, kind="stalled_pilot", title=None):
    detected = Detected(kind=kind, identity=tuple(u.pk for u in use_cases), severity="high",
                        title=title or f"'{use_cases[0].title}' has been in pilot for 120 days",
                        use_case_ids=[u.pk for u in use_cases], detail={"days_in_stage": 120, "limit": 90})
    reconcile(kinds=[kind], detected=[detected], as_of=AS_OF)
    return Finding.objects.get(fingerprint=detected.fingerprint)


@pytest.fixture
def own_finding(own_use_case):
    return make_finding(own_use_case)


@pytest.fixture
def others_finding(others_use_case):
    return make_finding(others_use_case, kind="orphaned_ownership", title="Nobody confirmed ownership")


def htmx(**extra):
    return {"HTTP_HX_REQUEST": "true", **extra}
