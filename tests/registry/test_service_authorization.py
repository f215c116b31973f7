"""Every registry write service decides who may act, whoever calls it: refused actors get
NotAllowed and nothing is written. Called through the services, not the pages or the API."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from core.actors import SystemActor
from core.errors import InvalidInput, NotAllowed
from registry.models import KPI, BusinessUnit, Decision, KPIObservation, Person, Stage, StageTransition, UseCase
from registry.services.decisions import confirm_decision_ownership, save_decision
from registry.services.directory import business_unit_named, save_business_unit, save_person, upsert_person
from registry.services.kpis import add_kpi, edit_kpi, record_kpi_observation
from registry.services.lifecycle import move_use_case
from registry.services.use_cases import confirm_use_case_ownership, edit_use_case, register_use_case, state_decision
from tests.factories import (
    BusinessUnitFactory,
    DecisionFactory,
    KPIFactory,
    PersonFactory,
    UseCaseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor():
    return UserFactory(username="audrey", groups=["auditor"])


@pytest.fixture
def owner():
    """A business owner who owns nothing the tests act on (their person exists)."""
    user = UserFactory(username="olga", groups=["business_owner"])
    PersonFactory(email=user.email)
    return user


@pytest.fixture
def no_role():
    return UserFactory(username="nora")


@pytest.fixture
def refused(auditor, owner, no_role):
    return [auditor, owner, no_role, AnonymousUser(), None]


def _counts():
    return (BusinessUnit.objects.count(), Person.objects.count(), Decision.objects.count(), UseCase.objects.count(),
            KPI.objects.count(), KPIObservation.objects.count(), StageTransition.objects.count())


def assert_refused(call, actors):
    for actor in actors:
        before = _counts()
        with pytest.raises(NotAllowed):
            call(actor)
        assert _counts() == before, actor


def test_adding_a_business_unit_is_the_program_offices(refused):
    assert_refused(lambda actor: business_unit_named(name="Brand new unit", actor=actor), refused)
    assert_refused(lambda actor: save_business_unit(unit=BusinessUnit(name="Another new unit"), actor=actor), refused)


def test_the_directory_is_the_program_offices(refused):
    person = PersonFactory(name="Ada")
    assert_refused(lambda actor: upsert_person(email="new@example.com", name="New", actor=actor), refused)
    assert_refused(lambda actor: upsert_person(email=person.email, name="Someone else", actor=actor), refused)
    person.name = "Renamed"
    assert_refused(lambda actor: save_person(person=person, actor=actor), refused)
    person.refresh_from_db()
    assert (person.name, person.version) == ("Ada", 1)


def test_a_business_owner_cannot_register_or_edit_a_decision_someone_else_owns(refused, owner):
    unit, someone = BusinessUnitFactory(), PersonFactory()
    assert_refused(lambda actor: save_decision(
        decision=Decision(statement="Which claims are fast-tracked?", business_unit=unit, owner=someone),
        actor=actor), refused)
    theirs = DecisionFactory()
    theirs.statement = "Hijacked"
    assert_refused(lambda actor: save_decision(decision=theirs, actor=actor), refused)
    assert Decision.objects.get(pk=theirs.pk).version == 1


def test_a_business_owner_cannot_take_a_decision_by_naming_themselves_owner(owner):
    theirs = DecisionFactory()
    theirs.owner = Person.objects.get(email=owner.email)

    with pytest.raises(NotAllowed):
        save_decision(decision=theirs, actor=owner, expected_version=1)

    assert Decision.objects.get(pk=theirs.pk).owner_id != theirs.owner_id


def test_a_business_owner_cannot_give_their_decision_away(owner):
    mine = DecisionFactory(owner=Person.objects.get(email=owner.email))
    mine.owner = PersonFactory()

    with pytest.raises(NotAllowed):
        save_decision(decision=mine, actor=owner)

    assert Decision.objects.get(pk=mine.pk).owner.email == owner.email


def test_only_the_owner_confirms_a_decision(refused):
    decision = DecisionFactory(owner_confirmed_on=datetime.date(2025, 1, 1))
    assert_refused(lambda actor: confirm_decision_ownership(decision=decision, actor=actor), refused)
    office = UserFactory(username="office", groups=["program_office"])
    with pytest.raises(NotAllowed):
        confirm_decision_ownership(decision=decision, actor=office)
    assert Decision.objects.get(pk=decision.pk).owner_confirmed_on == datetime.date(2025, 1, 1)


def test_registering_a_use_case_someone_else_owns_is_refused(refused):
    decision = DecisionFactory()
    assert_refused(lambda actor: register_use_case(
        use_case=UseCase(decision=decision, business_unit=decision.business_unit, title="Not mine",
                         business_owner=decision.owner),
        actor=actor), refused)


def test_editing_a_use_case_someone_else_owns_is_refused(refused):
    use_case = UseCaseFactory(title="Theirs")
    use_case.title = "Mine now"
    assert_refused(lambda actor: edit_use_case(use_case=use_case, actor=actor), refused)
    assert UseCase.objects.get(pk=use_case.pk).title == "Theirs"


def test_a_business_owner_cannot_hand_their_use_case_away_and_keep_no_role(owner):
    person = Person.objects.get(email=owner.email)
    use_case = UseCaseFactory(business_owner=person, technical_owner=None)
    use_case.business_owner = PersonFactory()

    with pytest.raises(NotAllowed):
        edit_use_case(use_case=use_case, actor=owner)

    assert UseCase.objects.get(pk=use_case.pk).business_owner_id == person.pk


def test_only_an_owner_confirms_owning_a_use_case(refused):
    use_case = UseCaseFactory(business_owner_confirmed_on=datetime.date(2025, 1, 1))
    assert_refused(lambda actor: confirm_use_case_ownership(use_case=use_case, actor=actor), refused)
    assert UseCase.objects.get(pk=use_case.pk).version == 1


def test_a_login_cannot_confirm_for_someone_else():
    office = UserFactory(username="office", groups=["program_office"])
    PersonFactory(email=office.email)
    use_case = UseCaseFactory()

    with pytest.raises(NotAllowed):
        confirm_use_case_ownership(use_case=use_case, actor=office, person=use_case.business_owner)


def test_stating_the_decision_of_a_use_case_someone_else_owns_is_refused(refused):
    placeholder = DecisionFactory(is_defined=False, owner=None, statement="Not yet defined")
    use_case = UseCaseFactory(decision=placeholder, business_unit=placeholder.business_unit)
    assert_refused(lambda actor: state_decision(use_case=use_case, statement="Which claims first?", actor=actor),
                   refused)
    assert UseCase.objects.get(pk=use_case.pk).decision_id == placeholder.pk


def test_kpis_of_a_use_case_someone_else_owns_are_refused(refused):
    use_case = UseCaseFactory()
    assert_refused(lambda actor: add_kpi(kpi=KPI(use_case=use_case, name="Churn"), actor=actor), refused)
    kpi = KPIFactory(use_case=use_case, name="Churn rate")
    kpi.name = "Renamed"
    assert_refused(lambda actor: edit_kpi(kpi=kpi, actor=actor), refused)
    assert KPI.objects.get(pk=kpi.pk).name == "Churn rate"
    assert_refused(lambda actor: record_kpi_observation(
        kpi=kpi, observed_on=timezone.localdate(), value=Decimal("1"), actor=actor), refused)


def test_moving_a_use_case_someone_else_owns_is_refused(refused):
    use_case = UseCaseFactory()
    assert_refused(lambda actor: move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=actor), refused)
    assert UseCase.objects.get(pk=use_case.pk).stage == Stage.PROPOSED


def test_an_owner_may_do_all_of_it_on_what_they_own(owner):
    person = Person.objects.get(email=owner.email)
    decision = DecisionFactory(owner=person)
    use_case = register_use_case(use_case=UseCase(decision=decision, business_unit=decision.business_unit,
                                                  title="Mine", business_owner=person), actor=owner)
    kpi = add_kpi(kpi=KPI(use_case=use_case, name="Churn rate"), actor=owner)
    record_kpi_observation(kpi=kpi, observed_on=timezone.localdate(), value=Decimal("0.2"), actor=owner)
    confirm_use_case_ownership(use_case=use_case, actor=owner)
    confirm_decision_ownership(decision=decision, actor=owner)
    moved = move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=owner)

    assert moved.stage == Stage.VALIDATING and moved.version == 4  # the observation is no edit


def test_a_system_actor_acts_with_the_program_offices_rights():
    system = SystemActor("a nightly feed")
    person, created = upsert_person(email="feed@example.com", name="Fed", actor=system)

    assert created and person.history.get().history_user is None


def test_an_observation_in_the_future_is_refused_naming_the_field():
    kpi = KPIFactory()

    with pytest.raises(InvalidInput) as refused:
        record_kpi_observation(kpi=kpi, observed_on=timezone.localdate() + datetime.timedelta(days=1),
                               value=Decimal("1"), actor=SystemActor("tests"))

    assert "observed_on" in refused.value.errors
    assert not KPIObservation.objects.exists()


# Rules a business owner meets when she reaches beyond what she answers for ------------------


def test_a_business_owner_cannot_attach_her_use_case_to_another_units_decision(owner):
    person = Person.objects.get(email=owner.email)
    use_case = UseCaseFactory(business_owner=person, decision=DecisionFactory(owner=person))
    elsewhere = DecisionFactory()  # another owner's, in another unit
    use_case.decision = elsewhere

    with pytest.raises(NotAllowed, match="business unit"):
        edit_use_case(use_case=use_case, actor=owner)

    assert UseCase.objects.get(pk=use_case.pk).decision.owner_id == person.pk


def test_a_business_owner_may_attach_a_use_case_she_answers_for_to_a_decision_of_her_unit(owner):
    person = Person.objects.get(email=owner.email)
    use_case = UseCaseFactory(business_owner=person, decision=DecisionFactory(owner=person))
    colleagues = DecisionFactory(business_unit=person.business_unit)
    use_case.decision = colleagues

    edit_use_case(use_case=use_case, actor=owner)

    assert UseCase.objects.get(pk=use_case.pk).decision_id == colleagues.pk


def test_a_business_owner_cannot_register_under_someones_decision_naming_them_owner(owner):
    person = Person.objects.get(email=owner.email)
    theirs = DecisionFactory(business_unit=person.business_unit)

    with pytest.raises(NotAllowed):
        register_use_case(use_case=UseCase(decision=theirs, business_unit=theirs.business_unit, title="For them",
                                           business_owner=theirs.owner, technical_owner=person), actor=owner)

    assert not UseCase.objects.filter(title="For them").exists()


def test_a_business_owner_cannot_move_her_decision_to_another_unit(owner):
    person = Person.objects.get(email=owner.email)
    mine = DecisionFactory(owner=person)
    home_unit = mine.business_unit_id
    mine.business_unit = BusinessUnitFactory(name="Elsewhere")

    with pytest.raises(NotAllowed, match="another business unit"):
        save_decision(decision=mine, actor=owner)

    assert Decision.objects.get(pk=mine.pk).business_unit_id == home_unit


def test_the_program_office_moves_decisions_and_use_cases_between_units():
    office = UserFactory(username="office", groups=["program_office"])
    use_case = UseCaseFactory()
    elsewhere = BusinessUnitFactory(name="Elsewhere")
    decision = use_case.decision
    decision.business_unit = elsewhere
    save_decision(decision=decision, actor=office)
    use_case.business_unit = elsewhere
    edit_use_case(use_case=use_case, actor=office)

    assert UseCase.objects.get(pk=use_case.pk).business_unit_id == Decision.objects.get(pk=decision.pk).business_unit_id
