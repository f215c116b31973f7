"""Stating the decision of an imported use case that sits under a placeholder, from its card on
the home page (htmx and plain POST) and from its page."""

from html import unescape

import pytest
from django.urls import reverse

from registry.inventory.federal.mapping import PLACEHOLDER_STATEMENT
from registry.models import Decision, UseCase
from registry.services.use_cases import edit_use_case
from tests.factories import BusinessUnitFactory, DecisionFactory, PersonFactory, UseCaseFactory
from portfolio.detectors.base import Detected
from portfolio.models import Finding
from portfolio.services.findings import reconcile
from tests.web_setup import AS_OF, htmx, make_finding, owner_person  # noqa: F401  (fixtures)
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db

STATEMENT = "Which grant applications are screened first this week?"


@pytest.fixture
def unit():
    return BusinessUnitFactory(name="Department of Energy (DOE)")


@pytest.fixture
def placeholder(unit):
    return DecisionFactory(statement=PLACEHOLDER_STATEMENT, business_unit=unit, owner=None, is_defined=False,
                           frequency="", cost_of_error=None)


@pytest.fixture
def imported(placeholder, owner_person, unit):
    return UseCaseFactory(title="Grant screening assistant", decision=placeholder, business_unit=unit,
                          business_owner=owner_person, external_id="DOE-0001")


@pytest.fixture
def neighbour(placeholder, unit):
    """Another use case of the same agency, waiting under the same placeholder."""
    return UseCaseFactory(title="Fleet maintenance forecaster", decision=placeholder, business_unit=unit,
                          external_id="DOE-0002")


@pytest.fixture
def owner(client, business_owner_user):
    client.force_login(business_owner_user)
    return client


def url(use_case):
    return reverse("web:use_case_state_decision", args=[use_case.pk])


def post(client, use_case, statement=STATEMENT, *, version=None, frequency="weekly", **extra):
    data = {"statement": statement, "frequency": frequency, "next": reverse("web:home"),
            "expected_version": version if version is not None else use_case.version}
    return client.post(url(use_case), data, **extra)


def test_home_shows_an_imported_use_case_as_having_no_decision_with_the_form_in_place(owner, imported):
    html = owner.get(reverse("web:home")).content.decode()
    card = html[html.index(f'id="uc-{imported.pk}"'):]
    assert "No decision stated yet" in card
    assert "State the decision this use case changes" in card
    assert PLACEHOLDER_STATEMENT not in html  # the placeholder is never shown as if it were the decision
    assert f'hx-post="{url(imported)}"' in card
    assert f'name="expected_version" value="{imported.version}"' in card


def test_owner_states_the_decision_in_place_with_htmx(owner, imported, neighbour, placeholder, owner_person):
    # when
    response = post(owner, imported, **htmx())
    # then: the card comes back, serving the new decision
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<article") and "<html" not in html
    assert "decisionStated" in response["HX-Trigger-After-Swap"]  # the decision list and counts follow
    assert "Decision stated. The use case now serves it." in html and "No decision stated yet" not in html
    imported.refresh_from_db()
    decision = imported.decision
    assert (decision.statement, decision.is_defined, decision.frequency) == (STATEMENT, True, "weekly")
    assert decision.owner == owner_person and decision.business_unit == placeholder.business_unit
    assert imported.version == 2
    # the other use case of the agency still waits under the placeholder, which stays
    neighbour.refresh_from_db()
    assert neighbour.decision == placeholder and not placeholder.is_defined


def test_owner_states_the_decision_with_a_plain_post_and_is_sent_back(owner, imported, neighbour, placeholder):
    response = post(owner, imported, frequency="")
    assert response.status_code == 302 and response["Location"] == reverse("web:home")
    imported.refresh_from_db()
    assert imported.decision.statement == STATEMENT and imported.decision.frequency == ""
    assert UseCase.objects.get(pk=neighbour.pk).decision_id == placeholder.pk
    page = owner.get(reverse("web:home")).content.decode()
    assert "Decision stated. The use case now serves it." in page
    card = page[page.index(f'id="uc-{imported.pk}"'):page.index(f'id="uc-{neighbour.pk}"')] \
        if f'id="uc-{neighbour.pk}"' in page else page[page.index(f'id="uc-{imported.pk}"'):]
    assert "State the decision this use case changes" not in card


def test_use_case_page_offers_the_same_form(owner, imported):
    html = owner.get(reverse("web:use_case", args=[imported.pk])).content.decode()
    assert "No decision stated yet" in html and "State the decision this use case changes" in html
    assert f'action="{url(imported)}"' in html


@pytest.mark.parametrize("statement, error", [
    ("   ", "the statement is blank"),
    ("x" * 400, "at most 300 are allowed"),
    (PLACEHOLDER_STATEMENT, "That is the placeholder's wording"),
])
@pytest.mark.parametrize("with_htmx", [True, False])
def test_garbage_gets_an_error_next_to_the_statement_and_writes_nothing(owner, imported, placeholder, statement, error,
                                                                        with_htmx):
    decisions = Decision.objects.count()
    response = post(owner, imported, statement, **(htmx() if with_htmx else {}))
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert ("<html" in html) is not with_htmx  # htmx: the card only; plain POST: the use case page
    field_error = html[html.index(f'id="uc{imported.pk}-decision-statement-error"'):]
    assert error in field_error.split("</p>")[0]
    assert 'aria-invalid="true"' in html
    imported.refresh_from_db()
    assert imported.decision_id == placeholder.pk and imported.version == 1
    assert Decision.objects.count() == decisions


