"""Who changed what, when: history written by the services and the admin, and browsable."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from registry.services.lifecycle import move_use_case
from core.errors import InvalidInput, Refused, StaleVersion
from registry.models import KPI, Decision, KPIObservation, Person, Stage, StageTransition, UseCase
from registry.services.decisions import confirm_decision_ownership, save_decision
from registry.services.directory import upsert_person
from registry.services.kpis import add_kpi, record_kpi_observation
from registry.services.use_cases import confirm_use_case_ownership, edit_use_case, register_use_case
from tests.factories import (
    BusinessUnitFactory,
    DecisionFactory,
    KPIFactory,
    PersonFactory,
    ProductionReadyUseCaseFactory,
    UseCaseFactory,
    UserFactory,
)
from tests.registry.test_admin import form_data
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db

LONG_AGO = datetime.date(2025, 1, 15)
TODAY = datetime.date(2026, 3, 2)


@pytest.fixture
def ann(db):
    return UserFactory(username="ann", groups=["program_office"])


# --- services record their actor ---------------------------------------------------------


def test_edit_records_who_changed_the_use_case(ann):
    # given
    use_case = UseCaseFactory(title="Churn offers")

    # when
    use_case.title = "Churn retention offers"
    edit_use_case(use_case=use_case, actor=ann)

    # then
    latest = use_case.history.latest()
    assert latest.history_user == ann
    assert latest.history_type == "~"
    assert latest.title == "Churn retention offers"
    assert latest.version == 2
    assert latest.prev_record.title == "Churn offers"


def test_register_records_who_registered_the_use_case(ann):
    decision = DecisionFactory()

    use_case = register_use_case(
        use_case=UseCase(decision=decision, business_unit=decision.business_unit, title="Claims triage"), actor=ann
    )

    assert use_case.history.get().history_user == ann
    assert use_case.history.get().history_type == "+"


def test_save_decision_records_who_changed_it(ann):
    decision = DecisionFactory(execution_point="")

    decision.execution_point = "CRM offer queue"
    save_decision(decision=decision, actor=ann)

    latest = decision.history.latest()
    assert latest.history_user == ann
    assert latest.execution_point == "CRM offer queue"


def test_upsert_person_records_who_changed_the_directory(ann):
    person, created = upsert_person(email="Ann.Lee@Example.com", name="Ann Lee", actor=ann)
    _, changed = upsert_person(email="ann.lee@example.com", active=False, actor=ann)

    assert created and changed
    assert [h.history_user for h in person.history.order_by("history_id")] == [ann, ann]
    assert [h.active for h in person.history.order_by("history_id")] == [True, False]


def test_upsert_person_without_changes_writes_no_history(ann):
    person, _ = upsert_person(email="ann.lee@example.com", name="Ann Lee", actor=ann)

    _, changed = upsert_person(email="ANN.LEE@example.com", name="Ann Lee", actor=ann)

    assert not changed
    assert person.history.count() == 1


def test_kpi_observation_records_who_recorded_it(ann):
    kpi = KPIFactory()

    observation = record_kpi_observation(kpi=kpi, observed_on=TODAY, value=Decimal("0.21"), actor=ann)

    assert observation.recorded_by == ann
    assert observation.history.get().history_user == ann


def test_correcting_a_kpi_observation_keeps_the_first_value_in_history(ann):
    kpi = KPIFactory()
    bob = UserFactory(username="bob", groups=["program_office"])
    record_kpi_observation(kpi=kpi, observed_on=TODAY, value=Decimal("0.21"), actor=ann)

    observation = record_kpi_observation(kpi=kpi, observed_on=TODAY, value=Decimal("0.12"), actor=bob)

    assert KPIObservation.objects.filter(kpi=kpi).count() == 1
    assert observation.recorded_by == bob
    history = list(observation.history.order_by("history_id"))
    assert [(h.value, h.history_user) for h in history] == [(Decimal("0.21"), ann), (Decimal("0.12"), bob)]


def test_move_records_who_moved_it_and_why_in_history(ann):
    use_case = UseCaseFactory()

    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=ann)

    latest = use_case.history.latest()
    assert latest.history_user == ann
    assert latest.stage == Stage.VALIDATING
    assert latest.history_change_reason == "stage proposed → validating"


def test_ownership_confirmation_is_recorded(ann):
    anns_person = PersonFactory(email=ann.email)
    decision = DecisionFactory(owner=anns_person, owner_confirmed_on=LONG_AGO)
    use_case = UseCaseFactory(business_owner=anns_person, business_owner_confirmed_on=LONG_AGO)

    confirm_decision_ownership(decision=decision, actor=ann, on=TODAY)
    confirm_use_case_ownership(use_case=use_case, actor=ann, on=TODAY)

    assert decision.history.latest().history_change_reason == "owner confirmed"
    assert decision.history.latest().owner_confirmed_on == TODAY
    assert use_case.history.latest().history_user == ann
    assert use_case.history.latest().business_owner_confirmed_on == TODAY


# --- owners' confirmation clock ----------------------------------------------------------


def test_new_decision_owner_starts_the_confirmation_clock(ann):
    decision = DecisionFactory(owner_confirmed_on=LONG_AGO)

    decision.owner = PersonFactory()
    save_decision(decision=decision, actor=ann, on=TODAY)

    decision.refresh_from_db()
    assert decision.owner_confirmed_on == TODAY


def test_editing_a_decision_keeps_its_owners_confirmation(ann):
    decision = DecisionFactory(owner_confirmed_on=LONG_AGO)

    decision.statement = "Which invoices are paid early today?"
    save_decision(decision=decision, actor=ann, on=TODAY)

    decision.refresh_from_db()
    assert decision.owner_confirmed_on == LONG_AGO


def test_new_decision_with_an_owner_starts_the_clock(ann):
    unit = BusinessUnitFactory()
    decision = Decision(statement="Which claims are fast-tracked?", business_unit=unit, owner=PersonFactory())

    save_decision(decision=decision, actor=ann, on=TODAY)

    assert Decision.objects.get().owner_confirmed_on == TODAY


@pytest.mark.parametrize("role", ["business", "technical"])
def test_new_use_case_owner_starts_the_confirmation_clock(role, ann):
    use_case = UseCaseFactory(business_owner_confirmed_on=LONG_AGO, technical_owner_confirmed_on=LONG_AGO)
    other = "technical" if role == "business" else "business"

    setattr(use_case, f"{role}_owner", PersonFactory())
    edit_use_case(use_case=use_case, actor=ann, on=TODAY)

    use_case.refresh_from_db()
    assert getattr(use_case, f"{role}_owner_confirmed_on") == TODAY
    assert getattr(use_case, f"{other}_owner_confirmed_on") == LONG_AGO


def test_editing_a_use_case_keeps_its_owners_confirmation(ann):
    use_case = UseCaseFactory(business_owner_confirmed_on=LONG_AGO, technical_owner_confirmed_on=LONG_AGO)

    use_case.summary = "Ranks invoices by early-payment value."
    edit_use_case(use_case=use_case, actor=ann, on=TODAY)

    use_case.refresh_from_db()
    assert (use_case.business_owner_confirmed_on, use_case.technical_owner_confirmed_on) == (LONG_AGO, LONG_AGO)


def test_registering_a_use_case_starts_its_owners_clocks(ann):
    decision = DecisionFactory()
    registered_at = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)

    use_case = register_use_case(
        use_case=UseCase(
            decision=decision,
            business_unit=decision.business_unit,
            title="Claims triage",
            business_owner=PersonFactory(),
        ),
        actor=ann,
        on=registered_at,
    )

    assert use_case.business_owner_confirmed_on == TODAY
    assert use_case.technical_owner_confirmed_on is None


# --- edits and versions ------------------------------------------------------------------


def test_edit_bumps_version_by_one(ann):
    use_case = UseCaseFactory()

    use_case.capability = "document data extraction"
    edited = edit_use_case(use_case=use_case, actor=ann, expected_version=1)

    use_case.refresh_from_db()
    assert edited.version == use_case.version == 2


def test_edit_with_stale_version_is_refused_and_writes_nothing(ann):
    # given: Ann and Bob both read version 1; Bob saves first
    use_case = UseCaseFactory(title="Churn offers")
    anns_copy = UseCase.objects.get(pk=use_case.pk)
    bobs_copy = UseCase.objects.get(pk=use_case.pk)
    bobs_copy.title = "Bob's title"
    edit_use_case(use_case=bobs_copy, actor=UserFactory(username="bob", groups=["program_office"]), expected_version=1)
    history_before = use_case.history.count()

    # when
    anns_copy.title = "Ann's title"
    with pytest.raises(StaleVersion) as stale:
        edit_use_case(use_case=anns_copy, actor=ann, expected_version=1)

    # then
    assert "Reload" in str(stale.value)
    use_case.refresh_from_db()
    assert use_case.title == "Bob's title"
    assert use_case.version == 2
    assert use_case.history.count() == history_before


def test_decision_saved_with_stale_version_is_refused_and_writes_nothing(ann):
    # given: Ann and Bob both read version 1 of a decision; Bob saves first
    decision = DecisionFactory(statement="Which claims are fast-tracked?")
    anns_copy = Decision.objects.get(pk=decision.pk)
    bobs_copy = Decision.objects.get(pk=decision.pk)
    bobs_copy.statement = "Which claims are fast-tracked today?"
    save_decision(decision=bobs_copy, actor=UserFactory(username="bob", groups=["program_office"]), expected_version=1)
    history_before = decision.history.count()

    # when
    anns_copy.statement = "Which claims are paid at once?"
    with pytest.raises(StaleVersion) as stale:
        save_decision(decision=anns_copy, actor=ann, expected_version=1)

    # then
    assert "Reload" in str(stale.value)
    decision.refresh_from_db()
    assert decision.statement == "Which claims are fast-tracked today?"
    assert decision.version == 2
    assert decision.history.count() == history_before


def test_confirming_ownership_bumps_the_version_so_stale_copies_are_refused(ann):
    # given
    anns_person = PersonFactory(email=ann.email)
    use_case = UseCaseFactory(business_owner=anns_person, decision=DecisionFactory(owner=anns_person))
    decision = use_case.decision

    # when
    confirm_decision_ownership(decision=decision, actor=ann)
    confirm_use_case_ownership(use_case=use_case, actor=ann)

    # then
    assert Decision.objects.get(pk=decision.pk).version == 2
    assert UseCase.objects.get(pk=use_case.pk).version == 2


def test_adding_a_kpi_is_recorded_and_bumps_the_use_case_version(ann):
    # given
    use_case = UseCaseFactory()

    # when
    kpi = add_kpi(kpi=KPI(use_case=use_case, name="Churn rate", unit="%", baseline=Decimal("4.1")), actor=ann)

    # then
    assert UseCase.objects.get(pk=use_case.pk).version == 2
    assert kpi.history.get().history_user == ann
    assert use_case.history.first().history_change_reason == "KPI added: Churn rate"


@pytest.mark.parametrize("name, message", [
    ("   ", "This field cannot be blank"),
    ("churn RATE", "already has a KPI named"),
])
def test_a_kpi_with_a_blank_or_taken_name_is_refused_and_writes_nothing(ann, name, message):
    # given
    use_case = UseCaseFactory()
    add_kpi(kpi=KPI(use_case=use_case, name="Churn rate"), actor=ann)

    # when
    with pytest.raises(InvalidInput) as refused:
        add_kpi(kpi=KPI(use_case=use_case, name=name), actor=ann)

    # then
    assert "name" in refused.value.errors and message in str(refused.value)
    assert use_case.kpis.count() == 1
    assert UseCase.objects.get(pk=use_case.pk).version == 2


def test_add_kpi_refuses_a_kpi_without_a_use_case_or_one_that_exists(ann):
    with pytest.raises(InvalidInput) as refused:
        add_kpi(kpi=KPI(name="Churn rate"), actor=ann)
    assert "use_case" in refused.value.errors
    existing = add_kpi(kpi=KPI(use_case=UseCaseFactory(), name="Churn rate"), actor=ann)
    with pytest.raises(Refused, match="exists already"):
        add_kpi(kpi=existing, actor=ann)


def test_edit_never_changes_stage_even_if_the_caller_set_it(ann):
    # given
    use_case = UseCaseFactory()
    entered_on = use_case.stage_entered_on

    # when
    use_case.stage = Stage.PRODUCTION
    use_case.stage_entered_on = LONG_AGO
    edit_use_case(use_case=use_case, actor=ann)

    # then
    use_case.refresh_from_db()
    assert use_case.stage == Stage.PROPOSED
    assert use_case.stage_entered_on == entered_on
    assert not StageTransition.objects.filter(use_case=use_case).exists()
    assert use_case.history.latest().stage == Stage.PROPOSED


def test_edit_keeps_the_stage_a_concurrent_move_set(ann):
    # given: Ann opened the use case, then it moved to validating
    use_case = ProductionReadyUseCaseFactory()
    anns_copy = UseCase.objects.get(pk=use_case.pk)
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)

    # when: Ann saves her edit without a version check
    anns_copy.summary = "Updated summary"
    edit_use_case(use_case=anns_copy, actor=ann)

    # then: the move is not undone
    use_case.refresh_from_db()
    assert use_case.stage == Stage.VALIDATING
    assert use_case.summary == "Updated summary"
    assert use_case.version == 3


# --- the admin records the signed-in user ------------------------------------------------


def _admin_change(client, obj, **changes):
    url = reverse(f"admin:registry_{obj._meta.model_name}_change", args=[obj.pk])
    data = form_data(client.get(url))
    data.update(changes)
    return client.post(url, data)


def test_admin_edit_of_a_person_records_the_signed_in_user(client, ann):
    person = PersonFactory(name="Ann Le")
    client.force_login(ann)

    response = _admin_change(client, person, name="Ann Lee")

    assert response.status_code == 302
    latest = Person.objects.get(pk=person.pk).history.latest()
    assert (latest.name, latest.history_user) == ("Ann Lee", ann)


def test_admin_edit_of_a_decision_records_the_signed_in_user(client, ann):
    decision = DecisionFactory(execution_point="")
    client.force_login(ann)

    response = _admin_change(client, decision, execution_point="CRM offer queue")

    assert response.status_code == 302
    assert decision.history.latest().history_user == ann


def test_admin_edit_of_a_use_case_records_the_signed_in_user(client, ann):
    use_case = UseCaseFactory(title="Churn offers")
    client.force_login(ann)

    response = _admin_change(client, use_case, title="Churn retention offers")

    assert response.status_code == 302
    latest = use_case.history.latest()
    assert (latest.title, latest.version, latest.history_user) == ("Churn retention offers", 2, ann)


def test_admin_new_owner_starts_the_confirmation_clock(client, ann):
    use_case = UseCaseFactory(business_owner_confirmed_on=LONG_AGO)
    client.force_login(ann)

    _admin_change(client, use_case, business_owner=PersonFactory().pk)

    use_case.refresh_from_db()
    assert use_case.business_owner_confirmed_on == timezone.localdate()


def test_admin_refuses_to_save_a_decision_over_someone_elses_newer_edit(client, ann):
    # given: Ann opened the decision at version 1; Bob then saved it
    decision = DecisionFactory(statement="Which claims are fast-tracked?")
    client.force_login(ann)
    url = reverse("admin:registry_decision_change", args=[decision.pk])
    page = client.get(url)
    assert page.content.decode().count('name="expected_version"') == 1
    anns_form = form_data(page)
    bobs_copy = Decision.objects.get(pk=decision.pk)
    bobs_copy.statement = "Which claims are fast-tracked today?"
    save_decision(decision=bobs_copy, actor=UserFactory(username="bob", groups=["program_office"]))

    # when
    anns_form["statement"] = "Which claims are paid at once?"
    response = client.post(url, anns_form)

    # then: Ann is told, and Bob's edit stands
    assert response.status_code == 200
    assert "Someone changed this decision since you opened it" in response.content.decode()
    decision.refresh_from_db()
    assert (decision.statement, decision.version) == ("Which claims are fast-tracked today?", 2)


def test_admin_refuses_to_save_over_someone_elses_newer_edit(client, ann):
    # given: Ann opened the form at version 1; Bob then saved
    use_case = UseCaseFactory(title="Churn offers")
    client.force_login(ann)
    url = reverse("admin:registry_usecase_change", args=[use_case.pk])
    anns_form = form_data(client.get(url))
    bobs_copy = UseCase.objects.get(pk=use_case.pk)
    bobs_copy.title = "Bob's title"
    edit_use_case(use_case=bobs_copy, actor=UserFactory(username="bob", groups=["program_office"]))

    # when
    anns_form["title"] = "Ann's title"
    response = client.post(url, anns_form)

    # then: Ann is told, and Bob's edit stands
    assert response.status_code == 200
    assert "Someone changed this use case since you opened it" in response.content.decode()
    use_case.refresh_from_db()
    assert (use_case.title, use_case.version) == ("Bob's title", 2)


def test_admin_kpi_observation_records_the_signed_in_user(client, ann):
    kpi = KPIFactory()
    client.force_login(ann)
    url = reverse("admin:registry_kpiobservation_add")
    data = form_data(client.get(url))
    data.update(kpi=kpi.pk, observed_on="2026-03-02", value="0.25", source="product")

    response = client.post(url, data)

    assert response.status_code == 302
    observation = KPIObservation.objects.get(kpi=kpi)
    assert observation.recorded_by == ann
    assert observation.history.get().history_user == ann


# --- the admin history page --------------------------------------------------------------


def test_use_case_history_page_lists_every_change_with_who_made_it(client, ann, auditor_user):
    # given: registered, edited by Ann, moved by Bob
    use_case = UseCaseFactory(title="Churn offers")
    use_case.title = "Churn retention offers"
    edit_use_case(use_case=use_case, actor=ann)
    bob = UserFactory(username="bob", groups=["program_office"])
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=bob)

    # when: an auditor opens the history
    client.force_login(auditor_user)
    response = client.get(reverse("admin:registry_usecase_history", args=[use_case.pk]))

    # then
    assert response.status_code == 200
    page = response.content.decode()
    assert "3 entries" in page
    assert "Churn offers" in page and "Churn retention offers" in page
    assert ">ann<" in page and ">bob<" in page
    assert "stage proposed → validating" in page


def test_decision_history_page_shows_the_owner_change(client, ann):
    decision = DecisionFactory(owner=PersonFactory(email="old.owner@example.com"))
    decision.owner = PersonFactory(email="new.owner@example.com")
    save_decision(decision=decision, actor=ann)
    client.force_login(ann)

    response = client.get(reverse("admin:registry_decision_history", args=[decision.pk]))

    page = response.content.decode()
    assert "old.owner@example.com" in page and "new.owner@example.com" in page


def test_removing_an_owner_clears_their_confirmation(ann):
    use_case = UseCaseFactory(technical_owner_confirmed_on=LONG_AGO)
    decision = use_case.decision

    use_case.technical_owner = None
    edit_use_case(use_case=use_case, actor=ann, on=TODAY)
    decision.owner = None
    save_decision(decision=decision, actor=ann, on=TODAY)

    use_case.refresh_from_db()
    decision.refresh_from_db()
    assert use_case.technical_owner_confirmed_on is None
    assert decision.owner_confirmed_on is None


def test_admin_save_racing_another_edit_is_refused_without_an_error_page(client, ann, monkeypatch):
    # given: Bob commits after Ann's form passed its version check, so the locked write
    # in the service finds a newer version
    use_case = UseCaseFactory(title="Churn offers")
    client.force_login(ann)
    url = reverse("admin:registry_usecase_change", args=[use_case.pk])
    anns_form = form_data(client.get(url))

    def bob_committed_first(*, use_case, expected_version, **kwargs):
        raise StaleVersion(use_case, expected_version)

    monkeypatch.setattr("registry.admin.edit_use_case", bob_committed_first)

    # when
    anns_form["title"] = "Ann's title"
    response = client.post(url, anns_form, follow=True)

    # then: Ann is back on the form with a message, nothing of hers was written
    assert response.status_code == 200
    assert "your edit was not saved" in response.content.decode()
    use_case.refresh_from_db()
    assert (use_case.title, use_case.version) == ("Churn offers", 1)
