"""The use case list: search, filters, sort, pages, what each role sees and the exports."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from registry.models import HighImpact, OMBDetermination
from tests.factories import BusinessUnitFactory, DecisionFactory, FindingFactory, PersonFactory, UseCaseFactory
from tests.web_setup import no_role_user, owner_person  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

URL = reverse("web:use_cases")


@pytest.fixture
def office(client, program_office_user):
    client.force_login(program_office_user)
    return client


def titles(response) -> list[str]:
    return [row["title"] for row in response.context["page"]]


@pytest.fixture
def portfolio():
    """Three use cases in two units, told apart by each field the search reads."""
    claims, fleet = BusinessUnitFactory(name="Claims"), BusinessUnitFactory(name="Fleet")
    ada = PersonFactory(name="Ada Lovelace", email="ada@example.com", business_unit=claims)
    triage = UseCaseFactory(title="Claim triage", summary="Routes incoming claims to adjusters by urgency.",
                            capability="text classification", decision__business_unit=claims,
                            decision__statement="Which adjuster takes this claim?", business_owner=ada)
    routes = UseCaseFactory(title="Route planner", summary="Plans delivery routes.", capability="optimisation",
                            decision__business_unit=fleet, decision__statement="Which van takes which quayside drop?")
    fraud = UseCaseFactory(title="Fraud signals", summary="Flags suspicious invoices.", capability="anomaly detection",
                           decision__business_unit=claims, decision__statement="Is this invoice paid?")
    return {"triage": triage, "routes": routes, "fraud": fraud, "claims": claims, "ada": ada}


@pytest.mark.parametrize("query, expected", [
    ("adjusters", ["Claim triage"]),              # summary
    ("quayside", ["Route planner"]),              # decision statement (a word no generated name holds: "stop" is in Christopher)
    ("anomaly", ["Fraud signals"]),               # capability
    ("fleet", ["Route planner"]),                 # unit name
    ("lovelace", ["Claim triage"]),               # owner's name
    ("ada@example", ["Claim triage"]),            # owner's email
    ("claim triage", ["Claim triage"]),           # every word must match
    ("nothing-like-this", []),
])
def test_search_reads_text_decision_capability_unit_and_owners(office, portfolio, query, expected):
    response = office.get(URL, {"q": query})
    assert response.status_code == 200
    assert titles(response) == expected


def test_filters_combine_and_each_row_links_to_its_page(office, portfolio):
    FindingFactory(kind="stalled_pilot", use_cases=[portfolio["fraud"]])
    FindingFactory(kind="stalled_pilot", status="resolved", use_cases=[portfolio["triage"]])
    OMBDetermination.objects.create(use_case=portfolio["triage"], is_high_impact=HighImpact.HIGH_IMPACT)

    assert titles(office.get(URL, {"unit": portfolio["claims"].pk})) == ["Claim triage", "Fraud signals"]
    assert titles(office.get(URL, {"owner": "ada@example.com"})) == ["Claim triage"]
    assert titles(office.get(URL, {"high_impact": "yes"})) == ["Claim triage"]
    assert titles(office.get(URL, {"high_impact": "no", "unit": portfolio["claims"].pk})) == ["Fraud signals"]
    assert titles(office.get(URL, {"open_finding_kind": "stalled_pilot"})) == ["Fraud signals"]
    assert titles(office.get(URL, {"stage": ["proposed", "pilot"], "q": "planner"})) == ["Route planner"]
    assert titles(office.get(URL, {"stage": "production"})) == []

    page = office.get(URL, {"q": "fraud"}).content.decode()
    assert reverse("web:use_case", args=[portfolio["fraud"].pk]) in page


def test_sorts(office, portfolio):
    FindingFactory(use_cases=[portfolio["routes"]])
    FindingFactory(use_cases=[portfolio["routes"]])
    FindingFactory(use_cases=[portfolio["fraud"]])
    assert titles(office.get(URL)) == ["Claim triage", "Fraud signals", "Route planner"]
    assert titles(office.get(URL, {"sort": "-title"})) == ["Route planner", "Fraud signals", "Claim triage"]
    assert titles(office.get(URL, {"sort": "unit"}))[-1] == "Route planner"
    assert titles(office.get(URL, {"sort": "-findings"})) == ["Route planner", "Fraud signals", "Claim triage"]
    response = office.get(URL, {"sort": "-findings"})
    assert [row["open_findings"] for row in response.context["page"]] == [2, 1, 0]


@pytest.mark.parametrize("params, named", [
    ({"unit": "abc"}, "Business unit"),
    ({"unit": str(2**70)}, "Business unit"),
    ({"stage": "limbo"}, "Stage"),
    ({"owner": "not-an-email"}, "Owner (email)"),
    ({"owner": "nobody@example.com"}, "Owner (email)"),
    ({"high_impact": "maybe"}, "High-impact"),
    ({"open_finding_kind": "<script>"}, "Open finding"),
    ({"sort": "password"}, "Sort"),
    ({"q": "x" * 201}, "Search"),
    ({"q": "claim\x00"}, "Search"),
])
def test_garbage_parameters_are_named_and_left_out(office, portfolio, params, named):
    response = office.get(URL, params)
    assert response.status_code == 200
    message = " ".join(str(m) for m in response.context["messages"])
    assert f"Left out of the filter: {named}:" in message
    assert len(titles(response)) == 3  # the bad parameter filters nothing


def test_garbage_page_numbers_show_a_page(office, portfolio):
    for page in ("abc", "-1", "999999", str(2**70), ""):
        assert office.get(URL, {"page": page}).status_code == 200


def test_every_role_reads_the_list_and_a_login_without_one_is_refused(client, portfolio, business_owner_user,
                                                                       auditor_user, no_role_user):
    for user in (business_owner_user, auditor_user):
        client.force_login(user)
        assert len(titles(client.get(URL))) == 3
        assert client.get(reverse("web:use_case_export_csv")).status_code == 200
    client.force_login(no_role_user)
    assert client.get(URL).status_code == 403
    assert client.get(reverse("web:use_case_export_csv")).status_code == 403
    client.logout()
    assert client.get(URL).status_code == 302


def test_nav_links_the_list(office):
    assert f'href="{URL}"' in office.get(reverse("web:home")).content.decode()


def _grow(n):
    unit = BusinessUnitFactory()
    for _ in range(n):
        use_case = UseCaseFactory(decision=DecisionFactory(business_unit=unit), title="Grown")
        FindingFactory(use_cases=[use_case])


@pytest.mark.parametrize("params", [
    {"sort": "-findings", "q": "grown"},
    {"q": "grown"},  # sorted by title: counted apart
    {"sort": "stage", "q": "grown"},
    {"stage": "proposed", "sort": "-updated", "high_impact": "no"},
    {"open_finding_kind": "stalled_pilot", "sort": "unit"},
])
def test_queries_do_not_grow_with_the_page(office, django_assert_max_num_queries, params):
    _grow(3)
    with django_assert_max_num_queries(12) as small:
        assert office.get(URL, params).status_code == 200
    _grow(60)
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        response = office.get(URL, params)
    assert len(response.context["page"]) == 50
    assert len(large.captured_queries) == len(small.captured_queries)


def test_exports_hold_every_row_of_the_filter_with_formulas_as_text(office, portfolio):
    UseCaseFactory(title="=HYPERLINK(\"http://evil\")", decision__business_unit=portfolio["claims"])
    response = office.get(reverse("web:use_case_export_csv"), {"unit": portfolio["claims"].pk, "sort": "title"})
    assert response.status_code == 200 and response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["title"] for r in rows] == ["'=HYPERLINK(\"http://evil\")", "Claim triage", "Fraud signals"]
    assert rows[1]["business_owner"] == "ada@example.com" and rows[1]["business_unit"] == "Claims"

    response = office.get(reverse("web:use_case_export_xlsx"), {"q": "triage"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    assert values[0][:2] == ("external_id", "title")
    assert [v[1] for v in values[1:]] == ["Claim triage"]


def test_a_search_counts_every_match_and_a_page_past_the_end_shows_the_last(office):
    _grow(60)
    response = office.get(URL, {"q": "grown", "page": 2})
    assert response.context["page"].paginator.count == 60
    assert response.context["page"].number == 2 and len(titles(response)) == 10
    assert "60 use cases" in response.content.decode()
    response = office.get(URL, {"q": "grown", "open_finding_kind": "stalled_pilot", "sort": "-findings", "page": 9})
    assert response.context["page"].paginator.count == 60
    assert response.context["page"].number == 2 and len(titles(response)) == 10
    assert titles(office.get(URL, {"q": "nothing-like-this", "page": 3})) == []
    for page in ("-1", str(2**70), "abc"):
        assert office.get(URL, {"q": "grown", "page": page}).status_code == 200
