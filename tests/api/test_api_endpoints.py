"""The API's behaviour a caller notices: ETags and 412, gate refusals as 409, the broker down
as 503, bad input as 400 per field, directory sync, findings, tokens, throttling."""

import datetime
import io
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portfolio.models import FindingStatus, ScanRun
from registry.models import KPIObservation, Person, Readiness, Stage, StageTransition, TransitionSource, UseCase
from registry.models import SIGN_OFF_STAGES
from tests.factories import signed_off
from tests.factories import (
    BusinessUnitFactory,
    DecisionFactory,
    FindingFactory,
    KPIFactory,
    PersonFactory,
    ProductionReadyUseCaseFactory,
    UseCaseFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    # Every anonymous request of the suite comes from one address: count each test's alone.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def office(program_office_user):
    client = APIClient()
    client.force_authenticate(program_office_user)
    return client


@pytest.fixture
def use_case(db):
    return UseCaseFactory(data_readiness=Readiness.PARTIAL)


# ETag, If-Match, 412, 428 ------------------------------------------------------------------------


def test_detail_carries_an_etag_naming_the_version(office, use_case):
    response = office.get(f"/api/use-cases/{use_case.pk}/")
    assert response.status_code == 200
    assert response["ETag"] == f'"usecase-{use_case.pk}-v1"'
    assert response.json()["version"] == 1


def test_reading_again_with_the_current_etag_is_304_until_it_changes(office, use_case):
    etag = office.get(f"/api/use-cases/{use_case.pk}/")["ETag"]
    again = office.get(f"/api/use-cases/{use_case.pk}/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and not again.content
    office.patch(f"/api/use-cases/{use_case.pk}/", {"capability": "x"}, HTTP_IF_MATCH=etag)
    assert office.get(f"/api/use-cases/{use_case.pk}/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_write_with_the_current_etag_succeeds_and_returns_the_next_one(office, use_case):
    etag = office.get(f"/api/use-cases/{use_case.pk}/")["ETag"]
    response = office.patch(f"/api/use-cases/{use_case.pk}/", {"capability": "ranking"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.json()
    assert response["ETag"] == f'"usecase-{use_case.pk}-v2"'
    use_case.refresh_from_db()
    assert (use_case.capability, use_case.version) == ("ranking", 2)


def test_write_with_a_stale_etag_is_refused_with_412_and_changes_nothing(office, use_case):
    # given: someone edits after we read
    etag = office.get(f"/api/use-cases/{use_case.pk}/")["ETag"]
    office.patch(f"/api/use-cases/{use_case.pk}/", {"capability": "theirs"}, HTTP_IF_MATCH=etag)
    # when
    response = office.patch(f"/api/use-cases/{use_case.pk}/", {"capability": "mine"}, HTTP_IF_MATCH=etag)
    # then
    assert response.status_code == 412
    use_case.refresh_from_db()
    assert (use_case.capability, use_case.version) == ("theirs", 2)


def test_an_edit_with_only_a_version_in_the_body_is_refused_with_428(office, use_case):
    # The schema requires If-Match on PUT and PATCH of use cases and decisions; so does the server.
    response = office.patch(f"/api/use-cases/{use_case.pk}/", {"capability": "mine", "version": 1})
    assert response.status_code == 428
    assert UseCase.objects.get(pk=use_case.pk).version == 1


def test_a_version_in_the_body_that_disagrees_with_if_match_is_refused_with_412(office, use_case):
    office.patch(f"/api/use-cases/{use_case.pk}/", {"capability": "theirs"}, HTTP_IF_MATCH=f'"usecase-{use_case.pk}-v1"')
    response = office.patch(f"/api/use-cases/{use_case.pk}/", {"capability": "mine", "version": 1},
                            HTTP_IF_MATCH=f'"usecase-{use_case.pk}-v2"')
    assert response.status_code == 412
    assert UseCase.objects.get(pk=use_case.pk).capability == "theirs"


def test_write_whose_check_passes_but_loses_the_race_is_refused_by_the_locked_compare(office, use_case):
    # The view's check sees version 1; another writer commits before the service locks the row.
    from registry.services import use_cases

    real_edit = use_cases.edit_use_case

    def edit_after_someone_else(**kwargs):
        UseCase.objects.filter(pk=use_case.pk).update(version=2)
        return real_edit(**kwargs)

    with mock.patch("api.views.use_cases.edit_use_case", side_effect=edit_after_someone_else):
        response = office.patch(f"/api/use-cases/{use_case.pk}/", {"capability": "mine"},
                                HTTP_IF_MATCH=f'"usecase-{use_case.pk}-v1"')
    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    assert UseCase.objects.get(pk=use_case.pk).capability == use_case.capability


@pytest.mark.parametrize("path", ["/api/use-cases/{uc}/", "/api/decisions/{decision}/"])
def test_edit_without_if_match_is_refused_with_428(office, use_case, path):
    response = office.patch(path.format(uc=use_case.pk, decision=use_case.decision_id), {"capability": "x"}
                            if "use-cases" in path else {"execution_point": "x"})
    assert response.status_code == 428


@pytest.mark.parametrize("if_match", ['"nonsense"', '"usecase-999999-v1"', '"decision-{pk}-v1"'])
def test_if_match_naming_another_resource_is_refused_with_412(office, use_case, if_match):
    response = office.patch(f"/api/use-cases/{use_case.pk}/", {"capability": "x"},
                            HTTP_IF_MATCH=if_match.format(pk=use_case.pk))
    assert response.status_code == 412
    assert UseCase.objects.get(pk=use_case.pk).version == 1


def test_decision_edit_with_stale_etag_is_refused(office):
    decision = DecisionFactory()
    etag = office.get(f"/api/decisions/{decision.pk}/")["ETag"]
    assert office.patch(f"/api/decisions/{decision.pk}/", {"execution_point": "CRM"}, HTTP_IF_MATCH=etag).status_code == 200
    response = office.patch(f"/api/decisions/{decision.pk}/", {"execution_point": "ERP"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    decision.refresh_from_db()
    assert (decision.execution_point, decision.version) == ("CRM", 2)


def test_person_edit_with_stale_etag_is_refused(office):
    person = PersonFactory(name="Ann")
    etag = office.get(f"/api/people/{person.pk}/")["ETag"]
    assert office.patch(f"/api/people/{person.pk}/", {"name": "Bea"}, HTTP_IF_MATCH=etag).status_code == 200
    assert office.patch(f"/api/people/{person.pk}/", {"name": "Cy"}, HTTP_IF_MATCH=etag).status_code == 412
    assert Person.objects.get(pk=person.pk).name == "Bea"


# Moves -------------------------------------------------------------------------------------------


def test_move_through_a_met_gate_records_the_transition_as_from_the_api(office, use_case):
    response = office.post(f"/api/use-cases/{use_case.pk}/move/", {"to_stage": "validating", "reason": "ok"})
    assert response.status_code == 200, response.json()
    assert response.json()["stage"] == "validating"
    assert response.json()["next_stage"] == "pilot"
    transition = StageTransition.objects.get(use_case=use_case, to_stage=Stage.VALIDATING)
    assert transition.source == TransitionSource.API and transition.reason == "ok"


def test_refused_move_answers_409_with_every_unmet_condition(office):
    use_case = UseCaseFactory(decision=DecisionFactory(owner=None, frequency="", cost_of_error=None))
    response = office.post(f"/api/use-cases/{use_case.pk}/move/", {"to_stage": "validating"})
    assert response.status_code == 409
    body = response.json()
    assert {c["code"] for c in body["unmet"]} == {"decision_owner", "decision_frequency", "decision_cost_of_error"}
    assert all(c["message"] for c in body["unmet"])
    assert UseCase.objects.get(pk=use_case.pk).stage == Stage.PROPOSED


def test_move_not_in_the_table_is_409(office, use_case):
    response = office.post(f"/api/use-cases/{use_case.pk}/move/", {"to_stage": "production"})
    assert response.status_code == 409
    assert response.json()["unmet"][0]["code"] == "move_not_allowed"


def test_move_with_stale_if_match_is_412(office, use_case):
    etag = office.get(f"/api/use-cases/{use_case.pk}/")["ETag"]
    office.patch(f"/api/use-cases/{use_case.pk}/", {"capability": "x"}, HTTP_IF_MATCH=etag)
    response = office.post(f"/api/use-cases/{use_case.pk}/move/", {"to_stage": "validating"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert UseCase.objects.get(pk=use_case.pk).stage == Stage.PROPOSED


def test_detail_says_what_the_next_gate_still_needs_and_lists_kpis(office):
    use_case = UseCaseFactory(data_readiness=Readiness.NONE)
    KPIFactory(use_case=use_case, name="Churn", baseline=Decimal("0.1"), target=Decimal("0.05"))
    office.post(f"/api/use-cases/{use_case.pk}/move/", {"to_stage": "validating"})
    body = office.get(f"/api/use-cases/{use_case.pk}/").json()
    assert body["next_stage"] == "pilot"
    assert [c["code"] for c in body["next_stage_needs"]] == ["data_readiness", "sign_off"]
    assert [k["name"] for k in body["kpis"]] == ["Churn"]


def test_production_ready_use_case_shows_nothing_missing_for_production(office, program_office_user):
    from registry.services.lifecycle import move_use_case

    use_case = ProductionReadyUseCaseFactory()
    for stage in (Stage.VALIDATING, Stage.PILOT):
        if stage in SIGN_OFF_STAGES:
            signed_off(use_case, stage)
        move_use_case(use_case=use_case, to_stage=stage, actor=program_office_user)
    body = office.get(f"/api/use-cases/{use_case.pk}/").json()
    assert (body["next_stage"], [c["code"] for c in body["next_stage_needs"]]) == ("production", ["sign_off"])
    signed_off(use_case, Stage.PRODUCTION)
    body = office.get(f"/api/use-cases/{use_case.pk}/").json()
    assert (body["next_stage"], body["next_stage_needs"]) == ("production", [])


# Registering and editing -------------------------------------------------------------------------


def test_register_use_case_enters_proposed_with_its_first_transition(office):
    decision = DecisionFactory()
    response = office.post("/api/use-cases/", {
        "title": "Invoice triage", "decision": decision.pk, "business_unit": decision.business_unit_id,
        "external_id": "FIN-900", "expected_annual_value": "120000.00",
    })
    assert response.status_code == 201, response.json()
    assert response["Location"].endswith(f"/api/use-cases/{response.json()['id']}/")
    use_case = UseCase.objects.get(external_id="FIN-900")
    assert use_case.stage == Stage.PROPOSED
    assert use_case.transitions.get().source == TransitionSource.API


def test_duplicate_external_id_is_a_400_on_the_field(office, use_case):
    response = office.post("/api/use-cases/", {
        "title": "Twin", "decision": use_case.decision_id, "business_unit": use_case.business_unit_id,
        "external_id": use_case.external_id,
    })
    assert response.status_code == 400
    assert "external_id" in response.json()


def test_duplicate_decision_statement_in_a_unit_is_a_400(office):
    decision = DecisionFactory()
    response = office.post("/api/decisions/", {"statement": decision.statement, "business_unit": decision.business_unit_id})
    assert response.status_code == 400


def test_duplicate_business_unit_name_any_case_is_a_400(office):
    BusinessUnitFactory(name="Finance")
    response = office.post("/api/business-units/", {"name": "  FINANCE "})
    assert response.status_code == 400 and "name" in response.json()


def test_edit_never_changes_the_stage_and_says_so(office, use_case):
    response = office.patch(f"/api/use-cases/{use_case.pk}/", {"stage": "production", "version": 1})
    # A field the edit cannot write is refused like an unknown one, not silently dropped.
    assert response.status_code == 400 and list(response.json()) == ["stage"]
    assert UseCase.objects.get(pk=use_case.pk).stage == Stage.PROPOSED


def test_friction_points_are_set_by_code(office, use_case):
    from registry.models import FrictionPoint

    point = FrictionPoint.objects.order_by("code").first()
    response = office.patch(f"/api/use-cases/{use_case.pk}/", {"friction_points": [point.code]},
                            HTTP_IF_MATCH=f'"usecase-{use_case.pk}-v1"')
    assert response.status_code == 200, response.json()
    assert response.json()["friction_points"] == [point.code]


# Bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("body,field", [
    ({"title": 12345678, "decision": "x"}, "decision"),
    ({"title": "t" * 201}, "title"),
    ({"summary": "s" * 5001}, "summary"),
    ({"expected_annual_value": "-1"}, "expected_annual_value"),
    ({"expected_annual_value": "NaN"}, "expected_annual_value"),
    ({"data_readiness": "excellent"}, "data_readiness"),
    ({"decision": 10**30}, "decision"),
    ({"decision": 999999}, "decision"),
    ({"colour": "blue"}, "colour"),
    ({"friction_points": ["no_such_point"]}, "friction_points"),
    ({"version": "one"}, "version"),
])
def test_bad_use_case_input_is_a_400_naming_the_field(office, use_case, body, field):
    response = office.patch(f"/api/use-cases/{use_case.pk}/", body, HTTP_IF_MATCH=f'"usecase-{use_case.pk}-v1"')
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert UseCase.objects.get(pk=use_case.pk).version == 1


@pytest.mark.parametrize("body,field", [
    ({"cost_of_error": "-5"}, "cost_of_error"),
    ({"cost_of_delay_per_day": "1e400"}, "cost_of_delay_per_day"),
    ({"frequency": "fortnightly"}, "frequency"),
    ({"decisions_per_period": -1}, "decisions_per_period"),
    ({"decisions_per_period": 2**40}, "decisions_per_period"),
    ({"statement": ""}, "statement"),
    ({"owner": "nobody@example.com"}, "owner"),
])
def test_bad_decision_input_is_a_400_naming_the_field(office, body, field):
    decision = DecisionFactory()
    response = office.patch(f"/api/decisions/{decision.pk}/", {**body, "version": 1})
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize("body,field", [
    ({"kpi": 1, "observed_on": "2026-02-30", "value": "1"}, "observed_on"),
    ({"kpi": 1, "observed_on": "yesterday", "value": "1"}, "observed_on"),
    ({"kpi": 1, "observed_on": "2026-01-01", "value": "a lot"}, "value"),
    ({"kpi": 1, "observed_on": "2026-01-01", "value": "1" * 30}, "value"),
    ({"kpi": 0, "observed_on": "2026-01-01", "value": "1"}, "kpi"),
])
def test_bad_kpi_observation_is_a_400_naming_the_field(office, body, field):
    kpi = KPIFactory()
    body = {**body, "kpi": kpi.pk if body["kpi"] else 0}
    response = office.post("/api/kpi-observations/", body)
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize("query,param", [
    ("stage=launched", "stage"),
    ("stage_entered_before=2026-13-01", "stage_entered_before"),
    ("business_unit=abc", "business_unit"),
    ("open_finding_kind=gossip", "open_finding_kind"),
    ("capability=" + "c" * 300, "capability"),
    ("search=%00", "search"),
])
def test_bad_filter_is_a_400_naming_the_parameter(office, query, param):
    response = office.get(f"/api/use-cases/?{query}")
    assert response.status_code == 400
    assert param in response.json()


def test_body_that_is_not_an_object_is_a_400(office, use_case):
    response = office.post("/api/use-cases/", [1, 2, 3])
    assert response.status_code == 400


def test_body_that_is_not_json_is_a_400_or_415(office):
    assert office.post("/api/business-units/", "{not json", content_type="application/json").status_code == 400
    assert office.post("/api/business-units/", "name=x", content_type="application/x-www-form-urlencoded").status_code == 415


def test_unknown_id_is_a_404(office):
    assert office.get("/api/use-cases/999999/").status_code == 404
    assert office.get(f"/api/use-cases/{10**30}/").status_code == 404
    assert office.get("/api/use-cases/abc/").status_code == 404


# Lists: filters, search, ordering, pagination --------------------------------------------------


def test_use_case_filters_combine(office):
    unit = BusinessUnitFactory(name="Claims")
    owner = PersonFactory()
    wanted = UseCaseFactory(decision=DecisionFactory(business_unit=unit), business_owner=owner,
                            capability="Document data extraction")
    UseCaseFactory(decision=DecisionFactory(business_unit=unit), capability="demand forecasting")
    UseCaseFactory(capability="document data extraction")
    FindingFactory(use_cases=[wanted], kind="duplicate_capability")
    today = datetime.date.today().isoformat()
    for query in (f"business_unit={unit.pk}&capability=extraction", f"owner={owner.pk}",
                  "open_finding_kind=duplicate_capability", f"business_unit={unit.pk}&search=extraction",
                  f"business_unit={unit.pk}&stage=proposed&stage_entered_before={today}&capability=document"):
        results = office.get(f"/api/use-cases/?{query}").json()["results"]
        assert [r["id"] for r in results] == [wanted.pk], query
    assert office.get(f"/api/use-cases/?business_unit={unit.pk}&stage=pilot").json()["results"] == []
    assert office.get("/api/use-cases/?stage_entered_after=2999-01-01").json()["results"] == []


def test_search_finds_any_field_and_the_decision_statement_and_every_term_must_match(office):
    by_title = UseCaseFactory(title="Claims triage assistant", summary="Routes claims.")
    by_statement = UseCaseFactory(title="Queue ranker", summary="Ranks work.",
                                  decision=DecisionFactory(statement="Which CLAIMS are fast-tracked today?"))
    by_external_id = UseCaseFactory(external_id="CLM-0042", title="Intake reader", summary="Reads forms.")
    UseCaseFactory(title="Cash forecast", summary="Forecasts cash.", decision=DecisionFactory(statement="How much cash?"))

    def found(query):
        return {r["id"] for r in office.get(f"/api/use-cases/?search={query}").json()["results"]}

    assert found("claims") == {by_title.pk, by_statement.pk}
    assert found("clm-00") == {by_external_id.pk}
    assert found("claims fast-tracked") == {by_statement.pk}
    assert found("claims forecast") == set()


def test_dismissed_finding_no_longer_counts_as_open(office):
    use_case = UseCaseFactory()
    FindingFactory(use_cases=[use_case], kind="stalled_pilot", status="dismissed", status_reason="known")
    assert office.get("/api/use-cases/?open_finding_kind=stalled_pilot").json()["results"] == []


def test_page_size_is_capped_and_cursor_walks_the_whole_list(office):
    UseCaseFactory.create_batch(5)
    first = office.get("/api/use-cases/?page_size=2&ordering=title").json()
    assert len(first["results"]) == 2 and first["next"]
    seen = [r["id"] for r in first["results"]]
    page = first
    while page["next"]:
        page = office.get(page["next"]).json()
        seen += [r["id"] for r in page["results"]]
    assert sorted(seen) == sorted(UseCase.objects.values_list("id", flat=True))
    assert len(office.get("/api/use-cases/?page_size=100000").json()["results"]) == 5
    with mock.patch("api.pagination.LargeListPagination.max_page_size", 3):
        assert len(office.get("/api/use-cases/?page_size=100000").json()["results"]) == 3


def test_bad_cursor_is_a_404(office):
    assert office.get("/api/use-cases/?cursor=garbage").status_code == 404


# Directory sync ----------------------------------------------------------------------------------


def test_bulk_upsert_creates_updates_and_reports_counts(office):
    PersonFactory(email="ann@example.com", name="Ann", active=True)
    rows = [
        {"email": "ANN@example.com", "name": "Ann", "active": False},
        {"email": "bob@example.com", "name": "Bob", "business_unit": "Legal"},
        {"email": "cy@example.com"},
    ]
    response = office.post("/api/people/bulk-upsert/", {"people": rows})
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 2, "updated": 1, "unchanged": 0}
    assert Person.objects.get(email="ann@example.com").active is False
    assert Person.objects.get(email="bob@example.com").business_unit.name == "Legal"
    again = office.post("/api/people/bulk-upsert/", {"people": rows}).json()
    assert again == {"created": 0, "updated": 0, "unchanged": 3}


def test_bulk_upsert_with_one_bad_row_writes_nothing_and_names_the_row(office):
    rows = [{"email": "ok@example.com"}, {"email": "not-an-email"}]
    response = office.post("/api/people/bulk-upsert/", {"people": rows})
    assert response.status_code == 400
    assert response.json()["people"]["1"]["email"]  # the second row (rows count from 0)
    assert not Person.objects.filter(email="ok@example.com").exists()


def test_bulk_upsert_refuses_the_same_person_twice(office):
    rows = [{"email": "a@example.com"}, {"email": "A@example.com"}]
    assert office.post("/api/people/bulk-upsert/", {"people": rows}).status_code == 400


def test_bulk_upsert_batch_is_bounded(office):
    rows = [{"email": f"p{n}@example.com"} for n in range(1001)]
    assert office.post("/api/people/bulk-upsert/", {"people": rows}).status_code == 400


# KPI observations --------------------------------------------------------------------------------


def test_kpi_observation_is_recorded_and_the_same_day_again_corrects_it(office):
    kpi = KPIFactory()
    first = office.post("/api/kpi-observations/", {"kpi": kpi.pk, "observed_on": "2026-11-01", "value": "0.2"})
    assert first.status_code == 201, first.json()
    again = office.post("/api/kpi-observations/", {"kpi": kpi.pk, "observed_on": "2026-11-01", "value": "0.3"})
    assert again.status_code == 201
    observation = KPIObservation.objects.get(kpi=kpi)
    assert observation.value == Decimal("0.3") and observation.source == TransitionSource.API


def test_an_observation_in_the_future_is_refused_like_the_page_does(office):
    kpi = KPIFactory()
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()

    for day in (tomorrow, "2999-01-01"):
        response = office.post("/api/kpi-observations/", {"kpi": kpi.pk, "observed_on": day, "value": "0.2"})
        assert response.status_code == 400, response.json()
        assert response.json() == {"observed_on": ["An observation cannot be in the future."]}
    assert not KPIObservation.objects.exists()


# Findings ----------------------------------------------------------------------------------------


def test_dismiss_needs_a_reason(office):
    finding = FindingFactory(use_cases=[UseCaseFactory()])
    for body in ({}, {"reason": "   "}):
        response = office.post(f"/api/findings/{finding.pk}/dismiss/", body)
        assert response.status_code == 400 and "reason" in response.json()
    response = office.post(f"/api/findings/{finding.pk}/dismiss/", {"reason": "a known duplicate by design"})
    assert response.status_code == 200
    assert response.json()["status"] == FindingStatus.DISMISSED
    assert response.json()["status_reason"] == "a known duplicate by design"


def test_finding_change_the_lifecycle_refuses_is_409(office):
    finding = FindingFactory(status="resolved")
    response = office.post(f"/api/findings/{finding.pk}/acknowledge/", {})
    assert response.status_code == 409
    assert "cannot become" in response.json()["detail"]


def test_assign_finding_to_a_person_and_back_to_nobody(office):
    finding, person = FindingFactory(), PersonFactory()
    assert office.post(f"/api/findings/{finding.pk}/assign/", {"assignee": person.pk}).json()["assignee"] == person.pk
    assert office.post(f"/api/findings/{finding.pk}/assign/", {"assignee": None}).json()["assignee"] is None
    assert office.post(f"/api/findings/{finding.pk}/assign/", {"assignee": 987654}).status_code == 400


def test_finding_action_with_stale_if_match_is_412(office):
    finding = FindingFactory()
    etag = office.get(f"/api/findings/{finding.pk}/")["ETag"]
    assert office.post(f"/api/findings/{finding.pk}/acknowledge/", {}, HTTP_IF_MATCH=etag).status_code == 200
    assert office.post(f"/api/findings/{finding.pk}/resolve/", {}, HTTP_IF_MATCH=etag).status_code == 412


# Scans -------------------------------------------------------------------------------------------


def test_starting_a_scan_answers_202_with_its_id(office):
    with mock.patch("portfolio.tasks.run_queued_scan.apply_async", return_value=mock.Mock(id="task-42")):
        response = office.post("/api/scan-runs/", {"kinds": ["stalled_pilot"], "as_of": "2026-11-01"})
    assert response.status_code == 202
    scan_run = ScanRun.objects.get(pk=response.json()["id"])
    assert (scan_run.kinds, scan_run.task_id) == (["stalled_pilot"], "task-42")
    assert response["Location"].endswith(f"/api/scan-runs/{scan_run.pk}/")


def test_starting_a_scan_with_the_broker_down_is_503_with_a_clear_message(office):
    with mock.patch("portfolio.tasks.run_queued_scan.apply_async",
                    side_effect=KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")):
        response = office.post("/api/scan-runs/", {})
    assert response.status_code == 503
    assert "broker (Redis) cannot be reached" in response.json()["detail"]
    assert ScanRun.objects.get().status == ScanRun.Status.FAILED


def test_starting_a_scan_of_an_unknown_kind_is_a_400(office):
    response = office.post("/api/scan-runs/", {"kinds": ["gossip"]})
    assert response.status_code == 400 and "kinds" in response.json()
    assert not ScanRun.objects.exists()


@pytest.mark.parametrize("as_of", ["0001-01-01", "2999-01-01", "2026-02-30"])
def test_starting_a_scan_as_of_a_date_out_of_range_is_a_400(office, as_of):
    response = office.post("/api/scan-runs/", {"as_of": as_of})
    assert response.status_code == 400 and "as_of" in response.json()


def test_starting_a_scan_while_one_runs_in_process_is_409(office):
    from portfolio.services.scans import ScanAlreadyRunning

    running = ScanRun.objects.create(as_of=datetime.date(2026, 1, 1), status="running",
                                     started_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    with mock.patch("api.views.findings.start_scan", side_effect=ScanAlreadyRunning(running)):
        assert office.post("/api/scan-runs/", {}).status_code == 409


# History -----------------------------------------------------------------------------------------


def test_use_case_history_lists_each_change_with_who_made_it(office, use_case, program_office_user):
    office.patch(f"/api/use-cases/{use_case.pk}/", {"capability": "ranking"}, HTTP_IF_MATCH=f'"usecase-{use_case.pk}-v1"')
    records = office.get(f"/api/use-cases/{use_case.pk}/history/").json()["results"]
    assert records[0]["history_user"] == program_office_user.username
    assert records[0]["snapshot"]["capability"] == "ranking" and records[0]["snapshot"]["version"] == 2


# Tokens, throttling, schema ----------------------------------------------------------------------


def test_create_api_token_prints_a_token_that_authenticates(db, program_office_user):
    out = io.StringIO()
    call_command("create_api_token", program_office_user.username, stdout=out)
    key = out.getvalue().strip()
    assert Token.objects.get(user=program_office_user).key == key
    again = io.StringIO()
    call_command("create_api_token", program_office_user.username, stdout=again)
    assert again.getvalue().strip() == key
    rotated = io.StringIO()
    call_command("create_api_token", program_office_user.username, "--rotate", stdout=rotated)
    assert rotated.getvalue().strip() != key
    with pytest.raises(CommandError, match="No login named"):
        call_command("create_api_token", "nobody")


def test_callers_are_throttled(db, program_office_user):
    cache.clear()
    rates = {"anon": "2/minute", "user": "3/minute"}
    from django.conf import settings

    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        anonymous = APIClient()
        assert [anonymous.get("/api/use-cases/").status_code for _ in range(3)] == [401, 401, 429]
        client = APIClient()
        client.force_authenticate(program_office_user)
        assert [client.get("/api/use-cases/").status_code for _ in range(4)] == [200, 200, 200, 429]
    cache.clear()


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/use-cases/{id}/move/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content  # no CDN needed


def test_browsable_api_renders_for_a_signed_in_person(program_office_user, use_case):
    client = APIClient()
    client.force_login(program_office_user)
    for path in ("/api/", "/api/use-cases/", f"/api/use-cases/{use_case.pk}/", "/api/findings/"):
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 200 and b"<html" in response.content, path


def test_health_endpoints_still_answer(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


# Stating the decision of an imported use case -----------------------------------------------------


@pytest.fixture
def imported(db):
    from registry.inventory.federal.mapping import PLACEHOLDER_STATEMENT

    unit = BusinessUnitFactory(name="Department of Energy (DOE)")
    placeholder = DecisionFactory(statement=PLACEHOLDER_STATEMENT, business_unit=unit, owner=None, is_defined=False,
                                  frequency="", cost_of_error=None)
    return UseCaseFactory(title="Grant screening assistant", decision=placeholder, business_unit=unit)


def test_stating_the_decision_moves_the_use_case_onto_it(office, imported):
    response = office.post(f"/api/use-cases/{imported.pk}/state-decision/",
                           {"statement": "Which grant applications are screened first?", "frequency": "weekly"},
                           HTTP_IF_MATCH=f'"usecase-{imported.pk}-v1"')

    assert response.status_code == 200, response.json()
    imported.refresh_from_db()
    assert imported.decision.is_defined and imported.decision.statement == "Which grant applications are screened first?"
    assert response.json()["decision"] == imported.decision_id and response["ETag"] == f'"usecase-{imported.pk}-v2"'


@pytest.mark.parametrize("body, field", [
    ({"statement": "   "}, "statement"),
    ({"statement": "x" * 301}, "statement"),
    ({"statement": "Not yet defined: the source inventory names no decision"}, "statement"),
    ({"statement": "Which grants?", "frequency": "fortnightly"}, "frequency"),
    ({"statement": "Which grants?", "owner": 3}, "owner"),
])
def test_a_bad_statement_is_a_400_naming_the_field_and_writes_nothing(office, imported, body, field):
    response = office.post(f"/api/use-cases/{imported.pk}/state-decision/", body)

    assert response.status_code == 400 and field in response.json(), response.json()
    imported.refresh_from_db()
    assert not imported.decision.is_defined and imported.version == 1


def test_stating_a_decision_with_a_stale_version_is_412(office, imported):
    response = office.post(f"/api/use-cases/{imported.pk}/state-decision/",
                           {"statement": "Which grant applications are screened first?", "version": 7})

    assert response.status_code == 412
    imported.refresh_from_db()
    assert not imported.decision.is_defined


@pytest.mark.parametrize("ordering, expected", [
    ("-price", ["25000.00", "500.00", "500.00", "0.01", None, None]),
    ("price", ["0.01", "500.00", "500.00", "25000.00", None, None]),
])
def test_findings_ordered_by_price_put_the_unpriced_last_either_way_across_cursor_pages(office, ordering, expected):
    for price in ("500", None, "25000", "0.01", None, "500"):
        FindingFactory(price=None if price is None else Decimal(price))

    page = office.get(f"/api/findings/?ordering={ordering}&page_size=2").json()
    prices = [row["price"] for row in page["results"]]
    while page["next"]:
        page = office.get(page["next"]).json()
        prices += [row["price"] for row in page["results"]]

    assert prices == expected


def test_the_schema_says_findings_order_by_price_with_the_unpriced_last(office):
    schema = office.get("/api/schema/?format=json").json()
    [ordering] = [p for p in schema["paths"]["/api/findings/"]["get"]["parameters"] if p["name"] == "ordering"]
    assert "`price`" in ordering["description"] and "Rows without a `price` come last" in ordering["description"]
