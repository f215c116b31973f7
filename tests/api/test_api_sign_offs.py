"""The sign-off and determination endpoints as CONTRACT.md names them: POST sign-offs → 201, 403 for
the use case's own owners, 409 with `unmet` code `sign_off`; the use case shows its determinations,
practices and sign-offs; garbage is a 400 naming the field, with nothing written."""

import pytest
from rest_framework.test import APIClient

from registry.models import EUClassification, OMBDetermination, PracticeRecord, SignOff, Stage, UseCase, Waiver
from registry.services.lifecycle import move_use_case
from tests.factories import TEST_ACTOR, BusinessUnitFactory, PersonFactory, ProductionReadyUseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def use_case():
    unit = BusinessUnitFactory(name="Claims")
    ready = ProductionReadyUseCaseFactory(
        decision__business_unit=unit, business_owner=PersonFactory(email="ann@example.com", business_unit=unit),
        technical_owner=PersonFactory(email="ted@example.com", business_unit=unit))
    return move_use_case(use_case=ready, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)


def client(username, *groups):
    api = APIClient()
    api.force_authenticate(UserFactory(username=username, groups=list(groups)))
    return api


def put(api, use_case, path, body):
    """A determination is an edit of the use case: it carries the ETag read as If-Match."""
    version = UseCase.objects.get(pk=use_case.pk).version
    return api.put(f"/api/use-cases/{use_case.pk}/{path}/", body, format="json",
                   HTTP_IF_MATCH=f'"usecase-{use_case.pk}-v{version}"')


def sign_off_url(use_case):
    return f"/api/use-cases/{use_case.pk}/sign-offs/"


def test_an_approver_signs_off_and_the_move_then_goes(use_case):
    office = client("olga", "program_office")

    refused = office.post(f"/api/use-cases/{use_case.pk}/move/", {"to_stage": "pilot"}, format="json")
    given = office.post(sign_off_url(use_case), {"stage": "pilot", "outcome": "approved", "note": "Data checked."},
                        format="json")
    moved = office.post(f"/api/use-cases/{use_case.pk}/move/", {"to_stage": "pilot"}, format="json")

    assert refused.status_code == 409 and [u["code"] for u in refused.json()["unmet"]] == ["sign_off"]
    assert given.status_code == 201
    assert {k: given.json()[k] for k in ("stage", "outcome", "note", "signed_by", "counts")} == {
        "stage": "pilot", "outcome": "approved", "note": "Data checked.", "signed_by": "olga", "counts": True}
    assert moved.status_code == 200 and moved.json()["stage"] == "pilot"


