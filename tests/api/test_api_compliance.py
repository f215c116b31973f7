"""GET /api/compliance/: the compliance view's figures for scripts, with the page's scope and rules."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from registry.models import HighImpact, Practice, Stage
from tests.compliance_setup import DONE, classify, portfolio, practice, use_case, waive  # noqa: F401  (fixtures)
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(program_office_user):
    client = APIClient()
    client.force_authenticate(program_office_user)
    return client


def by_unit(rows: list[dict]) -> dict[str, dict]:
    return {row["unit"]: row for row in rows}


def test_the_figures_match_the_page(office, portfolio):
    body = office.get("/api/compliance/").json()

    assert body["use_cases"] == 8 and body["unit"] is None and body["stage"] is None
    benefits = by_unit(body["determinations"])["Benefits"]
    assert benefits["unit_id"] == portfolio["benefits"].pk
    assert benefits["counts"] == {"high_impact": 3, "not_high_impact": 1, "presumed_not_high_impact": 1,
                                  "not_determined": 1} and benefits["total"] == 6
    assert by_unit(body["high_impact_by_stage"])["Claims"]["counts"]["production"] == 1
    production = {s["stage"]: s for s in body["practices"]}["production"]
    assert (production["high_impact"], production["with_gap"]) == (2, 2)
    monitoring = {p["practice"]: p for p in production["practices"]}[Practice.ONGOING_MONITORING]
    assert monitoring["counts"] == {"done": 0, "in_progress": 0, "missing": 1, "not_applicable": 0, "waived": 1}
    assert [p["practice"] for p in production["practices"]] == list(Practice.values)
    assert by_unit(body["eu_risk_classes"])["Claims"]["counts"]["prohibited"] == 1
    assert by_unit(body["eu_roles"])["Benefits"]["counts"]["not_classified"] == 4


def test_unit_and_stage_narrow_the_figures(office, portfolio):
    body = office.get("/api/compliance/", {"unit": portfolio["claims"].pk, "stage": "production"}).json()

    assert (body["unit"], body["stage"], body["use_cases"]) == (portfolio["claims"].pk, "production", 1)
    assert [row["unit"] for row in body["determinations"]] == ["Claims"]
    assert [s["stage"] for s in body["practices"]] == ["production"]


@pytest.mark.parametrize("query, field", [({"unit": "abc"}, "unit"), ({"unit": ""}, "unit"), ({"unit": "0"}, "unit"),
                                          ({"unit": "1.0"}, "unit"), ({"stage": "bogus"}, "stage"),
                                          ({"stage": ""}, "stage"), ({"stage": ["pilot", "production"]}, "stage")])
def test_a_garbage_parameter_is_a_400_naming_it(office, portfolio, query, field):
    response = office.get("/api/compliance/", query)

    assert response.status_code == 400 and field in response.json()


def test_an_unknown_unit_is_a_404(office, portfolio):
    response = office.get("/api/compliance/", {"unit": 99999999})

    assert response.status_code == 404 and "99999999" in response.json()["detail"]


@pytest.mark.parametrize("groups, status", [(["program_office"], 200), (["auditor"], 200), (["business_owner"], 403),
                                            (["chief_ai_officer"], 403), (["approver"], 403), ([], 403)])
def test_the_program_office_and_auditors_read_it(portfolio, groups, status):
    client = APIClient()
    client.force_authenticate(UserFactory(username="someone", groups=groups))

    assert client.get("/api/compliance/").status_code == status
    assert APIClient().get("/api/compliance/").status_code == 401


def test_its_queries_do_not_grow_with_the_portfolio(office, portfolio, django_assert_num_queries):
    office.get("/api/compliance/")  # the login's groups are read once, then kept on it
    with CaptureQueriesContext(connection) as small:
        assert office.get("/api/compliance/").status_code == 200

    for i in range(12):
        more = use_case(BusinessUnitFactory(name=f"Unit {i}"), Stage.PILOT, title=f"Benefit check {i}",
                        determination=HighImpact.HIGH_IMPACT)
        practice(more, Practice.TESTING_CONDUCTED, **DONE)
        waive(more, Practice.APPEAL_PROCESS, granted=-3, expires=10)
        classify(more, "transparency", "deployer")

    with django_assert_num_queries(len(small.captured_queries)):
        assert office.get("/api/compliance/").status_code == 200
