"""Every page for every role, and the in-place actions of the home page (plain POST and htmx)."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portfolio.models import FindingStatus
from registry.models import KPIObservation, Stage, StageTransition, UseCase
from tests.factories import DecisionFactory, PersonFactory, UseCaseFactory
from tests.web_setup import (  # noqa: F401  (fixtures)
    htmx,
    no_role_user,
    others_finding,
    others_use_case,
    own_finding,
    own_use_case,
    owner_person,
)

pytestmark = pytest.mark.django_db


def pages(use_case):
    return {
        "home": reverse("web:home"),
        "decision": reverse("web:decision", args=[use_case.decision_id]),
        "use_case": reverse("web:use_case", args=[use_case.pk]),
        "findings": reverse("web:findings"),
        "portfolio": reverse("web:portfolio"),
        "export": reverse("web:portfolio_export"),
        "import": reverse("web:import"),
        "decision_new": reverse("web:decision_new"),
        "use_case_new": reverse("web:use_case_new", args=[use_case.decision_id]),
        "use_case_edit": reverse("web:use_case_edit", args=[use_case.pk]),
        "decision_edit": reverse("web:decision_edit", args=[use_case.decision_id]),
        "kpi_new": reverse("web:kpi_new", args=[use_case.pk]),
        "audit_log": reverse("web:audit_log"),
    }


# Expected status of GET on each page, per role, for a use case the business owner owns.
EXPECTED = {
    "office": dict(home=200, decision=200, use_case=200, findings=200, portfolio=200, export=200, **{"import": 200},
                   decision_new=200, use_case_new=200, use_case_edit=200, decision_edit=200, kpi_new=200,
                   audit_log=200),
    # Auditors land on the audit log.
    "auditor": dict(home=302, decision=200, use_case=200, findings=200, portfolio=200, export=200, **{"import": 403},
                    decision_new=403, use_case_new=403, use_case_edit=403, decision_edit=403, kpi_new=403,
                    audit_log=200),
    "owner": dict(home=200, decision=200, use_case=200, findings=200, portfolio=403, export=403, **{"import": 403},
                  decision_new=200, use_case_new=200, use_case_edit=200, decision_edit=403, kpi_new=200,
                  audit_log=403),
    "norole": dict(home=200, decision=403, use_case=403, findings=403, portfolio=403, export=403, **{"import": 403},
                   decision_new=403, use_case_new=403, use_case_edit=403, decision_edit=403, kpi_new=403,
                   audit_log=403),
}


@pytest.fixture
def login(client, program_office_user, auditor_user, business_owner_user, no_role_user):
    users = {"office": program_office_user, "auditor": auditor_user, "owner": business_owner_user,
             "norole": no_role_user}

    def as_role(role):
        client.force_login(users[role])
        return client

    return as_role


@pytest.mark.parametrize("role", list(EXPECTED))
def test_every_page_answers_each_role_as_its_rights_say(login, role, own_use_case, own_finding):
    client = login(role)
    for name, url in pages(own_use_case).items():
        assert client.get(url).status_code == EXPECTED[role][name], (role, name)


def test_anonymous_visitors_are_sent_to_the_login_page(client, own_use_case):
    for name, url in pages(own_use_case).items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


def test_owner_may_edit_own_decision_but_not_anothers(login, owner_person, others_use_case):
    client = login("owner")
    mine = DecisionFactory(owner=owner_person)
    assert client.get(reverse("web:decision_edit", args=[mine.pk])).status_code == 200
    assert client.get(reverse("web:decision_edit", args=[others_use_case.decision_id])).status_code == 403
    assert client.get(reverse("web:use_case_edit", args=[others_use_case.pk])).status_code == 403


def test_sign_in_sign_out_and_password_reset_by_email(client, business_owner_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = client.post(reverse("login"), {"username": "owner", "password": "correct horse battery"})
    assert response.status_code == 302 and response["Location"] == reverse("web:home")
    assert client.get(reverse("web:home")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("web:home")).status_code == 302
    wrong = client.post(reverse("login"), {"username": "owner", "password": "nope"})
    assert "did not match" in wrong.content.decode()

    client.post(reverse("password_reset"), {"email": business_owner_user.email})
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body and mail.outbox[0].subject == "Reset your Last Mile password"


def test_home_lists_own_use_cases_with_stage_days_gate_and_findings(login, own_use_case, own_finding, others_use_case):
    body = login("owner").get(reverse("web:home")).content.decode()
    assert own_use_case.title in body
    assert "Someone else" not in body
    assert "days in stage" in body or "day in stage" in body
    assert "Ready for Validating" in body  # the factory's decision meets the validating gate
    assert own_finding.title.replace("'", "&#x27;") in body


def test_home_of_a_login_without_directory_person_says_so(login):
    body = login("office").get(reverse("web:home"), {"view": "work"}).content.decode()
    assert "matches no person in the directory" in body


# The in-place actions -----------------------------------------------------------------------


def _move(client, use_case, to_stage, *, headers=None, reason="", version=None):
    return client.post(reverse("web:use_case_move", args=[use_case.pk]),
                       {"to_stage": to_stage, "reason": reason, "expected_version": version or use_case.version,
                        "next": reverse("web:home")}, **(headers or {}))


def _unmet_lines(body):
    return body.count("data readiness is below partial")


def test_a_refused_move_lists_each_condition_once_keeps_the_reason_and_links_where_to_fix_it(login, own_use_case):
    own_use_case.refresh_from_db()
    response = _move(login("owner"), own_use_case, Stage.VALIDATING)
    assert response.status_code == 302  # the validating gate is met: the move goes
    own_use_case.refresh_from_db()

    response = _move(login("owner"), own_use_case, Stage.PILOT, headers=htmx(), reason="Pilot site agreed with ops")
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="uc-{own_use_case.pk}"' in body and "<html" not in body
    assert "Not moved to Pilot" in body and _unmet_lines(body) == 1
    assert 'value="Pilot site agreed with ops"' in body
    edit = reverse("web:use_case_edit", args=[own_use_case.pk])
    assert f'<a href="{edit}">data readiness is below partial</a>' in body
    assert f'<a href="{reverse("web:use_case", args=[own_use_case.pk])}#determinations">no sign-off for pilot' in body
    own_use_case.refresh_from_db()
    assert own_use_case.stage == Stage.VALIDATING


def test_a_refused_move_without_javascript_shows_the_page_with_the_conditions_once_and_the_reason(login, own_use_case):
    client = login("owner")
    own_use_case.refresh_from_db()
    _move(client, own_use_case, Stage.VALIDATING)
    own_use_case.refresh_from_db()
    response = _move(client, own_use_case, Stage.PILOT, reason="Pilot site agreed with ops")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body
    assert "Not moved to Pilot" in body and _unmet_lines(body) == 1
    assert "Pilot site agreed with ops</textarea>" in body


def test_a_refusal_of_a_move_other_than_the_next_lists_its_own_conditions(login, own_use_case):
    own_use_case.refresh_from_db()
    response = _move(login("owner"), own_use_case, Stage.RETIRED, headers=htmx())
    body = response.content.decode()
    assert "Not moved to Retired" in body and "retiring a use case needs a reason" in body


@pytest.mark.parametrize("stage, offered_first", [
    (Stage.PROPOSED, Stage.VALIDATING), (Stage.VALIDATING, Stage.PILOT), (Stage.PILOT, Stage.PRODUCTION),
    (Stage.PRODUCTION, Stage.RETIRED),
])
def test_the_move_menu_offers_the_next_stage_forward_first(login, owner_person, stage, offered_first):
    use_case = UseCaseFactory(business_owner=owner_person, stage=stage)
    body = login("owner").get(reverse("web:use_case", args=[use_case.pk])).content.decode()
    assert f'<option value="{offered_first}" selected>' in body


def test_a_move_on_a_stale_version_is_refused_with_reload_advice(login, own_use_case):
    own_use_case.refresh_from_db()
    response = _move(login("owner"), own_use_case, Stage.VALIDATING, headers=htmx(), version=own_use_case.version + 5)
    assert "Someone changed this since you opened it" in response.content.decode()
    own_use_case.refresh_from_db()
    assert own_use_case.stage == Stage.PROPOSED


def test_a_successful_move_records_who_and_why(login, own_use_case, business_owner_user):
    own_use_case.refresh_from_db()
    response = _move(login("owner"), own_use_case, Stage.VALIDATING, headers=htmx(), reason="Data profiled")
    assert "Moved to Validating" in response.content.decode()
    transition = StageTransition.objects.filter(use_case=own_use_case).first()
    assert (transition.to_stage, transition.actor, transition.reason) == ("validating", business_owner_user, "Data profiled")


def test_confirm_ownership_in_place(login, own_use_case):
    UseCase.objects.filter(pk=own_use_case.pk).update(business_owner_confirmed_on=datetime.date(2025, 1, 1))
    response = login("owner").post(reverse("web:use_case_confirm", args=[own_use_case.pk]), **htmx())
    assert "Ownership confirmed" in response.content.decode()
    own_use_case.refresh_from_db()
    assert own_use_case.business_owner_confirmed_on == timezone.localdate()


def test_confirm_decision_ownership_in_place(login, owner_person):
    decision = DecisionFactory(owner=owner_person, owner_confirmed_on=datetime.date(2025, 1, 1))
    response = login("owner").post(reverse("web:decision_confirm", args=[decision.pk]), **htmx())
    assert f'id="dec-{decision.pk}"' in response.content.decode()
    decision.refresh_from_db()
    assert decision.owner_confirmed_on == timezone.localdate()


def test_record_a_kpi_value_in_place(login, own_use_case):
    kpi = own_use_case.kpis.get()
    response = login("owner").post(reverse("web:kpi_observation_new", args=[own_use_case.pk]),
                                   {"kpi": kpi.pk, "observed_on": "2026-11-01", "value": "0.21"}, **htmx())
    assert "Recorded Discount captured = 0.21" in response.content.decode()
    assert KPIObservation.objects.get(kpi=kpi).value == Decimal("0.21")


def test_edit_in_place_returns_the_form_then_the_card(login, own_use_case):
    client = login("owner")
    own_use_case.refresh_from_db()
    form = client.get(reverse("web:use_case_edit", args=[own_use_case.pk]), **htmx())
    assert "<html" not in form.content.decode() and 'name="expected_version"' in form.content.decode()
    data = {"title": "Renamed model", "summary": "", "capability": "", "external_id": own_use_case.external_id,
            "business_owner_email": own_use_case.business_owner.email, "technical_owner_email": "",
            "data_readiness": "partial", "infrastructure_readiness": "none", "model_readiness": "none",
            "orchestration_readiness": "none", "inference_readiness": "none", "expected_annual_value": "1000",
            "monitoring_plan": "", "expected_version": own_use_case.version}
    response = client.post(reverse("web:use_case_edit", args=[own_use_case.pk]), data, **htmx())
    assert "Renamed model" in response.content.decode() and "Saved." in response.content.decode()
    own_use_case.refresh_from_db()
    assert (own_use_case.title, own_use_case.data_readiness, own_use_case.technical_owner) == ("Renamed model", "partial", None)

    stale = client.post(reverse("web:use_case_edit", args=[own_use_case.pk]), {**data, "title": "Again"}, **htmx())
    assert "Someone changed this since you opened it" in stale.content.decode()
    own_use_case.refresh_from_db()
    assert own_use_case.title == "Renamed model"


def test_register_a_decision_then_a_use_case_from_it(login, owner_person):
    client = login("owner")
    unit = owner_person.business_unit
    response = client.post(reverse("web:decision_new"), {
        "statement": "Which   suppliers are paid early?", "business_unit": unit.pk, "frequency": "weekly",
        "cost_of_error": "120", "current_method": "judgement"})
    decision = owner_person.owned_decisions.get()
    assert response["Location"] == reverse("web:decision", args=[decision.pk])
    assert decision.statement == "Which suppliers are paid early?" and decision.owner_confirmed_on is not None

    response = client.post(reverse("web:use_case_new", args=[decision.pk]), {
        "title": "Early payment ranker", "business_owner_email": owner_person.email,
        "data_readiness": "none", "infrastructure_readiness": "none", "model_readiness": "none",
        "orchestration_readiness": "none", "inference_readiness": "none", "friction_points": ["integration_abyss"]})
    use_case = UseCase.objects.get(title="Early payment ranker")
    assert response["Location"] == reverse("web:use_case", args=[use_case.pk])
    assert (use_case.decision, use_case.business_unit, use_case.stage) == (decision, unit, Stage.PROPOSED)
    assert list(use_case.friction_points.values_list("code", flat=True)) == ["integration_abyss"]
    assert use_case.transitions.get().actor.username == "owner"


def test_an_owner_cannot_register_a_use_case_for_others_only(login, owner_person):
    decision = DecisionFactory(business_unit=owner_person.business_unit)  # not theirs, in their unit
    other = PersonFactory()
    response = login("owner").post(reverse("web:use_case_new", args=[decision.pk]), {
        "title": "Not mine", "business_owner_email": other.email,
        "data_readiness": "none", "infrastructure_readiness": "none", "model_readiness": "none",
        "orchestration_readiness": "none", "inference_readiness": "none"})
    assert response.status_code == 200 and "You can only register a use case you own" in response.content.decode()
    assert not UseCase.objects.filter(title="Not mine").exists()


def test_an_owner_cannot_register_under_another_units_decision_she_does_not_own(login, owner_person):
    decision = DecisionFactory()  # another owner's, in another unit
    url = reverse("web:use_case_new", args=[decision.pk])

    assert login("owner").get(url).status_code == 403
    response = login("owner").post(url, {
        "title": "Mine, under theirs", "business_owner_email": owner_person.email,
        "data_readiness": "none", "infrastructure_readiness": "none", "model_readiness": "none",
        "orchestration_readiness": "none", "inference_readiness": "none"})
    assert response.status_code == 403
    assert not UseCase.objects.filter(title="Mine, under theirs").exists()


def test_an_owner_without_directory_person_cannot_own_a_decision(client, business_owner_user):
    client.force_login(business_owner_user)
    response = client.get(reverse("web:decision_new"))
    assert response.status_code == 302


@pytest.mark.parametrize("role", ["auditor", "norole"])
def test_auditors_and_roleless_users_change_nothing(login, role, own_use_case, own_finding):
    client = login(role)
    own_use_case.refresh_from_db()
    kpi = own_use_case.kpis.get()
    posts = [
        (reverse("web:use_case_move", args=[own_use_case.pk]), {"to_stage": "validating", "expected_version": own_use_case.version}),
        (reverse("web:use_case_confirm", args=[own_use_case.pk]), {}),
        (reverse("web:decision_confirm", args=[own_use_case.decision_id]), {}),
        (reverse("web:kpi_observation_new", args=[own_use_case.pk]), {"kpi": kpi.pk, "observed_on": "2026-11-01", "value": "1"}),
        (reverse("web:use_case_edit", args=[own_use_case.pk]), {"title": "x"}),
        (reverse("web:decision_edit", args=[own_use_case.decision_id]), {"statement": "x"}),
        (reverse("web:decision_new"), {"statement": "x"}),
        (reverse("web:kpi_new", args=[own_use_case.pk]), {"name": "x"}),
        (reverse("web:investment_new", args=[own_use_case.pk]),
         {"layer": "data", "period_start": "2026-01-01", "period_end": "2026-03-31", "planned": "1", "spent": "1"}),
        (reverse("web:finding_status", args=[own_finding.pk]), {"action": "acknowledge"}),
        (reverse("web:finding_assign", args=[own_finding.pk]), {"assignee": ""}),
        (reverse("web:import"), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, **htmx()).status_code == 403, url
    own_use_case.refresh_from_db()
    own_finding.refresh_from_db()
    assert own_use_case.stage == Stage.PROPOSED and own_finding.status == FindingStatus.OPEN
    assert not KPIObservation.objects.exists() and not own_use_case.investments.exists()


def test_auditor_pages_offer_no_change(login, own_use_case, own_finding):
    client = login("auditor")
    for url in (reverse("web:audit_log"), reverse("web:use_case", args=[own_use_case.pk]), reverse("web:findings"),
                reverse("web:decision", args=[own_use_case.decision_id])):
        body = client.get(url).content.decode()
        assert body.count('method="post"') == 1 and "Sign out" in body, url  # only the sign-out form


def test_a_business_owner_changes_only_their_own(login, own_use_case, others_use_case, others_finding, own_finding):
    client = login("owner")
    others_use_case.refresh_from_db()
    assert _move(client, others_use_case, Stage.VALIDATING).status_code == 403
    assert client.post(reverse("web:use_case_confirm", args=[others_use_case.pk])).status_code == 403
    assert client.post(reverse("web:finding_status", args=[others_finding.pk]), {"action": "acknowledge"}).status_code == 403
    assert client.post(reverse("web:finding_assign", args=[own_finding.pk]), {"assignee": ""}).status_code == 403
    # the other's use case page is readable, without forms
    body = client.get(reverse("web:use_case", args=[others_use_case.pk])).content.decode()
    assert "read-only for you" in body


# Use case page -------------------------------------------------------------------------------


def test_use_case_page_shows_timeline_gates_kpi_chart_readiness_friction_and_history(login, own_use_case, own_finding):
    client = login("owner")
    own_use_case.refresh_from_db()
    kpi = own_use_case.kpis.get()
    kpi.baseline, kpi.target = Decimal("0.1"), Decimal("0.3")
    kpi.save()
    client.post(reverse("web:kpi_observation_new", args=[own_use_case.pk]), {"kpi": kpi.pk, "observed_on": "2026-10-01", "value": "0.15"})
    _move(client, own_use_case, Stage.VALIDATING, reason="Data reality checked")
    body = client.get(reverse("web:use_case", args=[own_use_case.pk])).content.decode()
    for expected in ("Stage timeline", "Data reality checked", "<svg", "baseline", "target", "Readiness per value-chain layer",
                     "Friction points", "History", "stage proposed → validating", "owner", own_finding.title[1:20]):
        assert expected in body, expected


# Findings ------------------------------------------------------------------------------------


def test_office_dismisses_with_a_reason_in_place_and_without_is_told_why(login, own_finding):
    client = login("office")
    refused = client.post(reverse("web:finding_status", args=[own_finding.pk]), {"action": "dismiss", "reason": " "}, **htmx())
    assert "Say why you dismiss this finding" in refused.content.decode()
    own_finding.refresh_from_db()
    assert own_finding.status == FindingStatus.OPEN
    done = client.post(reverse("web:finding_status", args=[own_finding.pk]), {"action": "dismiss", "reason": "Known, planned"}, **htmx())
    assert "Finding dismissed" in done.content.decode()
    own_finding.refresh_from_db()
    assert (own_finding.status, own_finding.status_reason) == (FindingStatus.DISMISSED, "Known, planned")


def test_office_acknowledges_resolves_and_assigns(login, own_finding, owner_person):
    client = login("office")
    client.post(reverse("web:finding_status", args=[own_finding.pk]), {"action": "acknowledge"})
    own_finding.refresh_from_db()
    assert own_finding.status == FindingStatus.ACKNOWLEDGED
    client.post(reverse("web:finding_assign", args=[own_finding.pk]), {"assignee": owner_person.email.upper()})
    own_finding.refresh_from_db()
    assert own_finding.assignee == owner_person
    client.post(reverse("web:finding_status", args=[own_finding.pk]), {"action": "resolve"})
    own_finding.refresh_from_db()
    assert own_finding.status == FindingStatus.RESOLVED


def test_owner_acknowledges_a_finding_on_their_use_case(login, own_finding):
    login("owner").post(reverse("web:finding_status", args=[own_finding.pk]), {"action": "acknowledge"})
    own_finding.refresh_from_db()
    assert own_finding.status == FindingStatus.ACKNOWLEDGED


def test_findings_filters_by_kind_unit_status_and_owner(login, own_finding, others_finding, owner_person, own_use_case):
    client = login("office")

    def titles(**query):
        return client.get(reverse("web:findings"), query).content.decode()

    assert own_finding.title[1:15] in titles() and others_finding.title in titles()
    only_orphans = titles(kind="orphaned_ownership", status="active")
    assert others_finding.title in only_orphans and own_finding.title[1:15] not in only_orphans
    by_unit = titles(unit=own_use_case.business_unit_id, status="")
    assert own_finding.title[1:15] in by_unit and others_finding.title not in by_unit
    by_owner = titles(owner=owner_person.email, status="active")
    assert own_finding.title[1:15] in by_owner and others_finding.title not in by_owner
    assert "No finding matches" in titles(owner="nobody@nowhere.example", status="")
    assert "No finding matches" in titles(status="dismissed")


def test_owner_inbox_holds_only_findings_on_what_they_own(login, own_finding, others_finding):
    body = login("owner").get(reverse("web:findings")).content.decode()
    assert own_finding.title[1:15] in body and others_finding.title not in body


def test_each_finding_shows_its_evidence_and_links_to_its_use_cases(login, own_finding, own_use_case):
    client = login("auditor")
    assert reverse("web:finding", args=[own_finding.pk]) in client.get(reverse("web:findings")).content.decode()
    body = client.get(reverse("web:finding", args=[own_finding.pk])).content.decode()
    assert "In its stage: 120 days by the scan&#x27;s date." in body and "Limit: 90." in body
    assert "days_in_stage" not in body
    assert reverse("web:use_case", args=[own_use_case.pk]) in body


# Portfolio -----------------------------------------------------------------------------------


def test_portfolio_shows_funnel_time_balance_findings_and_value_filtered_by_unit(login, own_use_case, others_use_case, own_finding):
    client = login("office")
    body = client.get(reverse("web:portfolio")).content.decode()
    for expected in ("Stage funnel", "Time in stage", "Value-chain balance", "Open findings by kind and unit",
                     "Expected annual value by stage", own_use_case.business_unit.name, others_use_case.business_unit.name):
        assert expected in body, expected
    filtered = client.get(reverse("web:portfolio"), {"unit": own_use_case.business_unit_id}).content.decode()
    assert f"Portfolio: {own_use_case.business_unit.name}" in filtered
    assert f'<th scope="row">{others_use_case.business_unit.name}</th>' not in filtered


def test_portfolio_csv_export_holds_what_is_shown(login, own_use_case, others_use_case, own_finding):
    client = login("office")
    response = client.get(reverse("web:portfolio_export"), {"unit": own_use_case.business_unit_id})
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert text.splitlines()[0] == "table,scope,row,column,value"
    assert f"stage funnel,{own_use_case.business_unit.name},{own_use_case.business_unit.name},proposed,1" in text
    assert others_use_case.business_unit.name not in text
    assert f"open findings,{own_use_case.business_unit.name},{own_use_case.business_unit.name},stalled_pilot,1" in text
    assert "time in stage" in text and "readiness (0-3)" in text and "expected annual value" in text



def test_portfolio_csv_export_writes_a_unit_name_a_spreadsheet_would_run_as_text(login, own_use_case):
    import csv
    import io

    unit = own_use_case.business_unit
    unit.name = '=HYPERLINK("http://evil.example","Open")'
    unit.save()

    text = login("office").get(reverse("web:portfolio_export")).content.decode()

    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + unit.name in cells  # OWASP: a leading quote makes it text
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_lopsided_units_are_named(login, owner_person):
    UseCaseFactory(data_readiness="ready", model_readiness="ready", inference_readiness="none",
                   orchestration_readiness="none", infrastructure_readiness="none")
    body = login("office").get(reverse("web:portfolio")).content.decode()
    assert "lopsided</strong>" in body


def test_a_refusal_and_a_missing_page_are_explained_in_the_sites_own_pages(client, auditor_user):
    client.force_login(auditor_user)

    refused = client.get(reverse("web:decision_new"))
    missing = client.get("/use-cases/999999/")

    assert refused.status_code == 403 and "auditors see everything and change nothing" in refused.content.decode()
    assert missing.status_code == 404 and "Back to my work" in missing.content.decode()
    assert "Sign out" in refused.content.decode()
