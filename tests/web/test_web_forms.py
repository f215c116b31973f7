"""Garbage in every form: a clear error that names the field, nothing half-written, never a 500."""

import pytest
from django.urls import reverse

from portfolio.models import FindingStatus
from registry.models import KPI, Decision, KPIObservation, Stage, UseCase
from tests.factories import UseCaseFactory
from tests.web_setup import htmx, own_finding, own_use_case, owner_person  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

LONG = "x" * 6000
READINESS = {f"{layer}_readiness": "none" for layer in ("data", "infrastructure", "model", "orchestration", "inference")}


@pytest.fixture
def owner(client, business_owner_user, owner_person):
    client.force_login(business_owner_user)
    return client


@pytest.fixture
def office(client, program_office_user):
    client.force_login(program_office_user)
    return client


DECISION_GARBAGE = [
    ({"statement": ""}, "statement", "This field is required"),
    ({"statement": LONG}, "statement", "at most 300 characters"),
    ({"statement": "Which?", "business_unit": "abc"}, "business_unit", "Select a valid choice"),
    ({"statement": "Which?", "frequency": "fortnightly"}, "frequency", "Select a valid choice"),
    ({"statement": "Which?", "cost_of_error": "-5"}, "cost_of_error", "greater than or equal to 0"),
    ({"statement": "Which?", "cost_of_error": "lots"}, "cost_of_error", "Enter a number"),
    ({"statement": "Which?", "decisions_per_period": "-1"}, "decisions_per_period", "greater than or equal to 0"),
    ({"statement": "Which?", "current_method": "<script>"}, "current_method", "Select a valid choice"),
]