def test_a_stale_version_says_to_reload_and_writes_nothing(owner, imported, placeholder):
    # given: someone saved the use case after the owner opened the page
    edit_use_case(use_case=UseCase.objects.get(pk=imported.pk), actor=TEST_ACTOR)
    # when
    response = post(owner, imported, version=1, **htmx())
    # then
    html = response.content.decode()
    assert "Reload the page" in html
    imported.refresh_from_db()
    assert imported.decision_id == placeholder.pk and not Decision.objects.filter(statement=STATEMENT).exists()
    # the card carries the new version, so the owner can state it now
    assert f'name="expected_version" value="{imported.version}"' in html
    # a plain POST says so after the redirect
    response = post(owner, imported, version=1, follow=True)
    assert "Reload the page" in response.content.decode()
    assert not Decision.objects.filter(statement=STATEMENT).exists()


def test_program_office_may_state_it_for_the_owner(client, program_office_user, imported, owner_person):
    client.force_login(program_office_user)
    assert post(client, imported).status_code == 302
    imported.refresh_from_db()
    assert imported.decision.statement == STATEMENT and imported.decision.owner == owner_person


def test_auditors_see_no_form_and_are_refused(client, auditor_user, imported, placeholder):
    client.force_login(auditor_user)
    html = client.get(reverse("web:use_case", args=[imported.pk])).content.decode()
    assert "No decision stated yet" in html and "State the decision this use case changes" not in html
    assert post(client, imported).status_code == 403
    assert post(client, imported, **htmx()).status_code == 403
    imported.refresh_from_db()
    assert imported.decision_id == placeholder.pk


def test_an_owner_cannot_state_the_decision_of_someone_elses_use_case(owner, neighbour, placeholder):
    html = owner.get(reverse("web:use_case", args=[neighbour.pk])).content.decode()
    assert "State the decision this use case changes" not in html
    assert post(owner, neighbour).status_code in (403, 404)
    neighbour.refresh_from_db()
    assert neighbour.decision_id == placeholder.pk


def test_a_use_case_with_a_decision_has_no_form_and_a_post_is_refused_in_place(owner, owner_person):
    stated = UseCaseFactory(business_owner=owner_person)
    html = owner.get(reverse("web:home")).content.decode()
    assert "State the decision this use case changes" not in html
    response = post(owner, stated, **htmx())
    assert "already serves the decision" in response.content.decode()
    assert Decision.objects.filter(statement=STATEMENT).count() == 0


def test_stating_the_decision_resolves_its_missing_decision_finding_at_once(owner, imported, neighbour,
                                                                           business_owner_user):
    # given both use cases' missing-decision findings, opened by one scan
    reconcile(kinds=["missing_decision"], as_of=AS_OF, detected=[
        Detected(kind="missing_decision", identity=(u.pk,), severity="high", use_case_ids=[u.pk],
                 title=f"'{u.title}' serves no stated decision") for u in (imported, neighbour)])
    finding, neighbours = (Finding.objects.get(use_cases=u) for u in (imported, neighbour))
    assert "serves no stated decision" in owner.get(reverse("web:home")).content.decode()

    post(owner, imported)

    assert "serves no stated decision" not in owner.get(reverse("web:home")).content.decode()
    finding.refresh_from_db()
    event = finding.events.first()  # the latest
    assert (finding.status, event.from_status, event.actor) == ("resolved", "open", business_owner_user)
    assert finding.status_reason == f"The decision was stated: {STATEMENT}"
    assert finding.history.latest().history_user == business_owner_user
    neighbours.refresh_from_db()
    assert neighbours.status == "open"  # only the use case whose decision was stated


def test_stating_the_decision_through_the_api_resolves_it_too(business_owner_user, imported):
    from rest_framework.test import APIClient

    finding = make_finding(imported, kind="missing_decision")
    api = APIClient()
    api.force_authenticate(business_owner_user)
    answer = api.post(f"/api/use-cases/{imported.pk}/state-decision/", {"statement": STATEMENT}, format="json")
    assert answer.status_code == 200, answer.content
    finding.refresh_from_db()
    assert finding.status == "resolved"


def test_the_placeholder_offers_no_decision_actions(client, program_office_user, imported, placeholder):
    client.force_login(program_office_user)
    html = client.get(reverse("web:decision", args=[placeholder.pk])).content.decode()
    assert "not a decision but a placeholder" in html
    assert "Edit decision" not in html and "Confirm I own it" not in html and "Register a use case" not in html
    assert client.get(reverse("web:decision_edit", args=[placeholder.pk])).status_code == 403
    assert client.post(reverse("web:decision_confirm", args=[placeholder.pk])).status_code == 403
    assert client.get(reverse("web:use_case_new", args=[placeholder.pk])).status_code == 403
