"""An edit through the API answers with what a read then shows, in a fixed, small number of queries."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import FrictionPoint, KPIObservation, Practice, PracticeStatus
from registry.services.determinations import classify_eu, record_practice
from tests.api.test_api_queries import token_client
from tests.factories import DecisionFactory, KPIFactory, PersonFactory, ProductionReadyUseCaseFactory, UseCaseFactory

pytestmark = pytest.mark.django_db

# What a server runs for an edit: the token with its login's groups, the use case with its
# friction points' codes, then its KPIs, practices, waivers, sign-offs and transitions, the row
# locked, the UPDATE, the history row, and the friction points read and written into the history
# (simple_history's, one query each whatever their number). No check constraint is judged in a
# query of its own when the edit leaves every field it reads as stored.
EDIT_QUERIES = 12


def _server_queries(captured) -> list[str]:
    """The statements a server would run: in a test, the service's transaction is a savepoint
    inside the test's own."""
    return [query["sql"] for query in captured if "SAVEPOINT" not in query["sql"]]


@pytest.fixture
def client(program_office_user):
    return token_client(program_office_user)


@pytest.fixture
def rich_use_case(program_office_user):
    """A use case with several KPIs observed, a practice recorded, an EU AI Act class (whose
    obligations the answer lists) and friction points."""
    use_case = ProductionReadyUseCaseFactory()
    for kpi in [*use_case.kpis.all(), *KPIFactory.create_batch(3, use_case=use_case, value_per_unit=Decimal(10))]:
        KPIObservation.objects.create(kpi=kpi, observed_on=datetime.date(2026, 1, 1), value=Decimal("0.2"),
                                      recorded_by=program_office_user)
    record_practice(use_case=use_case, practice=Practice.TESTING_CONDUCTED, status=PracticeStatus.IN_PROGRESS,
                    actor=program_office_user)
    classify_eu(use_case=use_case, role="deployer", risk_class="high_risk_annex_iii", annex_iii_area="essential_services",
                rationale="As the legal team read it.", actor=program_office_user)
    use_case.friction_points.set(FrictionPoint.objects.order_by("code")[:2])
    return use_case


def _edits(use_case):
    other_decision = DecisionFactory(business_unit=use_case.business_unit)
    return [
        {"summary": "Flags invoices whose early-payment discount is about to lapse."},
        {"friction_points": [FrictionPoint.objects.order_by("-code").first().code]},
        {"friction_points": []},
        {"business_owner": PersonFactory().pk, "decision": other_decision.pk, "expected_annual_value": "1200.5"},
    ]


@pytest.mark.parametrize("edit_number", range(4))
def test_an_edit_answers_with_what_a_read_then_shows(client, rich_use_case, edit_number):
    etag = client.get(f"/api/use-cases/{rich_use_case.pk}/")["ETag"]
    edit = _edits(rich_use_case)[edit_number]

    edited = client.patch(f"/api/use-cases/{rich_use_case.pk}/", edit, format="json", HTTP_IF_MATCH=etag)

    assert edited.status_code == 200, edited.json()
    read = client.get(f"/api/use-cases/{rich_use_case.pk}/")
    assert edited.json() == read.json()
    assert edited["ETag"] == read["ETag"] != etag
    assert read.json()["kpis"] and read.json()["practices"] and read.json()["eu_classification"]["obligations"]


def test_an_edit_with_if_match_any_answers_with_what_a_read_then_shows(client, rich_use_case):
    edited = client.patch(f"/api/use-cases/{rich_use_case.pk}/", {"title": "Discount capture"}, format="json",
                          HTTP_IF_MATCH="*")

    assert edited.status_code == 200
    assert edited.json() == client.get(f"/api/use-cases/{rich_use_case.pk}/").json()


def test_an_edit_takes_the_same_few_queries_however_much_the_use_case_holds(client, rich_use_case):
    bare = UseCaseFactory()
    bare.friction_points.set(FrictionPoint.objects.order_by("code")[:1])

    def edit(use_case):
        etag = client.get(f"/api/use-cases/{use_case.pk}/")["ETag"]
        with CaptureQueriesContext(connection) as captured:
            response = client.patch(f"/api/use-cases/{use_case.pk}/", {"monitoring_plan": "Weekly drift report."},
                                    format="json", HTTP_IF_MATCH=etag)
        assert response.status_code == 200
        return _server_queries(captured.captured_queries)

    on_bare, on_rich = edit(bare), edit(rich_use_case)

    assert len(on_bare) == len(on_rich) <= EDIT_QUERIES, "\n".join(on_rich)


def test_an_edit_taking_another_use_cases_external_id_is_a_400_on_the_field_and_writes_nothing(client, rich_use_case):
    other = UseCaseFactory()
    etag = client.get(f"/api/use-cases/{rich_use_case.pk}/")["ETag"]

    response = client.patch(f"/api/use-cases/{rich_use_case.pk}/", {"external_id": other.external_id, "title": "Twin"},
                            format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 400 and list(response.json()) == ["external_id"]
    assert client.get(f"/api/use-cases/{rich_use_case.pk}/")["ETag"] == etag
