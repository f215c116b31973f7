"""Sign-offs and determinations on the pages and in the admin: the use case page shows them and
offers the sign-off only to approvers who do not own the use case; the owner's home says what is
pending and from whom; approvers see what waits for them; the waiver register."""

import datetime

import pytest
from django.urls import reverse

from registry.models import SignOff, Stage
from registry.services.determinations import determine_high_impact, grant_waiver
from registry.services.lifecycle import move_use_case
from tests.factories import TEST_ACTOR, BusinessUnitFactory, PersonFactory, ProductionReadyUseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit():
    return BusinessUnitFactory(name="Claims")


@pytest.fixture
def use_case(unit):
    ready = ProductionReadyUseCaseFactory(
        title="Claims triage", decision__business_unit=unit,
        business_owner=PersonFactory(email="ann@example.com", name="Ann Owner", business_unit=unit),
        technical_owner=PersonFactory(email="ted@example.com", business_unit=unit))
    return move_use_case(use_case=ready, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)


@pytest.fixture
def amy(unit):
    PersonFactory(email="amy@example.com", business_unit=unit)
    return UserFactory(username="amy", first_name="Amy", last_name="Approver", groups=["approver"])


def as_user(client, username, *groups):
    client.force_login(UserFactory(username=username, groups=list(groups)))
    return client


def post_sign_off(client, use_case, **fields):
    return client.post(reverse("web:use_case_sign_off", args=[use_case.pk]),
                       {"stage": "pilot", "outcome": "approved", "note": "", **fields})


@pytest.mark.parametrize("owner", ["ann", "ted"])
def test_an_owner_is_offered_no_sign_off_and_posting_one_is_a_403(owner, use_case, client):
    as_user(client, owner, "business_owner", "program_office")

    page = client.get(reverse("web:use_case", args=[use_case.pk])).content.decode()
    response = post_sign_off(client, use_case)

    assert "Determinations and sign-off" in page and 'action="' + reverse("web:use_case_sign_off", args=[use_case.pk]) not in page
    assert response.status_code == 403
    assert not SignOff.objects.exists()


def test_an_approver_signs_off_on_the_use_case_page(use_case, client, amy):
    client.force_login(amy)
    page = client.get(reverse("web:use_case", args=[use_case.pk])).content.decode()
    response = post_sign_off(client, use_case, note="Data checked with Ann.")

    assert reverse("web:use_case_sign_off", args=[use_case.pk]) in page
    assert response.status_code == 302
    sign_off = SignOff.objects.get()
    assert (sign_off.signed_by, sign_off.note) == (amy, "Data checked with Ann.")
    shown = client.get(reverse("web:use_case", args=[use_case.pk])).content.decode()
    assert "Approved for Pilot by amy" in shown and ">counts<" in shown


@pytest.mark.parametrize("fields", [{"stage": "retired"}, {"outcome": "maybe"},
                                    {"outcome": "changes_requested", "note": ""}])
def test_a_garbage_sign_off_on_the_page_says_what_is_wrong_and_writes_nothing(fields, use_case, client, amy):
    client.force_login(amy)
    response = post_sign_off(client, use_case, **fields)
    assert response.status_code == 302
    assert not SignOff.objects.exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages and any(name in " ".join(messages) for name in ("stage", "outcome", "changes"))


def test_the_owner_home_shows_the_pending_sign_off_and_from_whom(use_case, client, amy):
    client.force_login(UserFactory(username="ann", groups=["business_owner"]))
    home = client.get(reverse("web:home")).content.decode()
    assert "Pending sign-offs" in home
    assert "needs a sign-off for <strong>Pilot</strong> from Amy Approver" in home


def test_an_approver_sees_what_waits_for_them(use_case, client, amy):
    client.force_login(amy)
    home = client.get(reverse("web:home")).content.decode()
    assert "Waiting for your sign-off" in home and "Claims triage" in home

    post_sign_off(client, use_case)
    assert "Waiting for your sign-off" not in client.get(reverse("web:home")).content.decode()