@pytest.mark.parametrize("owner", ["ann", "ted"])
def test_an_owner_cannot_sign_off_their_own_use_case_even_in_the_program_office(owner, use_case):
    response = client(owner, "program_office", "business_owner").post(
        sign_off_url(use_case), {"stage": "pilot", "outcome": "approved"}, format="json")
    assert response.status_code == 403 and "Separation of duties" in response.json()["detail"]
    assert not SignOff.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"stage": "retired", "outcome": "approved"}, "stage"),
    ({"stage": "pilot", "outcome": "ok"}, "outcome"),
    ({"stage": "pilot", "outcome": "approved", "note": 5}, "note"),
    ({"stage": "pilot", "outcome": "approved", "signed_by": 1}, "signed_by"),
    ({"stage": "pilot", "outcome": "changes_requested"}, "note"),
    ({"outcome": "approved"}, "stage"),
])
def test_a_garbage_sign_off_is_a_400_naming_the_field(body, field, use_case):
    response = client("olga", "program_office").post(sign_off_url(use_case), body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not SignOff.objects.exists()


def test_the_use_case_shows_its_determinations_practices_waivers_and_sign_offs(use_case):
    office = client("olga", "program_office")
    caio = client("cleo", "chief_ai_officer")
    put(office, use_case, "omb-determination", {"is_high_impact": "high_impact"})
    put(office, use_case, "practices/testing_conducted",
        {"status": "done", "evidence_link": "https://wiki.example.com/test-report"})
    granted = caio.post("/api/waivers/", {"use_case": use_case.pk, "practice": "appeal_process",
                                          "justification": "Appeals go through the claims ombudsman.",
                                          "expires_on": "2099-01-01"}, format="json")
    put(office, use_case, "eu-classification",
        {"role": "deployer", "risk_class": "high_risk_annex_iii", "annex_iii_area": "essential_services",
         "rationale": "Decides on insurance claims."})
    office.post(sign_off_url(use_case), {"stage": "pilot", "outcome": "approved"}, format="json")

    body = office.get(f"/api/use-cases/{use_case.pk}/").json()

    assert granted.status_code == 201
    assert body["omb_determination"]["is_high_impact"] == "high_impact"
    assert body["omb_determination"]["is_high_impact_label"] == "High-impact"
    practices = {p["practice"]: p for p in body["practices"]}
    assert len(practices) == 8
    assert practices["testing_conducted"]["status"] == "done"
    assert practices["appeal_process"] == {**practices["appeal_process"], "status": "not_started", "waived": True}
    assert [w["practice"] for w in body["waivers"]] == ["appeal_process"]
    assert body["eu_classification"]["risk_class"] == "high_risk_annex_iii"
    assert "fundamental_rights_impact_assessment" in [o["code"] for o in body["eu_classification"]["obligations"]]
    assert [(s["stage"], s["counts"]) for s in body["sign_offs"]] == [("pilot", True)]
    # six practices are neither done nor waived: the gate names each
    assert sorted(c["code"] for c in body["next_stage_needs"]) == sorted(
        f"practice_{p}" for p in practices if p not in ("testing_conducted", "appeal_process"))


@pytest.mark.parametrize(("path", "body", "field"), [
    ("omb-determination", {"is_high_impact": "presumed_not_high_impact"}, "hi_justification"),
    ("omb-determination", {"is_high_impact": True}, "is_high_impact"),
    ("practices/testing_conducted", {"status": "done"}, "evidence_link"),
    ("practices/testing_conducted", {"status": "done", "evidence_link": "ftp:/nowhere"}, "evidence_link"),
    ("practices/testing_conducted", {"status": "started"}, "status"),
    ("eu-classification", {"role": "deployer", "risk_class": "high_risk_annex_iii", "rationale": "x"},
     "annex_iii_area"),
    ("eu-classification", {"role": "deployer", "risk_class": "minimal"}, "rationale"),
])
def test_a_garbage_determination_is_a_400_naming_the_field_and_writes_nothing(path, body, field, use_case):
    response = put(client("olga", "program_office"), use_case, path, body)
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not (OMBDetermination.objects.exists() or PracticeRecord.objects.exists()
                or EUClassification.objects.exists())
    assert UseCase.objects.get(pk=use_case.pk).version == use_case.version


def test_an_unknown_practice_is_a_404(use_case):
    response = put(client("olga", "program_office"), use_case, "practices/everything", {"status": "done"})
    assert response.status_code == 404


def test_a_determination_without_if_match_is_a_428_and_a_stale_one_a_412(use_case):
    office = client("olga", "program_office")
    missing = office.put(f"/api/use-cases/{use_case.pk}/omb-determination/", {"is_high_impact": "high_impact"},
                         format="json")
    stale = office.put(f"/api/use-cases/{use_case.pk}/omb-determination/", {"is_high_impact": "high_impact"},
                       format="json", HTTP_IF_MATCH=f'"usecase-{use_case.pk}-v1"')
    assert (missing.status_code, stale.status_code) == (428, 412)
    assert not OMBDetermination.objects.exists()


def test_the_waiver_register_lists_reports_and_revokes_for_a_chief_ai_officer(use_case):
    caio = client("cleo", "chief_ai_officer")
    waiver = caio.post("/api/waivers/", {"use_case": use_case.pk, "practice": "failsafe_presence",
                                         "justification": "Manual fallback only.", "granted_on": "2026-11-01",
                                         "expires_on": "2027-05-01"}, format="json").json()

    reported = caio.post(f"/api/waivers/{waiver['id']}/report/", {"reported_on": "2026-11-20"}, format="json")
    again = caio.post(f"/api/waivers/{waiver['id']}/report/", {"reported_on": "2026-11-21"}, format="json")
    revoked = caio.post(f"/api/waivers/{waiver['id']}/revoke/", {"reason": "Fail-safe built."}, format="json")
    listed = client("audrey", "auditor").get("/api/waivers/").json()

    assert reported.status_code == 200 and reported.json()["reported_on"] == "2026-11-20"
    assert again.status_code == 409
    assert revoked.status_code == 200 and revoked.json()["in_force"] is False
    assert [w["id"] for w in listed["results"]] == [waiver["id"]]


@pytest.mark.parametrize(("body", "field"), [
    ({"practice": "failsafe_presence", "justification": "x", "expires_on": "2026-13-01"}, "expires_on"),
    ({"practice": "failsafe_presence", "justification": "x", "granted_on": "2027-01-01", "expires_on": "2026-12-01"},
     "expires_on"),
    ({"practice": "fail_safe", "justification": "x", "expires_on": "2027-01-01"}, "practice"),
    ({"practice": "failsafe_presence", "justification": "", "expires_on": "2027-01-01"}, "justification"),
])
def test_a_garbage_waiver_is_a_400_naming_the_field(body, field, use_case):
    response = client("cleo", "chief_ai_officer").post("/api/waivers/", {"use_case": use_case.pk, **body},
                                                       format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Waiver.objects.exists()
