"""The admin as each role meets it: real requests through Django's test client."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.services.lifecycle import move_use_case
from registry.models import (
    KPI,
    BusinessUnit,
    Decision,
    EUClassification,
    EUObligation,
    FrictionPoint,
    KPIObservation,
    OMBDetermination,
    Person,
    PracticeRecord,
    SignOff,
    Stage,
    StageTransition,
    UseCase,
    Waiver,
)
from registry.services.use_cases import edit_use_case
from tests.factories import (
    BusinessUnitFactory,
    DecisionFactory,
    InvestmentFactory,
    KPIFactory,
    PersonFactory,
    ProductionReadyUseCaseFactory,
    UseCaseFactory,
    UserFactory,
)
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)


def _friction_point():
    n = next(_serial)
    return FrictionPoint.objects.create(code=f"test_point_{n}", name=f"Test friction point {n}")


def _stage_transition():
    return StageTransition.objects.create(
        use_case=UseCaseFactory(), actor=UserFactory(), from_stage="", to_stage=Stage.PROPOSED, source="import"
    )


def _kpi_observation():
    return KPIObservation.objects.create(
        kpi=KPIFactory(),
        observed_on=datetime.date(2026, 1, 1) + datetime.timedelta(days=next(_serial)),
        value=Decimal("0.2"),
        recorded_by=UserFactory(),
    )


def _determination():
    return OMBDetermination.objects.create(use_case=UseCaseFactory(), is_high_impact="high_impact")


def _practice():
    return PracticeRecord.objects.create(use_case=UseCaseFactory(), practice="testing_conducted", status="in_progress")


def _waiver():
    return Waiver.objects.create(use_case=UseCaseFactory(), practice="appeal_process", justification="No appeal yet.",
                                 granted_on=datetime.date(2026, 1, 1), expires_on=datetime.date(2027, 1, 1))


def _eu_classification():
    return EUClassification.objects.create(use_case=UseCaseFactory(), role="deployer", risk_class="minimal",
                                           rationale="Spell checker.")


def _eu_obligation():
    n = next(_serial)
    return EUObligation.objects.create(code=f"test-obligation-{n}", title=f"Obligation {n}", article="Art. 4",
                                       roles=["deployer"], risk_classes=["minimal"], applies_from=datetime.date(2026, 8, 2))


def _sign_off():
    return SignOff.objects.create(use_case=UseCaseFactory(), stage="pilot", outcome="approved", signed_by=UserFactory(),
                                  gate_fingerprint="test")


# One row maker per registry model in the admin. A new model fails the tests below until it
# gets one, so every model the admin shows is covered by the role and query-count tests.
ROW_MAKERS = {
    "businessunit": BusinessUnitFactory,
    "person": PersonFactory,
    "frictionpoint": _friction_point,
    "decision": DecisionFactory,
    "usecase": UseCaseFactory,
    "stagetransition": _stage_transition,
    "kpi": KPIFactory,
    "investment": InvestmentFactory,
    "kpiobservation": _kpi_observation,
    "ombdetermination": _determination,
    "practicerecord": _practice,
    "waiver": _waiver,
    "euclassification": _eu_classification,
    "euobligation": _eu_obligation,
    "signoff": _sign_off,
}

REGISTRY_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label == "registry"),
    key=lambda model: model._meta.model_name,
)
MODEL_IDS = [model._meta.model_name for model in REGISTRY_MODELS]


def make_row(model):
    name = model._meta.model_name
    assert name in ROW_MAKERS, f"add a row maker for the admin's new model {name} to ROW_MAKERS"
    return ROW_MAKERS[name]()


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_data(response) -> dict:
    """What a browser sends back when the user saves an admin form without changing it."""
    forms = [response.context["adminform"].form]
    for inline in response.context.get("inline_admin_formsets", []):
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data = {}
    for form in forms:
        for name in form.fields:
            bound = form[name]
            value = bound.value()
            if value is None or value is False:
                continue
            if value is True:
                data[bound.html_name] = "on"
            elif isinstance(value, (list, tuple)):
                data[bound.html_name] = [str(v) for v in value]
            else:
                data[bound.html_name] = str(value)
    return data


def snapshot():
    """Every registry row and every historical row, to prove a refused request wrote nothing."""
    rows = {}
    for model in REGISTRY_MODELS:
        rows[model._meta.model_name] = list(model.objects.order_by("pk").values())
        history = getattr(model, "history", None)
        if history is not None:
            rows[f"history of {model._meta.model_name}"] = history.count()
    rows["use case friction points"] = list(UseCase.friction_points.through.objects.order_by("pk").values())
    rows["admin log"] = LogEntry.objects.count()
    return rows


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def auditor_client(client, auditor_user):
    client.force_login(auditor_user)
    return client


# --- the role groups ---------------------------------------------------------------------


def test_migration_creates_the_three_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {"program_office", "business_owner", "auditor"}


def test_auditor_group_may_only_view():
    codenames = set(Group.objects.get(name="auditor").permissions.values_list("codename", flat=True))

    assert codenames
    assert all(codename.startswith("view_") for codename in codenames)
    assert {f"view_{name}" for name in MODEL_IDS} <= codenames


def test_program_office_group_may_add_and_change_the_registry():
    codenames = set(Group.objects.get(name="program_office").permissions.values_list("codename", flat=True))

    for name in ["businessunit", "person", "decision", "usecase", "kpi", "kpiobservation"]:
        assert {f"add_{name}", f"change_{name}", f"view_{name}"} <= codenames


# --- auditors see everything -------------------------------------------------------------


def test_admin_index_lists_every_registry_model_for_auditor(auditor_client):
    response = auditor_client.get(reverse("admin:index"))

    assert response.status_code == 200
    for model in REGISTRY_MODELS:
        assert admin_url(model, "changelist") in response.content.decode()


@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=MODEL_IDS)
def test_auditor_can_browse_changelist_and_object(model, auditor_client):
    obj = make_row(model)

    changelist = auditor_client.get(admin_url(model, "changelist"))
    change = auditor_client.get(admin_url(model, "change", obj.pk))

    assert changelist.status_code == 200
    assert change.status_code == 200
    # Shown read-only: no save buttons.
    assert 'name="_save"' not in change.content.decode()


@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=MODEL_IDS)
def test_auditor_can_browse_history_of_every_model(model, auditor_client):
    obj = make_row(model)

    response = auditor_client.get(admin_url(model, "history", obj.pk))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "model", [m for m in REGISTRY_MODELS if hasattr(m, "history")], ids=lambda m: m._meta.model_name
)
def test_auditor_can_read_a_past_version(model, auditor_client, superuser):
    obj = make_row(model)
    first = obj.history.earliest()
    _edited(model, obj, superuser)

    response = auditor_client.get(admin_url(model, "simple_history", obj.pk, first.history_id))

    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()


def test_auditor_reads_the_old_title_of_a_use_case(auditor_client, superuser):
    use_case = UseCaseFactory(title="Old title")
    first = use_case.history.earliest()
    use_case.title = "New title"
    edit_use_case(use_case=use_case, actor=superuser)

    response = auditor_client.get(admin_url(UseCase, "simple_history", use_case.pk, first.history_id))

    assert response.status_code == 200
    assert "Old title" in response.content.decode()


# --- auditors change nothing -------------------------------------------------------------


@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=MODEL_IDS)
def test_auditor_is_refused_every_add(model, auditor_client):
    make_row(model)
    before = snapshot()

    get = auditor_client.get(admin_url(model, "add"))
    post = auditor_client.post(admin_url(model, "add"), {"name": "Sneaky", "email": "sneaky@example.com"})

    assert get.status_code == 403
    assert post.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=MODEL_IDS)
def test_auditor_is_refused_every_change(model, client, auditor_user, superuser):
    # given: the form exactly as someone allowed to save it would send it
    obj = make_row(model)
    client.force_login(superuser)
    data = form_data(client.get(admin_url(model, "change", obj.pk)))
    before = snapshot()

    # when
    client.force_login(auditor_user)
    response = client.post(admin_url(model, "change", obj.pk), data)

    # then
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=MODEL_IDS)
def test_auditor_is_refused_every_delete(model, auditor_client):
    obj = make_row(model)
    before = snapshot()

    get = auditor_client.get(admin_url(model, "delete", obj.pk))
    post = auditor_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"})

    assert get.status_code == 403
    assert post.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=MODEL_IDS)
def test_auditor_is_offered_no_bulk_action(model, auditor_client):
    make_row(model)

    response = auditor_client.get(admin_url(model, "changelist"))

    assert response.status_code == 200
    assert 'name="action"' not in response.content.decode()


def _actions_offered_to(user, model) -> list[str]:
    request = RequestFactory().get(admin_url(model, "changelist"))
    request.user = user
    return list(admin.site._registry[model].get_actions(request))


def test_use_cases_offer_the_move_action_to_those_who_may_change_them(superuser, auditor_user):
    assert "move_to_next_stage" in _actions_offered_to(superuser, UseCase)
    assert _actions_offered_to(auditor_user, UseCase) == []


@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=MODEL_IDS)
def test_auditor_cannot_run_any_admin_action(model, auditor_client, auditor_user, superuser):
    # given: for use cases, one that is ready to move; every action a superuser would see
    obj = ProductionReadyUseCaseFactory() if model is UseCase else make_row(model)
    actions = {"delete_selected", *_actions_offered_to(superuser, model)}
    before = snapshot()

    for action in sorted(actions):
        # when
        response = auditor_client.post(
            admin_url(model, "changelist"), {"action": action, "_selected_action": [obj.pk], "index": 0, "post": "yes"}
        )

        # then: auditors have no actions, so Django ignores the POST and shows the list again
        assert response.status_code == 200, action
        assert 'name="action"' not in response.content.decode()
        assert snapshot() == before, action


def _edited(model, obj, superuser):
    """Give `obj` a second version, edited the way its admin edits it."""
    if model is UseCase:
        obj.title = "New title"
        return edit_use_case(use_case=obj, actor=superuser)
    obj._history_user = superuser
    obj.save()
    return obj


@pytest.mark.parametrize(
    "model", [m for m in REGISTRY_MODELS if hasattr(m, "history")], ids=lambda m: m._meta.model_name
)
def test_auditor_cannot_revert_from_history(model, client, auditor_user, superuser):
    # given: an object with two versions, and the past version's form as the page shows it
    obj = make_row(model)
    past = obj.history.earliest()
    _edited(model, obj, superuser)
    url = admin_url(model, "simple_history", obj.pk, past.history_id)
    client.force_login(superuser)
    data = form_data(client.get(url))
    before = snapshot()

    # when: the auditor posts it back
    client.force_login(auditor_user)
    response = client.post(url, data)

    # then
    assert response.status_code == 403
    assert snapshot() == before


def test_auditor_cannot_revert_a_use_case_to_an_old_title(client, auditor_user, superuser):
    # given
    use_case = UseCaseFactory(title="Old title")
    first = use_case.history.earliest()
    use_case.title = "New title"
    edit_use_case(use_case=use_case, actor=superuser)
    url = admin_url(UseCase, "simple_history", use_case.pk, first.history_id)
    client.force_login(superuser)
    data = form_data(client.get(url))

    # when
    client.force_login(auditor_user)
    response = client.post(url, data)

    # then
    assert response.status_code == 403
    use_case.refresh_from_db()
    assert use_case.title == "New title"
    assert use_case.version == 2


def test_nobody_reverts_from_history(client, superuser):
    # History is browsed, never reverted: a revert would bypass the services.
    use_case = UseCaseFactory(title="Old title")
    first = use_case.history.earliest()
    use_case.title = "New title"
    edit_use_case(use_case=use_case, actor=superuser)
    client.force_login(superuser)
    url = admin_url(UseCase, "simple_history", use_case.pk, first.history_id)
    data = form_data(client.get(url))

    response = client.post(url, data)

    assert response.status_code == 403
    use_case.refresh_from_db()
    assert use_case.title == "New title"


def test_auditor_who_also_holds_another_role_changes_nothing(client):
    user = UserFactory(username="both", groups=["auditor", "program_office"])
    client.force_login(user)
    unit = BusinessUnitFactory(name="Finance")

    response = client.post(admin_url(BusinessUnit, "change", unit.pk), {"name": "Treasury"})

    assert response.status_code == 403
    unit.refresh_from_db()
    assert unit.name == "Finance"


def test_past_versions_exist_only_for_models_that_keep_history(auditor_client):
    transition = _stage_transition()

    response = auditor_client.get(admin_url(StageTransition, "simple_history", transition.pk, 1))

    assert response.status_code == 404


# --- program office ----------------------------------------------------------------------


EDITABLE_BY_PROGRAM_OFFICE = ["businessunit", "decision", "euobligation", "kpi", "kpiobservation", "person", "usecase"]


@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=MODEL_IDS)
def test_program_office_saves_what_it_may_change_and_nothing_else(model, client, program_office_user, superuser):
    # given: the form exactly as the page shows it
    obj = make_row(model)
    client.force_login(superuser)
    data = form_data(client.get(admin_url(model, "change", obj.pk)))
    if model is EUObligation:
        data["reason"] = "The dates moved."  # the form asks why, as the service does
    client.force_login(program_office_user)

    # when
    response = client.post(admin_url(model, "change", obj.pk), data)

    # then: registry rows are saved; write-once rows and reference data are refused
    if model._meta.model_name in EDITABLE_BY_PROGRAM_OFFICE:
        assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    else:
        assert response.status_code == 403


def test_program_office_adds_a_business_unit(client, program_office_user):
    client.force_login(program_office_user)

    response = client.post(admin_url(BusinessUnit, "add"), {"name": "Claims"})

    assert response.status_code == 302
    unit = BusinessUnit.objects.get(name="Claims")
    assert unit.history.get().history_user == program_office_user


def test_program_office_adds_a_person_with_email_lower_cased(client, program_office_user):
    client.force_login(program_office_user)

    response = client.post(admin_url(Person, "add"), {"email": "Ann.Lee@Example.com", "name": "Ann Lee", "active": "on"})

    assert response.status_code == 302
    assert Person.objects.get().email == "ann.lee@example.com"


def test_program_office_registers_a_use_case_in_proposed(client, program_office_user):
    # given
    decision = DecisionFactory()
    client.force_login(program_office_user)
    data = form_data(client.get(admin_url(UseCase, "add")))
    data.update(
        title="Claims triage", decision=decision.pk, business_unit=decision.business_unit_id, data_readiness="none"
    )

    # when
    response = client.post(admin_url(UseCase, "add"), data)

    # then
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    use_case = UseCase.objects.get(title="Claims triage")
    assert use_case.stage == Stage.PROPOSED
    transition = use_case.transitions.get()
    assert (transition.from_stage, transition.to_stage, transition.actor) == ("", Stage.PROPOSED, program_office_user)


def test_program_office_changes_any_decision(client, program_office_user):
    decision = DecisionFactory(statement="Which claims are fast-tracked?")
    client.force_login(program_office_user)
    data = form_data(client.get(admin_url(Decision, "change", decision.pk)))
    data["statement"] = "Which claims are fast-tracked today?"

    response = client.post(admin_url(Decision, "change", decision.pk), data)

    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.statement == "Which claims are fast-tracked today?"


def test_program_office_edit_bumps_use_case_version_and_keeps_stage(client, program_office_user):
    use_case = ProductionReadyUseCaseFactory(title="Churn offers")
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)
    client.force_login(program_office_user)
    data = form_data(client.get(admin_url(UseCase, "change", use_case.pk)))
    data["title"] = "Churn retention offers"

    response = client.post(admin_url(UseCase, "change", use_case.pk), data)

    assert response.status_code == 302
    use_case.refresh_from_db()
    assert use_case.title == "Churn retention offers"
    assert use_case.stage == Stage.VALIDATING
    assert use_case.version == 3


# --- business owners ---------------------------------------------------------------------


@pytest.fixture
def owner_person(business_owner_user):
    return PersonFactory(email=business_owner_user.email)


def test_business_owner_changes_a_decision_they_own(client, business_owner_user, owner_person):
    decision = DecisionFactory(owner=owner_person, execution_point="")
    client.force_login(business_owner_user)
    data = form_data(client.get(admin_url(Decision, "change", decision.pk)))
    data["execution_point"] = "CRM offer queue"

    response = client.post(admin_url(Decision, "change", decision.pk), data)

    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.execution_point == "CRM offer queue"


def test_business_owner_cannot_change_someone_elses_decision(client, business_owner_user, owner_person, superuser):
    # given
    decision = DecisionFactory(execution_point="")
    client.force_login(superuser)
    data = form_data(client.get(admin_url(Decision, "change", decision.pk)))
    data["execution_point"] = "CRM offer queue"
    client.force_login(business_owner_user)

    # when
    view = client.get(admin_url(Decision, "change", decision.pk))
    response = client.post(admin_url(Decision, "change", decision.pk), data)

    # then: they may look, not save
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()
    assert response.status_code == 403
    decision.refresh_from_db()
    assert decision.execution_point == ""


def test_business_owner_changes_a_use_case_they_own(client, business_owner_user, owner_person):
    use_case = UseCaseFactory(business_owner=owner_person, monitoring_plan="")
    client.force_login(business_owner_user)
    data = form_data(client.get(admin_url(UseCase, "change", use_case.pk)))
    data["monitoring_plan"] = "Weekly drift report"

    response = client.post(admin_url(UseCase, "change", use_case.pk), data)

    assert response.status_code == 302
    use_case.refresh_from_db()
    assert use_case.monitoring_plan == "Weekly drift report"
    assert use_case.history.latest().history_user == business_owner_user


def test_business_owner_cannot_change_someone_elses_use_case(client, business_owner_user, owner_person, superuser):
    use_case = UseCaseFactory(monitoring_plan="")
    client.force_login(superuser)
    data = form_data(client.get(admin_url(UseCase, "change", use_case.pk)))
    data["monitoring_plan"] = "Weekly drift report"
    client.force_login(business_owner_user)

    response = client.post(admin_url(UseCase, "change", use_case.pk), data)

    assert response.status_code == 403
    use_case.refresh_from_db()
    assert use_case.monitoring_plan == ""
    assert use_case.version == 1


def test_business_owner_records_kpi_observations_on_their_use_case(client, business_owner_user, owner_person):
    kpi = KPIFactory(use_case__business_owner=owner_person)
    client.force_login(business_owner_user)
    data = form_data(client.get(admin_url(KPIObservation, "add")))
    data.update(kpi=kpi.pk, observed_on="2026-03-02", value="0.25", source="product")

    response = client.post(admin_url(KPIObservation, "add"), data)

    assert response.status_code == 302
    assert KPIObservation.objects.get().recorded_by == business_owner_user


def test_business_owner_cannot_record_kpi_observations_on_someone_elses_use_case(
    client, business_owner_user, owner_person
):
    kpi = KPIFactory()
    client.force_login(business_owner_user)
    data = form_data(client.get(admin_url(KPIObservation, "add")))
    data.update(kpi=kpi.pk, observed_on="2026-03-02", value="0.25", source="product")

    response = client.post(admin_url(KPIObservation, "add"), data)

    assert response.status_code == 403
    assert not KPIObservation.objects.exists()


def test_business_owner_cannot_add_a_kpi_to_someone_elses_use_case(client, business_owner_user, owner_person):
    # A KPI with baseline and target is what lets a pilot into production.
    use_case = ProductionReadyUseCaseFactory(kpi=None)
    client.force_login(business_owner_user)
    data = form_data(client.get(admin_url(KPI, "add")))
    data.update(use_case=use_case.pk, name="Churn rate", unit="%", direction="lower", baseline="0.12", target="0.08")

    response = client.post(admin_url(KPI, "add"), data)

    assert response.status_code == 403
    assert not use_case.kpis.exists()


def test_business_owner_adds_a_kpi_to_their_use_case(client, business_owner_user, owner_person):
    use_case = UseCaseFactory(business_owner=owner_person)
    client.force_login(business_owner_user)
    data = form_data(client.get(admin_url(KPI, "add")))
    data.update(use_case=use_case.pk, name="Churn rate", unit="%", direction="lower", baseline="0.12", target="0.08")

    response = client.post(admin_url(KPI, "add"), data)

    assert response.status_code == 302
    assert use_case.kpis.get().history.get().history_user == business_owner_user


def test_business_owner_without_directory_entry_changes_nothing(client, business_owner_user):
    decision = DecisionFactory()
    client.force_login(business_owner_user)

    response = client.post(admin_url(Decision, "change", decision.pk), {"statement": "Mine now?"})

    assert response.status_code == 403


def test_business_owner_cannot_move_someone_elses_use_case(client, business_owner_user, owner_person):
    use_case = ProductionReadyUseCaseFactory()
    client.force_login(business_owner_user)

    client.post(admin_url(UseCase, "changelist"), {"action": "move_to_next_stage", "_selected_action": [use_case.pk]})

    use_case.refresh_from_db()
    assert use_case.stage == Stage.PROPOSED
    assert not use_case.transitions.exists()


# --- the move_to_next_stage action -------------------------------------------------------


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_action_moves_a_ready_use_case_to_its_next_stage(client, program_office_user):
    # given
    use_case = ProductionReadyUseCaseFactory(title="Churn offers")
    client.force_login(program_office_user)

    # when
    response = client.post(
        admin_url(UseCase, "changelist"),
        {"action": "move_to_next_stage", "_selected_action": [use_case.pk]},
        follow=True,
    )

    # then
    use_case.refresh_from_db()
    assert use_case.stage == Stage.VALIDATING
    transition = use_case.transitions.get()
    assert transition.actor == program_office_user
    assert transition.source == "product"
    assert any("moved to validating" in message for message in _messages(response))


def test_action_reports_every_unmet_condition_and_moves_nothing(client, program_office_user):
    # given
    use_case = UseCaseFactory(decision__owner=None, decision__frequency="", decision__cost_of_error=None)
    client.force_login(program_office_user)

    # when
    response = client.post(
        admin_url(UseCase, "changelist"),
        {"action": "move_to_next_stage", "_selected_action": [use_case.pk]},
        follow=True,
    )

    # then
    use_case.refresh_from_db()
    assert use_case.stage == Stage.PROPOSED
    assert not use_case.transitions.exists()
    [message] = _messages(response)
    assert "no owner" in message and "no frequency" in message and "no cost of error" in message


def test_action_moves_the_ready_and_reports_the_rest(client, program_office_user):
    ready = ProductionReadyUseCaseFactory()
    not_ready = UseCaseFactory(decision__frequency="")
    client.force_login(program_office_user)

    client.post(
        admin_url(UseCase, "changelist"), {"action": "move_to_next_stage", "_selected_action": [ready.pk, not_ready.pk]}
    )

    ready.refresh_from_db()
    not_ready.refresh_from_db()
    assert (ready.stage, not_ready.stage) == (Stage.VALIDATING, Stage.PROPOSED)


# --- KPI observations --------------------------------------------------------------------


def test_correcting_an_observation_in_the_admin_changes_that_observation(client, program_office_user):
    # given
    kpi = KPIFactory()
    observation = KPIObservation.objects.create(kpi=kpi, observed_on=datetime.date(2026, 3, 2), value=Decimal("0.2"))
    client.force_login(program_office_user)
    url = admin_url(KPIObservation, "change", observation.pk)
    data = form_data(client.get(url))

    # when: the user corrects the value, and tries to move it to another day
    data.update(value="0.25", observed_on="2026-03-09", kpi=KPIFactory().pk)
    response = client.post(url, data)

    # then: one observation, same KPI and day, the new value
    assert response.status_code == 302
    observation.refresh_from_db()
    assert KPIObservation.objects.count() == 1
    assert (observation.kpi, observation.observed_on, observation.value) == (kpi, datetime.date(2026, 3, 2), Decimal("0.25"))
    assert observation.recorded_by == program_office_user


def test_observation_added_in_the_admin_is_logged_against_its_row(client, program_office_user):
    kpi = KPIFactory()
    client.force_login(program_office_user)
    data = form_data(client.get(admin_url(KPIObservation, "add")))
    data.update(kpi=kpi.pk, observed_on="2026-03-02", value="0.25", source="product")

    response = client.post(admin_url(KPIObservation, "add"), data, follow=True)

    observation = KPIObservation.objects.get()
    assert LogEntry.objects.get().object_id == str(observation.pk)
    assert admin_url(KPIObservation, "change", observation.pk) in response.content.decode()


# --- changelists have no N+1 -------------------------------------------------------------


def _changelist_queries(client, model) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.slow
@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=MODEL_IDS)
def test_changelist_query_count_does_not_grow_with_rows(model, client, program_office_user):
    # given
    client.force_login(program_office_user)
    for _ in range(2):
        make_row(model)
    _changelist_queries(client, model)  # warm caches (content types, sessions)
    with_few = _changelist_queries(client, model)

    # when
    for _ in range(18):
        make_row(model)
    with_many = _changelist_queries(client, model)

    # then
    assert with_many == with_few


def test_business_owner_cannot_register_a_decision_owned_by_someone_else(client, business_owner_user, owner_person):
    someone_else = PersonFactory()
    client.force_login(business_owner_user)
    data = form_data(client.get(admin_url(Decision, "add")))
    data.update(statement="Which claims are fast-tracked today?", business_unit=BusinessUnitFactory().pk,
                owner=someone_else.pk)

    response = client.post(admin_url(Decision, "add"), data)

    assert response.status_code == 403
    assert not Decision.objects.filter(statement="Which claims are fast-tracked today?").exists()


def test_business_owner_cannot_point_their_use_case_at_someone_elses_decision(client, business_owner_user, owner_person):
    use_case = UseCaseFactory(business_owner=owner_person, technical_owner=None)
    foreign_decision = DecisionFactory()
    client.force_login(business_owner_user)
    data = form_data(client.get(admin_url(UseCase, "change", use_case.pk)))
    data.update(decision=foreign_decision.pk, business_owner=PersonFactory().pk)

    response = client.post(admin_url(UseCase, "change", use_case.pk), data)

    assert response.status_code == 403
    use_case.refresh_from_db()
    assert use_case.business_owner == owner_person