def test_an_owner_records_a_practice_on_the_page_and_garbage_is_named(use_case, client):
    determine_high_impact(use_case=use_case, is_high_impact="high_impact", actor=TEST_ACTOR)
    as_user(client, "ann", "business_owner")
    url = reverse("web:use_case_practice", args=[use_case.pk])

    refused = client.post(url, {"practice": "testing_conducted", "status": "done", "expected_version": use_case.version})
    done = client.post(url, {"practice": "testing_conducted", "status": "done", "evidence_link": "https://x.example/report",
                             "expected_version": use_case.version})

    assert "evidence_link" in " ".join(str(m) for m in refused.wsgi_request._messages)
    assert done.status_code == 302
    page = client.get(reverse("web:use_case", args=[use_case.pk])).content.decode()
    assert "https://x.example/report" in page


def test_the_waiver_register_lists_every_waiver_for_any_role(use_case, client):
    caio = UserFactory(username="cleo", groups=["chief_ai_officer"])
    grant_waiver(use_case=use_case, practice="appeal_process", justification="Appeals go to the ombudsman.",
                 granted_on=datetime.date(2026, 1, 5), expires_on=datetime.date(2099, 1, 1), actor=caio)
    as_user(client, "audrey", "auditor")
    page = client.get(reverse("web:waivers")).content.decode()
    assert "Appeal and remedy" in page and "Appeals go to the ombudsman." in page
    assert "overdue since 2026-02-04" in page


def test_an_owner_cannot_sign_off_in_the_admin_either(use_case, client):
    ann = UserFactory(username="ann", groups=["business_owner", "program_office"])
    client.force_login(ann)
    response = client.post(reverse("admin:registry_signoff_add"),
                           {"use_case": use_case.pk, "stage": "pilot", "outcome": "approved", "note": ""})
    assert response.status_code == 403
    assert not SignOff.objects.exists()


def test_the_program_office_signs_off_in_the_admin_through_the_same_rules(use_case, client):
    client.force_login(UserFactory(username="olga", groups=["program_office"]))
    response = client.post(reverse("admin:registry_signoff_add"),
                           {"use_case": use_case.pk, "stage": "pilot", "outcome": "approved", "note": "ok"})
    assert response.status_code == 302
    assert SignOff.objects.get().signed_by.username == "olga"


def test_the_program_office_records_the_determinations_on_the_page_and_an_owner_cannot(use_case, client):
    as_user(client, "ann", "business_owner")
    refused = client.post(reverse("web:use_case_omb_determination", args=[use_case.pk]),
                          {"is_high_impact": "not_high_impact", "expected_version": use_case.version})
    as_user(client, "olga", "program_office")
    page = client.get(reverse("web:use_case", args=[use_case.pk])).content.decode()
    missing = client.post(reverse("web:use_case_omb_determination", args=[use_case.pk]),
                          {"is_high_impact": "presumed_not_high_impact", "expected_version": use_case.version})
    determined = client.post(reverse("web:use_case_omb_determination", args=[use_case.pk]),
                             {"is_high_impact": "high_impact", "expected_version": use_case.version})
    use_case.refresh_from_db()
    classified = client.post(reverse("web:use_case_eu_classification", args=[use_case.pk]),
                             {"role": "deployer", "risk_class": "high_risk_annex_iii", "annex_iii_area": "employment",
                              "rationale": "Ranks applicants.", "expected_version": use_case.version})

    assert refused.status_code == 403
    assert "Record the determination" in page and "Waive a practice" not in page
    assert "hi_justification" in " ".join(str(m) for m in missing.wsgi_request._messages)
    assert determined.status_code == classified.status_code == 302
    shown = client.get(reverse("web:use_case", args=[use_case.pk])).content.decode()
    assert "<strong>High-impact</strong>" in shown and "Fundamental rights impact assessment" in shown


def test_a_chief_ai_officer_grants_a_waiver_on_the_page(use_case, client):
    as_user(client, "cleo", "chief_ai_officer")
    response = client.post(reverse("web:use_case_waiver", args=[use_case.pk]),
                           {"practice": "appeal_process", "justification": "Ombudsman handles appeals.",
                            "expires_on": "2099-01-01"})
    assert response.status_code == 302
    assert use_case.waivers.get().granted_by.username == "cleo"
