"""The OpenAPI schema says what the server does, and the server does what the schema says:
the blank `from_stage` it answers, the If-Match it requires, the properties it refuses, the
id ranges, the lists that must not be empty, JSON types as stated, and query parameters that
are refused rather than silently read otherwise (`page_size=null`)."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from registry.models import StageTransition, TransitionSource
from tests.factories import BusinessUnitFactory, DecisionFactory, FindingFactory, PersonFactory, UseCaseFactory

pytestmark = pytest.mark.django_db

MAX_ID = 2**63 - 1


@pytest.fixture(scope="module")
def schema():
    return json.loads(Client().get("/api/schema/?format=json").content)


def component(schema, name):
    return schema["components"]["schemas"][name]


def operation(schema, method, path):
    return schema["paths"][path][method]


def parameter(schema, method, path, name):
    return next(p for p in operation(schema, method, path)["parameters"] if p["name"] == name)


@pytest.fixture
def office(program_office_user):
    client = APIClient()
    client.force_authenticate(program_office_user)
    return client


# What the schema says ----------------------------------------------------------------------------


def test_a_transitions_blank_from_stage_is_in_the_schema(schema, office):
    StageTransition.objects.create(use_case=UseCaseFactory(), from_stage="", to_stage="proposed",
                                   source=TransitionSource.API)
    answered = office.get("/api/stage-transitions/").json()["results"][0]["from_stage"]

    from_stage = component(schema, "StageTransition")["properties"]["from_stage"]
    allowed = {value for option in from_stage["oneOf"]
               for value in component(schema, option["$ref"].rsplit("/", 1)[1])["enum"]}
    assert answered == "" and "" in allowed


@pytest.mark.parametrize("path", ["/api/use-cases/{id}/", "/api/decisions/{id}/"])
@pytest.mark.parametrize("method", ["put", "patch"])
def test_if_match_is_required_where_the_server_answers_428_without_it(schema, method, path):
    assert parameter(schema, method, path, "If-Match")["required"] is True
    assert "428" in operation(schema, method, path)["responses"]


@pytest.mark.parametrize("name", [
    "BusinessUnitRequest", "PersonRequest", "PersonUpdateRequest", "PatchedPersonUpdateRequest", "DecisionRequest",
    "PatchedDecisionRequest", "UseCaseRequest", "PatchedUseCaseRequest", "MoveRequest", "StateDecisionRequest",
    "KPIObservationRequest", "PeopleUpsertRequest", "PersonUpsertRowRequest", "FindingReasonRequest",
    "FindingDismissRequest", "FindingAssignRequest", "StartScanRequest",
])
def test_every_request_body_refuses_properties_it_does_not_name(schema, name):
    assert component(schema, name)["additionalProperties"] is False


def test_ids_start_at_1_in_paths_filters_and_bodies(schema):
    assert parameter(schema, "get", "/api/use-cases/{id}/", "id")["schema"]["minimum"] == 1
    assert parameter(schema, "get", "/api/use-cases/", "decision")["schema"] == {
        "type": "integer", "minimum": 1, "maximum": MAX_ID}
    assert parameter(schema, "get", "/api/stage-transitions/", "use_case")["schema"]["minimum"] == 1
    for name, field in (("UseCaseRequest", "decision"), ("KPIObservationRequest", "kpi"),
                        ("FindingAssignRequest", "assignee"), ("DecisionRequest", "owner")):
        assert component(schema, name)["properties"][field]["minimum"] == 1, (name, field)


def test_lists_that_must_not_be_empty_say_so(schema):
    assert component(schema, "PeopleUpsertRequest")["properties"]["people"]["minItems"] == 1
    assert component(schema, "StartScanRequest")["properties"]["kinds"]["minItems"] == 1


def test_page_size_and_page_are_whole_numbers_from_1(schema):
    assert parameter(schema, "get", "/api/use-cases/", "page_size")["schema"]["minimum"] == 1
    assert parameter(schema, "get", "/api/business-units/", "page")["schema"]["minimum"] == 1


def test_date_time_filters_state_the_offsets_the_server_takes(schema):
    occurred = parameter(schema, "get", "/api/stage-transitions/", "occurred_after")["schema"]
    assert occurred["format"] == "date-time" and "1[0-5]" in occurred["pattern"]


def test_decimals_are_strings_of_digits_and_non_negative_ones_take_no_minus(schema):
    decision = component(schema, "DecisionRequest")["properties"]
    assert decision["cost_of_error"]["pattern"] == "^[0-9]{1,14}(\\.[0-9]{1,2})?$"
    assert component(schema, "KPIObservationRequest")["properties"]["value"]["pattern"].startswith("^-?")


def test_every_operation_documents_a_json_500(schema):
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            assert "500" in op["responses"], (method, path)


# What the server does ----------------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    "page_size=null", "page_size=0", "page_size=-1", "page_size=ten", "page_size=5.0", "page_size=5&page_size=6",
    "page=0", "page=", "page=last", "decision=", "decision=0", "decision=1.0", "decision=1&decision=2",
    "stage_entered_after=2026-1-1", "stage_entered_after=01/02/2026", "search=a&search=b", "ordering=id&ordering=title",
])
def test_a_query_parameter_the_schema_does_not_allow_is_a_400_naming_it(office, query):
    path = "/api/business-units/" if query.startswith("page=") else "/api/use-cases/"
    response = office.get(f"{path}?{query}")

    assert response.status_code == 400, response.content
    assert list(response.json()) == [query.split("=")[0]]


@pytest.mark.parametrize("query", ["active=yes", "active=1", "active=", "active=True"])
def test_a_boolean_filter_takes_true_or_false_only(office, query):
    response = office.get(f"/api/people/?{query}")

    assert response.status_code == 400 and list(response.json()) == ["active"]


def test_page_size_over_100_still_gives_pages_of_100(office):
    assert office.get("/api/use-cases/?page_size=500").status_code == 200


@pytest.mark.parametrize("path, body, field", [
    ("/api/business-units/", {"name": 0}, "name"),
    ("/api/business-units/", {"name": " \u3000 "}, "name"),
    ("/api/business-units/", {"name": "Finance", "id": 7}, "id"),
    ("/api/people/", {"email": "ada@example.com", "active": 0}, "active"),
    ("/api/people/", {"email": "ada@example.com", "active": "true"}, "active"),
    ("/api/people/", {"email": "ada@example.com", "business_unit": "1"}, "business_unit"),
    ("/api/people/", {"email": 7}, "email"),
    ("/api/kpi-observations/", {"kpi": True, "observed_on": "2026-01-01", "value": "1"}, "kpi"),
    ("/api/kpi-observations/", {"kpi": 1, "observed_on": "2026-1-1", "value": "1"}, "observed_on"),
    ("/api/kpi-observations/", {"kpi": 1, "observed_on": "20260101", "value": "1"}, "observed_on"),
    ("/api/kpi-observations/", {"kpi": 1, "observed_on": "2026-01-01", "value": 0.31}, "value"),
    ("/api/kpi-observations/", {"kpi": 1, "observed_on": "2026-01-01", "value": "1e3"}, "value"),
    ("/api/kpi-observations/", {"kpi": 1, "observed_on": "2026-01-01", "value": "1."}, "value"),
    ("/api/kpi-observations/", {"kpi": 1, "observed_on": "2026-01-01", "value": ""}, "value"),
    ("/api/people/bulk-upsert/", {"people": []}, "people"),
    ("/api/scan-runs/", {"kinds": []}, "kinds"),
])
def test_a_body_the_schema_does_not_allow_is_a_400_naming_the_field(office, path, body, field):
    response = office.post(path, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_decision_takes_its_counts_as_integers_and_costs_as_strings(office):
    unit = BusinessUnitFactory()
    body = {"statement": "Which invoices are paid early?", "business_unit": unit.pk}

    assert office.post("/api/decisions/", {**body, "decisions_per_period": "5"}, format="json").status_code == 400
    assert office.post("/api/decisions/", {**body, "decisions_per_period": 5.0}, format="json").status_code == 400
    assert office.post("/api/decisions/", {**body, "cost_of_error": 120}, format="json").status_code == 400
    assert office.post("/api/decisions/", {**body, "cost_of_error": ""}, format="json").status_code == 400  # null is none
    assert office.post("/api/decisions/", {**body, "cost_of_error": " "}, format="json").status_code == 400
    created = office.post("/api/decisions/", {**body, "decisions_per_period": 5, "cost_of_error": "120.50"},
                          format="json")
    assert created.status_code == 201, created.content


def test_a_person_edit_refuses_the_email_the_schema_leaves_out(office):
    person = PersonFactory()

    response = office.patch(f"/api/people/{person.pk}/", {"email": "new@example.com"}, format="json")

    assert response.status_code == 400 and list(response.json()) == ["email"]


def test_a_malformed_body_is_a_400_even_with_a_stale_if_match(office):
    person, decision, finding = PersonFactory(), DecisionFactory(), FindingFactory()

    edit = office.patch(f"/api/people/{person.pk}/", {"active": {}}, format="json", HTTP_IF_MATCH='"stale"')
    versioned = office.patch(f"/api/decisions/{decision.pk}/", {"frequency": 7}, format="json",
                             HTTP_IF_MATCH='"decision-1-v99"')
    dismissed = office.post(f"/api/findings/{finding.pk}/dismiss/", {}, format="json", HTTP_IF_MATCH='"stale"')

    assert (edit.status_code, versioned.status_code, dismissed.status_code) == (400, 400, 400)


@pytest.mark.parametrize("code", ["a\x00b", "x" * 41, 7])
@pytest.mark.parametrize("as_list", [True, False])
def test_a_friction_point_code_that_cannot_be_one_is_a_400_not_a_database_error(office, code, as_list):
    use_case = UseCaseFactory()
    points = [code] if as_list else {code if isinstance(code, str) else str(code): "x"}  # an object is no list

    response = office.patch(f"/api/use-cases/{use_case.pk}/", {"friction_points": points}, format="json",
                            HTTP_IF_MATCH=f'"usecase-{use_case.pk}-v1"')

    assert response.status_code == 400 and list(response.json()) == ["friction_points"]