@pytest.mark.parametrize("data, field, message", DECISION_GARBAGE)
def test_decision_form_garbage_names_the_field(owner, owner_person, data, field, message):
    data = {"business_unit": owner_person.business_unit_id, **data}
    response = owner.post(reverse("web:decision_new"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Decision.objects.exists()


def test_decision_office_owner_email_unknown_and_duplicate_statement(office, own_use_case):
    decision = own_use_case.decision
    response = office.post(reverse("web:decision_new"), {
        "statement": "Which?", "business_unit": decision.business_unit_id, "owner_email": "ghost@example.com"})
    assert "No person with email &#x27;ghost@example.com&#x27; in the directory" in response.content.decode()
    response = office.post(reverse("web:decision_new"), {
        "statement": decision.statement, "business_unit": decision.business_unit_id})
    assert "already exists" in response.content.decode()
    assert Decision.objects.count() == 1


def test_decision_edit_stale_version_and_garbage_version(owner, owner_person):
    from tests.factories import DecisionFactory

    decision = DecisionFactory(owner=owner_person)
    url = reverse("web:decision_edit", args=[decision.pk])
    base = {"statement": "Changed", "business_unit": decision.business_unit_id}
    assert "Someone changed this" in owner.post(url, {**base, "expected_version": decision.version + 1}).content.decode()
    assert "Enter a whole number" in owner.post(url, {**base, "expected_version": "x"}).content.decode()
    assert "This field is required" in owner.post(url, base).content.decode()
    decision.refresh_from_db()
    assert decision.statement != "Changed"


USE_CASE_GARBAGE = [
    ({"title": ""}, "This field is required"),
    ({"title": LONG}, "at most 200 characters"),
    ({"title": "T", "data_readiness": "mostly"}, "Select a valid choice"),
    ({"title": "T", "expected_annual_value": "-1"}, "greater than or equal to 0"),
    ({"title": "T", "expected_annual_value": "1e999"}, "Ensure that there are no more than"),
    ({"title": "T", "business_owner_email": "not an email"}, "Enter a valid email address"),
    ({"title": "T", "technical_owner_email": "ghost@example.com"}, "No person with email"),
    ({"title": "T", "friction_points": ["nonsense"]}, "Select a valid choice"),
    ({"title": "T", "summary": LONG}, "at most 5000 characters"),
]


@pytest.mark.parametrize("data, message", USE_CASE_GARBAGE)
def test_use_case_form_garbage_names_the_field(owner, owner_person, own_use_case, data, message):
    before = UseCase.objects.count()
    data = {**READINESS, "business_owner_email": owner_person.email, **data}
    response = owner.post(reverse("web:use_case_new", args=[own_use_case.decision_id]), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert UseCase.objects.count() == before


def test_use_case_duplicate_external_id_is_named(owner, owner_person, own_use_case):
    response = owner.post(reverse("web:use_case_new", args=[own_use_case.decision_id]), {
        **READINESS, "title": "Copy", "external_id": own_use_case.external_id, "business_owner_email": owner_person.email})
    assert "Another use case already has this external id" in response.content.decode()
    assert not UseCase.objects.filter(title="Copy").exists()


MOVE_GARBAGE = [
    ({"to_stage": "heaven"}, "Select a valid choice"),
    ({"to_stage": "production"}, "Select a valid choice"),  # not a move allowed from proposed
    ({"to_stage": "validating", "expected_version": ""}, "This field is required"),
    ({"to_stage": "validating", "expected_version": "abc"}, "Enter a whole number"),
    ({"to_stage": "retired", "reason": ""}, "retiring a use case needs a reason"),
    ({"to_stage": "validating", "reason": LONG}, "at most 5000 characters"),
]


@pytest.mark.parametrize("data, message", MOVE_GARBAGE)
def test_move_garbage_is_refused_in_the_card(owner, own_use_case, data, message):
    own_use_case.refresh_from_db()
    data = {"expected_version": own_use_case.version, **data}
    response = owner.post(reverse("web:use_case_move", args=[own_use_case.pk]), data, **htmx())
    assert response.status_code == 200
    assert message in response.content.decode()
    own_use_case.refresh_from_db()
    assert own_use_case.stage == Stage.PROPOSED


@pytest.mark.parametrize("data, message", [
    ({"value": "lots"}, "Enter a number"),
    ({"value": ""}, "This field is required"),
    ({"value": "1" * 30}, "Ensure that there are no more than"),
    ({"observed_on": "yesterday"}, "Enter a valid date"),
    ({"observed_on": "2999-01-01"}, "cannot be in the future"),
    ({"kpi": "999999"}, "Select a valid choice"),
])
def test_kpi_observation_garbage(owner, own_use_case, data, message):
    kpi = own_use_case.kpis.get()
    data = {"kpi": kpi.pk, "observed_on": "2026-11-01", "value": "1", **data}
    response = owner.post(reverse("web:kpi_observation_new", args=[own_use_case.pk]), data, **htmx())
    assert message in response.content.decode()
    assert not KPIObservation.objects.exists()


def test_kpi_observation_of_another_use_cases_kpi_is_refused(owner, own_use_case):
    other_kpi = KPI.objects.create(use_case=UseCaseFactory(), name="Other")
    response = owner.post(reverse("web:kpi_observation_new", args=[own_use_case.pk]),
                          {"kpi": other_kpi.pk, "observed_on": "2026-11-01", "value": "1"}, **htmx())
    assert "Select a valid choice" in response.content.decode()
    assert not KPIObservation.objects.exists()


@pytest.mark.parametrize("data, message", [
    ({"name": ""}, "This field is required"),
    ({"name": "Discount  captured"}, "already has a KPI with that name"),
    ({"name": "New", "direction": "sideways"}, "Select a valid choice"),
    ({"name": "New", "baseline": "abc"}, "Enter a number"),
])
def test_kpi_form_garbage(owner, own_use_case, data, message):
    response = owner.post(reverse("web:kpi_new", args=[own_use_case.pk]), {"direction": "higher", **data})
    assert message in response.content.decode()
    assert own_use_case.kpis.count() == 1


@pytest.mark.parametrize("data, message", [
    ({"action": "explode"}, "Select a valid choice"),
    ({"action": "dismiss", "reason": ""}, "Say why you dismiss this finding"),
    ({"action": "reopen"}, "cannot become open"),
])
def test_finding_action_garbage(office, own_finding, data, message):
    response = office.post(reverse("web:finding_status", args=[own_finding.pk]), data, **htmx())
    assert message in response.content.decode()
    own_finding.refresh_from_db()
    assert own_finding.status == FindingStatus.OPEN


def test_assign_to_an_unknown_or_malformed_email(office, own_finding):
    for value, message in (("ghost@example.com", "No person with email"), ("@@", "Enter a valid email address")):
        response = office.post(reverse("web:finding_assign", args=[own_finding.pk]), {"assignee": value}, **htmx())
        assert message in response.content.decode()
    own_finding.refresh_from_db()
    assert own_finding.assignee is None


@pytest.mark.parametrize("query", [{"kind": "bogus"}, {"unit": "abc"}, {"status": "x"}, {"owner": "not-an-email"},
                                   {"unit": "99999999"}, {"page": "-3"}, {"page": "zz"}])
def test_findings_filter_garbage_never_fails(office, own_finding, query):
    response = office.get(reverse("web:findings"), query)
    assert response.status_code == 200


@pytest.mark.parametrize("query", [{"unit": "abc"}, {"unit": "99999999"}, {"unit": "1' OR 1=1"}])
def test_portfolio_filter_garbage_shows_an_error_and_all_units(office, own_use_case, query):
    for name in ("web:portfolio", "web:portfolio_export"):
        assert office.get(reverse(name), query).status_code == 200


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999"])
def test_home_paging_garbage(owner, own_use_case, page):
    assert owner.get(reverse("web:home"), {"page": page, "dpage": page}).status_code == 200


@pytest.mark.parametrize("data", [{}, {"username": "owner"}, {"username": "x" * 500, "password": "y" * 5000},
                                  {"username": "' OR 1=1 --", "password": "x"}])
def test_login_garbage_is_refused_politely(client, business_owner_user, data):
    response = client.post(reverse("login"), data)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("email", ["", "not-an-email", "x" * 300 + "@example.com"])
def test_password_reset_garbage_names_the_field(client, email):
    response = client.post(reverse("password_reset"), {"email": email})
    assert response.status_code == 200 and 'class="field-error"' in response.content.decode()


def test_password_reset_for_an_unknown_address_says_nothing_more(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from django.core import mail

    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and not mail.outbox
