"""Every list answers a page of 1 and a page of 100 in the same number of queries, and a
use case's detail does not grow with its KPIs."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from portfolio.models import Finding, ScanRun
from registry.models import KPI, BusinessUnit, Decision, Investment, KPIObservation, Person, StageTransition, UseCase
from tests.factories import KPIFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db
ROWS = 101


@pytest.fixture
def portfolio(program_office_user):
    """Over a hundred rows of everything, each with the relations its list shows."""
    units = BusinessUnit.objects.bulk_create(BusinessUnit(name=f"Unit {n:03d}") for n in range(ROWS))
    people = Person.objects.bulk_create(
        Person(email=f"p{n:03d}@example.com", name=f"P {n}", business_unit=units[n]) for n in range(ROWS)
    )
    decisions = Decision.objects.bulk_create(
        Decision(statement=f"Which claims are fast-tracked? {n}", business_unit=units[n], owner=people[n])
        for n in range(ROWS)
    )
    use_cases = UseCase.objects.bulk_create(
        UseCase(decision=decisions[n], business_unit=units[n], title=f"Claims triage {n}", capability="triage",
                business_owner=people[n], technical_owner=people[(n + 1) % ROWS], external_id=f"Q-{n:03d}")
        for n in range(ROWS)
    )
    user = program_office_user
    kpi = KPI.objects.create(use_case=use_cases[0], name="Handling time")
    KPIObservation.objects.bulk_create(
        KPIObservation(kpi=kpi, observed_on=datetime.date(2026, 1, 1) + datetime.timedelta(days=n), value=n,
                       recorded_by=user) for n in range(ROWS)
    )
    StageTransition.objects.bulk_create(
        StageTransition(use_case=use_cases[n], to_stage="proposed", source="api", actor=user) for n in range(ROWS)
    )
    Investment.objects.bulk_create(
        Investment(use_case=use_cases[n], layer="data", period_start=datetime.date(2026, 1, 1),
                   period_end=datetime.date(2026, 3, 31), planned=n, spent=n, recorded_by=user) for n in range(ROWS)
    )
    findings = Finding.objects.bulk_create(
        Finding(kind="duplicate_capability", fingerprint=f"f{n}", substance="s", severity="low", title=f"F {n}",
                first_seen=datetime.date(2026, 1, 1), last_seen=datetime.date(2026, 1, 1), assignee=people[n])
        for n in range(ROWS)
    )
    Finding.use_cases.through.objects.bulk_create(
        Finding.use_cases.through(finding=finding, usecase=use_cases[(n + k) % ROWS])
        for n, finding in enumerate(findings) for k in range(2)
    )
    Finding.decisions.through.objects.bulk_create(
        Finding.decisions.through(finding=finding, decision=decisions[n]) for n, finding in enumerate(findings)
    )
    ScanRun.objects.bulk_create(ScanRun(as_of=datetime.date(2026, 1, 1), kinds=["stalled_pilot"], triggered_by=user)
                                for _ in range(ROWS))
    for n in range(ROWS):  # history records, written the way every save writes them
        use_cases[0].summary = decisions[0].execution_point = f"rev {n}"
        use_cases[0].save()
        decisions[0].save()
    return {"use_case": use_cases[0], "decision": decisions[0], "unit": units[0], "person": people[0]}


LISTS = [
    "/api/business-units/",
    "/api/people/",
    "/api/people/?search=example&active=true",
    "/api/decisions/",
    "/api/decisions/?search=claims&ordering=-updated_at",
    "/api/use-cases/",
    "/api/use-cases/?search=triage&stage=proposed&capability=tri&open_finding_kind=duplicate_capability",
    "/api/use-cases/?ordering=title&stage_entered_after=2000-01-01",
    "/api/kpi-observations/",
    "/api/stage-transitions/",
    "/api/investments/",
    "/api/investments/?layer=data&period_from=2026-01-01",
    "/api/findings/",
    "/api/findings/?status=open&kind=duplicate_capability",
    "/api/scan-runs/",
    "/api/use-cases/{use_case}/history/",
    "/api/decisions/{decision}/history/",
]


def token_client(user):
    """A client authenticating each request afresh, as a system does (force_authenticate would
    reuse one user object, and its cached groups, across requests)."""
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.mark.slow
@pytest.mark.parametrize("path", LISTS)
def test_list_queries_do_not_grow_with_the_page(portfolio, program_office_user, path, django_assert_num_queries):
    client = token_client(program_office_user)
    url = path.format(use_case=portfolio["use_case"].pk, decision=portfolio["decision"].pk)
    joiner = "&" if "?" in url else "?"
    with CaptureQueriesContext(connection) as one:
        small = client.get(f"{url}{joiner}page_size=1")
    assert small.status_code == 200 and len(small.json()["results"]) == 1
    with django_assert_num_queries(len(one.captured_queries)):
        large = client.get(f"{url}{joiner}page_size=100")
    assert len(large.json()["results"]) == 100, url


def test_use_case_detail_queries_do_not_grow_with_its_kpis(program_office_user, django_assert_num_queries):
    client = token_client(program_office_user)
    few, many = UseCaseFactory(), UseCaseFactory()
    KPIFactory(use_case=few, baseline=Decimal(1), target=Decimal(2))
    KPIFactory.create_batch(20, use_case=many)
    with CaptureQueriesContext(connection) as measured:
        assert client.get(f"/api/use-cases/{few.pk}/").status_code == 200
    with django_assert_num_queries(len(measured.captured_queries)):
        assert len(client.get(f"/api/use-cases/{many.pk}/").json()["kpis"]) == 20


def test_a_classified_use_case_reads_its_eu_obligations_with_its_row(django_assert_num_queries):
    """The obligations of an EU AI Act class come with the use case: its detail takes the
    queries of one never classified, and lists what binds it."""
    from registry.services.determinations import classify_eu

    officer = UserFactory(username="caio", groups=["program_office", "chief_ai_officer"])
    client = token_client(officer)
    unclassified, classified = UseCaseFactory(), UseCaseFactory()
    classify_eu(use_case=classified, role="deployer", risk_class="high_risk_annex_iii",
                annex_iii_area="essential_services", rationale="As the legal team read it.", actor=officer)
    with CaptureQueriesContext(connection) as measured:
        assert client.get(f"/api/use-cases/{unclassified.pk}/").json()["eu_classification"] is None
    with django_assert_num_queries(len(measured.captured_queries)):
        obligations = client.get(f"/api/use-cases/{classified.pk}/").json()["eu_classification"]["obligations"]
    assert "fundamental_rights_impact_assessment" in [obligation["code"] for obligation in obligations]


def test_use_case_detail_queries_do_not_grow_with_its_waivers_and_determinations(django_assert_num_queries):
    """Who determined, classified and granted each waiver comes with the use case, however many."""
    from registry.services.determinations import classify_eu, determine_high_impact, grant_waiver

    officer = UserFactory(username="caio", groups=["program_office", "chief_ai_officer"])
    client = token_client(officer)
    few, many = UseCaseFactory(), UseCaseFactory()
    for use_case, practices in ((few, ["appeal_process"]), (many, ["appeal_process", "failsafe_presence",
                                                                   "ongoing_monitoring"])):
        determine_high_impact(use_case=use_case, is_high_impact="high_impact", actor=officer)
        classify_eu(use_case=use_case, role="deployer", risk_class="high_risk_annex_iii",
                    annex_iii_area="essential_services", rationale="As the legal team read it.", actor=officer)
        for practice in practices:
            grant_waiver(use_case=use_case, practice=practice, justification="Vendor contract renegotiation.",
                         granted_on=datetime.date(2026, 1, 1), expires_on=datetime.date(2030, 1, 1), actor=officer)
    with CaptureQueriesContext(connection) as measured:
        assert client.get(f"/api/use-cases/{few.pk}/").json()["waivers"][0]["granted_by"] == "caio"
    with django_assert_num_queries(len(measured.captured_queries)):
        body = client.get(f"/api/use-cases/{many.pk}/").json()
    assert [waiver["granted_by"] for waiver in body["waivers"]] == ["caio"] * 3
    assert body["omb_determination"]["determined_by"] == body["eu_classification"]["classified_by"] == "caio"


def test_token_caller_queries_are_constant_too(portfolio, django_assert_num_queries):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=UserFactory(username="catalogue", groups=["auditor"]))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    with CaptureQueriesContext(connection) as one:
        client.get("/api/use-cases/?page_size=1")
    # the token with its user and groups; the page with its units' names and owners' emails
    # (a cursor counts nothing)
    assert len(one.captured_queries) == 2
    with django_assert_num_queries(len(one.captured_queries)):
        client.get("/api/use-cases/?page_size=100")


def test_people_bulk_upsert_queries_do_not_grow_with_the_rows(program_office_user, django_assert_num_queries):
    """The directory sync writes set-based: 100 rows (half new, half changed, some new units)
    take the queries 10 rows take."""
    client = token_client(program_office_user)

    def rows(size):
        Person.objects.bulk_create(Person(email=f"s{size}-{n}@example.com", name="Old") for n in range(size // 2))
        return [{"email": f"s{size}-{n}@example.com", "name": f"P {n}", "business_unit": f"Unit {size}-{n % 3}",
                 "active": n % 4 != 0} for n in range(size)]

    ten, hundred = rows(10), rows(100)
    with CaptureQueriesContext(connection) as measured:
        response = client.post("/api/people/bulk-upsert/", {"people": ten}, format="json")
    assert response.json() == {"created": 5, "updated": 5, "unchanged": 0}
    with django_assert_num_queries(len(measured.captured_queries)):
        response = client.post("/api/people/bulk-upsert/", {"people": hundred}, format="json")
    assert response.json() == {"created": 50, "updated": 50, "unchanged": 0}
    ada = Person.objects.get(email="s100-99@example.com")
    assert (ada.name, ada.business_unit.name, ada.active) == ("P 99", "Unit 100-0", True)
    assert ada.history.get().history_user == program_office_user
