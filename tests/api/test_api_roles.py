"""Role × endpoint × method: who may do what through the API (CONTRACT.md's roles).

Anonymous callers get 401; any role reads; the program office changes everything; a business
owner changes only what they own (`owner` owns the records below, `stranger` is a business
owner who does not); auditors change nothing.
"""

import datetime
import re
from decimal import Decimal
from unittest import mock

import pytest
from rest_framework.test import APIClient

from portfolio.models import ScanRun
from registry.models import KPIObservation, Readiness, StageTransition, UseCase, Waiver
from tests.factories import (
    InvestmentFactory,
    BusinessUnitFactory,
    DecisionFactory,
    FindingFactory,
    KPIFactory,
    PersonFactory,
    UseCaseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    # Every anonymous request of the suite comes from one address: count each test's alone.
    from django.core.cache import cache

    cache.clear()

ROLES = ["anonymous", "auditor", "owner", "stranger", "office"]


@pytest.fixture
def world(db):
    unit = BusinessUnitFactory(name="Finance")
    owner = PersonFactory(email="owner@example.com", business_unit=unit)
    stranger = PersonFactory(email="stranger@example.com", business_unit=unit)
    decision = DecisionFactory(business_unit=unit, owner=owner)
    strangers_decision = DecisionFactory(business_unit=unit, owner=stranger)
    use_case = UseCaseFactory(decision=decision, business_owner=owner, technical_owner=owner,
                              data_readiness=Readiness.PARTIAL)
    kpi = KPIFactory(use_case=use_case)
    strangers_use_case = UseCaseFactory(decision=strangers_decision, business_owner=stranger, technical_owner=stranger)
    observation = KPIObservation.objects.create(kpi=kpi, observed_on=datetime.date(2026, 10, 1), value=Decimal("0.1"))
    scan_run = ScanRun.objects.create(as_of=datetime.date(2026, 10, 1), kinds=["stalled_pilot"])
    for record in (use_case, strangers_use_case):
        StageTransition.objects.create(use_case=record, from_stage="", to_stage="proposed", source="api")
    validating = UseCaseFactory(decision=decision, business_owner=owner, technical_owner=owner)
    UseCase.objects.filter(pk=validating.pk).update(stage="validating")
    waiver = Waiver.objects.create(use_case=use_case, practice="independent_review", justification="No reviewer yet.",
                                   granted_on=datetime.date(2026, 10, 1), expires_on=datetime.date(2027, 10, 1))
    finding = FindingFactory(use_cases=[use_case])
    investment = InvestmentFactory(use_case=use_case)
    acknowledged = FindingFactory(use_cases=[use_case], status="acknowledged")
    users = {
        "auditor": UserFactory(username="auditor", groups=["auditor"]),
        "owner": UserFactory(username="owner", groups=["business_owner"]),
        "stranger": UserFactory(username="stranger", groups=["business_owner"]),
        "office": UserFactory(username="office", groups=["program_office"]),
    }
    return dict(unit=unit, owner=owner, stranger=stranger, decision=decision, strangers_decision=strangers_decision,
                use_case=use_case, kpi=kpi, finding=finding, acknowledged=acknowledged, users=users,
                strangers_use_case=strangers_use_case, observation=observation, scan_run=scan_run,
                validating=validating, waiver=waiver, investment=investment)


def client_for(world, role):
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(world["users"][role])
    return client


def _decision_body(w):
    return {"statement": "Which suppliers are paid first?", "business_unit": w["unit"].pk, "owner": w["owner"].pk}


def _use_case_body(w):
    return {"title": "Supplier payment ranking", "decision": w["decision"].pk, "business_unit": w["unit"].pk,
            "business_owner": w["owner"].pk}


READ = {"anonymous": 401, "auditor": 200, "owner": 200, "stranger": 200, "office": 200}
OFFICE_ONLY = {"anonymous": 401, "auditor": 403, "owner": 403, "stranger": 403}
OWNERS = {"anonymous": 401, "auditor": 403, "stranger": 403}
# A business owner sees only the findings on what she owns, as in the inbox: to a stranger the
# owner's finding does not exist.
FINDING_READ = {**READ, "stranger": 404}
FINDING_OWNERS = {**OWNERS, "stranger": 404}

# (name, method, path, body, expected status by role)
CASES = [
    ("list units", "get", lambda w: "/api/business-units/", None, READ),
    ("unit", "get", lambda w: f"/api/business-units/{w['unit'].pk}/", None, READ),
    ("add unit", "post", lambda w: "/api/business-units/", lambda w: {"name": "Logistics"}, {**OFFICE_ONLY, "office": 201}),
    ("list people", "get", lambda w: "/api/people/", None, READ),
    ("person", "get", lambda w: f"/api/people/{w['owner'].pk}/", None, READ),
    ("add person", "post", lambda w: "/api/people/", lambda w: {"email": "new@example.com"}, {**OFFICE_ONLY, "office": 201}),
    ("replace person", "put", lambda w: f"/api/people/{w['owner'].pk}/", lambda w: {"name": "Ann", "active": True},
     {**OFFICE_ONLY, "office": 200}),
    ("edit person", "patch", lambda w: f"/api/people/{w['owner'].pk}/", lambda w: {"name": "Ann"}, {**OFFICE_ONLY, "office": 200}),
    ("directory sync", "post", lambda w: "/api/people/bulk-upsert/",
     lambda w: {"people": [{"email": "hr@example.com", "business_unit": "HR"}]}, {**OFFICE_ONLY, "office": 200}),
    ("list decisions", "get", lambda w: "/api/decisions/", None, READ),
    ("decision", "get", lambda w: f"/api/decisions/{w['decision'].pk}/", None, READ),
    ("decision history", "get", lambda w: f"/api/decisions/{w['decision'].pk}/history/", None, READ),
    ("register own decision", "post", lambda w: "/api/decisions/", _decision_body, {**OWNERS, "owner": 201, "office": 201}),
    ("edit own decision", "patch", lambda w: f"/api/decisions/{w['decision'].pk}/",
     lambda w: {"execution_point": "ERP"}, {**OWNERS, "owner": 200, "office": 200}),
    ("edit someone else's decision", "patch", lambda w: f"/api/decisions/{w['strangers_decision'].pk}/",
     lambda w: {"execution_point": "ERP"}, {**OWNERS, "owner": 403, "stranger": 200, "office": 200}),
    ("replace own decision", "put", lambda w: f"/api/decisions/{w['decision'].pk}/",
     _decision_body, {**OWNERS, "owner": 200, "office": 200}),
    ("list use cases", "get", lambda w: "/api/use-cases/", None, READ),
    ("use case", "get", lambda w: f"/api/use-cases/{w['use_case'].pk}/", None, READ),
    ("use case history", "get", lambda w: f"/api/use-cases/{w['use_case'].pk}/history/", None, READ),
    ("register own use case", "post", lambda w: "/api/use-cases/", _use_case_body, {**OWNERS, "owner": 201, "office": 201}),
    ("edit own use case", "patch", lambda w: f"/api/use-cases/{w['use_case'].pk}/",
     lambda w: {"capability": "ranking"}, {**OWNERS, "owner": 200, "office": 200}),
    ("replace own use case", "put", lambda w: f"/api/use-cases/{w['use_case'].pk}/",
     _use_case_body, {**OWNERS, "owner": 200, "office": 200}),
    ("edit someone else's use case", "patch", lambda w: f"/api/use-cases/{w['strangers_use_case'].pk}/",
     lambda w: {"capability": "ranking"}, {**OWNERS, "owner": 403, "stranger": 200, "office": 200}),
    ("move someone else's use case", "post", lambda w: f"/api/use-cases/{w['strangers_use_case'].pk}/move/",
     lambda w: {"to_stage": "validating"}, {**OWNERS, "owner": 403, "stranger": 200, "office": 200}),
    ("move own use case", "post", lambda w: f"/api/use-cases/{w['use_case'].pk}/move/",
     lambda w: {"to_stage": "validating"}, {**OWNERS, "owner": 200, "office": 200}),
    # Both use cases serve a stated decision: whoever may change it passes the role check
    # and is then told so (400); the others are refused first.
    ("state the decision of own use case", "post", lambda w: f"/api/use-cases/{w['use_case'].pk}/state-decision/",
     lambda w: {"statement": "Which invoices are paid early?"}, {**OWNERS, "owner": 400, "office": 400}),
    ("state the decision of someone else's use case", "post",
     lambda w: f"/api/use-cases/{w['strangers_use_case'].pk}/state-decision/",
     lambda w: {"statement": "Which invoices are paid early?"}, {**OWNERS, "owner": 403, "stranger": 400, "office": 400}),
    ("list KPI observations", "get", lambda w: "/api/kpi-observations/", None, READ),
    ("record KPI observation", "post", lambda w: "/api/kpi-observations/",
     lambda w: {"kpi": w["kpi"].pk, "observed_on": "2026-11-01", "value": "0.2"}, {**OWNERS, "owner": 201, "office": 201}),
    ("KPI observation", "get", lambda w: f"/api/kpi-observations/{w['observation'].pk}/", None, READ),
    ("list investments", "get", lambda w: "/api/investments/", None, READ),
    ("where value leaks", "get", lambda w: "/api/value/", None, {**READ, "owner": 403, "stranger": 403}),
    ("audit log", "get", lambda w: "/api/audit-log/", None, {**READ, "owner": 403, "stranger": 403}),
    ("audit log export", "get", lambda w: "/api/audit-log/export/", None, {**READ, "owner": 403, "stranger": 403}),
    ("audit log chain head", "get", lambda w: "/api/audit-log/head/", None, {**READ, "owner": 403, "stranger": 403}),
    ("record investment", "post", lambda w: "/api/investments/",
     lambda w: {"use_case": w["use_case"].pk, "layer": "data", "period_start": "2026-04-01",
                "period_end": "2026-06-30", "planned": "10.00", "spent": "5.00"},
     {**OWNERS, "owner": 201, "office": 201}),
    ("investment", "get", lambda w: f"/api/investments/{w['investment'].pk}/", None, READ),
    ("delete investment", "delete", lambda w: f"/api/investments/{w['investment'].pk}/", None,
     {**OWNERS, "owner": 204, "office": 204}),
    ("list stage transitions", "get", lambda w: "/api/stage-transitions/", None, READ),
    ("stage transition", "get", lambda w: f"/api/stage-transitions/{w['use_case'].transitions.get().pk}/", None, READ),
    ("list findings", "get", lambda w: "/api/findings/", None, READ),
    ("finding", "get", lambda w: f"/api/findings/{w['finding'].pk}/", None, FINDING_READ),
    ("acknowledge finding", "post", lambda w: f"/api/findings/{w['finding'].pk}/acknowledge/", lambda w: {},
     {**FINDING_OWNERS, "owner": 200, "office": 200}),
    # By default (Policy.owners_close_own_findings off), closing a finding about what you own needs the office.
    ("resolve finding", "post", lambda w: f"/api/findings/{w['finding'].pk}/resolve/", lambda w: {},
     {**FINDING_OWNERS, "owner": 403, "office": 200}),
    ("dismiss finding", "post", lambda w: f"/api/findings/{w['finding'].pk}/dismiss/", lambda w: {"reason": "known"},
     {**FINDING_OWNERS, "owner": 403, "office": 200}),
    ("reopen finding", "post", lambda w: f"/api/findings/{w['acknowledged'].pk}/reopen/", lambda w: {"reason": "back"},
     {**FINDING_OWNERS, "owner": 200, "office": 200}),
    ("reopen an open finding", "post", lambda w: f"/api/findings/{w['finding'].pk}/reopen/", lambda w: {},
     {**FINDING_OWNERS, "owner": 409, "office": 409}),
    # To a stranger the owner's finding does not exist: an unknown id is a 400 on `ids`.
    ("acknowledge findings in bulk", "post", lambda w: "/api/findings/bulk/",
     lambda w: {"ids": [w["finding"].pk], "action": "acknowledge"}, {**OWNERS, "stranger": 400, "owner": 200, "office": 200}),
    ("assign finding", "post", lambda w: f"/api/findings/{w['finding'].pk}/assign/",
     lambda w: {"assignee": w["owner"].pk}, {**OFFICE_ONLY, "stranger": 404, "office": 200}),
    # Signing off and determining are judged by role, not by ownership: an owner never signs off
    # their own use case; only a Chief AI Officer waives (none of these roles is one).
    ("sign off a gate", "post", lambda w: f"/api/use-cases/{w['validating'].pk}/sign-offs/",
     lambda w: {"stage": "pilot", "outcome": "approved", "note": "Checked."}, {**OFFICE_ONLY, "office": 201}),
    ("determine high impact", "put", lambda w: f"/api/use-cases/{w['use_case'].pk}/omb-determination/",
     lambda w: {"is_high_impact": "not_high_impact"}, {**OFFICE_ONLY, "office": 200}),
    ("record a practice", "put", lambda w: f"/api/use-cases/{w['use_case'].pk}/practices/testing_conducted/",
     lambda w: {"status": "in_progress"}, {**OWNERS, "owner": 200, "office": 200}),
    ("classify under the EU AI Act", "put", lambda w: f"/api/use-cases/{w['use_case'].pk}/eu-classification/",
     lambda w: {"role": "deployer", "risk_class": "minimal", "rationale": "Spell checker."}, {**OFFICE_ONLY, "office": 200}),
    ("list waivers", "get", lambda w: "/api/waivers/", None, READ),
    ("waiver", "get", lambda w: f"/api/waivers/{w['waiver'].pk}/", None, READ),
    ("grant a waiver", "post", lambda w: "/api/waivers/",
     lambda w: {"use_case": w["use_case"].pk, "practice": "appeal_process", "justification": "x",
                "expires_on": "2030-01-01"}, {**OFFICE_ONLY, "office": 403}),
    ("report a waiver", "post", lambda w: f"/api/waivers/{w['waiver'].pk}/report/",
     lambda w: {"reported_on": "2026-10-20"}, {**OFFICE_ONLY, "office": 403}),
    ("revoke a waiver", "post", lambda w: f"/api/waivers/{w['waiver'].pk}/revoke/",
     lambda w: {"reason": "no longer needed"}, {**OFFICE_ONLY, "office": 403}),
    ("list scan runs", "get", lambda w: "/api/scan-runs/", None, READ),
    ("scan run", "get", lambda w: f"/api/scan-runs/{w['scan_run'].pk}/", None, READ),
    ("start scan", "post", lambda w: "/api/scan-runs/", lambda w: {"kinds": ["stalled_pilot"]}, {**OFFICE_ONLY, "office": 202}),
    # The compliance figures are the portfolio's: the program office's and the auditors', as the page.
    ("compliance figures", "get", lambda w: "/api/compliance/", None, {**READ, "owner": 403, "stranger": 403}),
]


@pytest.fixture(autouse=True)
def _no_broker():
    # A scan started here is queued and handed to a broker that only records the call.
    with mock.patch("portfolio.tasks.run_queued_scan.apply_async", return_value=mock.Mock(id="task-1")):
        yield


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,method,path,body,expected", CASES, ids=[case[0] for case in CASES])
def test_role_matrix(world, role, name, method, path, body, expected):
    # given
    client = client_for(world, role)
    # when
    url = path(world)
    headers = {}
    if method in ("put", "patch") and url.startswith(("/api/use-cases/", "/api/decisions/")):
        # Edits of use cases and decisions carry the ETag read (If-Match is required).
        kind, pk = url.strip("/").split("/")[1:3]
        headers["HTTP_IF_MATCH"] = f'"{"usecase" if kind == "use-cases" else "decision"}-{pk}-v1"'
    response = getattr(client, method)(url, body(world) if body else None, format="json", **headers)
    # then
    assert response.status_code == expected[role], (name, role, response.content[:500])


def test_matrix_covers_every_operation_of_the_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {(method, path) for path, item in schema["paths"].items() for method in item}
    covered = set()
    stand_in = mock.MagicMock(pk=1)
    stand_in.__getitem__.return_value = stand_in
    stand_in.transitions.get.return_value.pk = 1
    for _, method, path, _, _ in CASES:
        covered.add((method, re.sub(r"/practices/[a-z_]+/", "/practices/{practice}/",
                                    path(stand_in).replace("/1/", "/{id}/"))))
    assert operations - covered == set()


def test_login_without_a_role_reads_nothing(world):
    client = APIClient()
    client.force_authenticate(UserFactory(username="nobody", groups=[]))
    assert client.get("/api/use-cases/").status_code == 403


def test_anonymous_is_told_how_to_authenticate(world):
    response = APIClient().get("/api/use-cases/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_owner_cannot_hand_their_decision_to_someone_else(world):
    client = client_for(world, "owner")
    response = client.patch(f"/api/decisions/{world['decision'].pk}/",
                            {"owner": world["stranger"].pk}, format="json",
                            HTTP_IF_MATCH=f'"decision-{world["decision"].pk}-v1"')
    assert response.status_code == 403
    world["decision"].refresh_from_db()
    assert world["decision"].owner == world["owner"] and world["decision"].version == 1


def test_owner_cannot_record_kpi_observation_on_someone_elses_use_case(world):
    others = KPIFactory(use_case=UseCaseFactory(decision=world["strangers_decision"]))
    response = client_for(world, "owner").post(
        "/api/kpi-observations/", {"kpi": others.pk, "observed_on": "2026-11-01", "value": "1"}, format="json")
    assert response.status_code == 403
    assert not others.observations.exists()


def test_token_authenticates_a_system(world):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=world["users"]["office"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/use-cases/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/use-cases/").status_code == 401


def test_session_authenticates_the_pages_and_needs_csrf_for_writes(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world["users"]["office"])
    assert client.get("/api/use-cases/").status_code == 200
    response = client.post("/api/business-units/", {"name": "Legal"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_decimal_fields_keep_their_precision(world):
    response = client_for(world, "office").get(f"/api/decisions/{world['decision'].pk}/")
    assert Decimal(response.json()["cost_of_error"]) == world["decision"].cost_of_error
    assert datetime.date.fromisoformat(response.json()["owner_confirmed_on"])
