"""Gate sign-off with separation of duties: who may sign off, what a sign-off decides, and when a
later change to the gate conditions voids it."""

import datetime
from decimal import Decimal

import pytest

from core.actors import SystemActor
from core.errors import InvalidInput, NotAllowed, Refused
from registry.gates import MoveRefused, standing_sign_off
from registry.models import Readiness, SignOff, Stage, UseCase
from registry.selectors.determinations import approvers_for, needs_sign_off, waiting_for
from registry.selectors.gates import with_gate_facts
from registry.services.determinations import determine_high_impact, record_practice
from registry.services.kpis import edit_kpi
from registry.services.lifecycle import move_use_case
from registry.services.sign_offs import sign_off
from registry.services.use_cases import edit_use_case
from tests.factories import (
    TEST_ACTOR, BusinessUnitFactory, PersonFactory, ProductionReadyUseCaseFactory, UserFactory, gatekeeper, signed_off,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit():
    return BusinessUnitFactory(name="Claims")


@pytest.fixture
def use_case(unit):
    """In validating, ready for pilot but for the sign-off; owned by ann (business) and ted (technical)."""
    ready = ProductionReadyUseCaseFactory(
        decision__business_unit=unit, business_owner=PersonFactory(email="ann@example.com", business_unit=unit),
        technical_owner=PersonFactory(email="ted@example.com", business_unit=unit))
    return move_use_case(use_case=ready, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)


def login(username, *groups, unit=None):
    if unit is not None:
        PersonFactory(email=f"{username}@example.com", business_unit=unit)
    return UserFactory(username=username, groups=list(groups))


def fresh(use_case) -> UseCase:
    return with_gate_facts(UseCase.objects.select_related("decision", "business_owner", "technical_owner")).get(
        pk=use_case.pk)


def unmet(use_case, stage=Stage.PILOT) -> list[str]:
    with pytest.raises(MoveRefused) as refused:
        move_use_case(use_case=use_case, to_stage=stage, actor=TEST_ACTOR)
    return [c.code for c in refused.value.unmet]


# Who signs off -----------------------------------------------------------------------------------


@pytest.mark.parametrize("owner", ["ann", "ted"])
@pytest.mark.parametrize("role", ["program_office", "approver"])
def test_neither_owner_signs_off_their_own_use_case_whatever_their_role(owner, role, use_case):
    user = UserFactory(username=owner, groups=[role])
    with pytest.raises(NotAllowed) as refused:
        sign_off(use_case=use_case, stage=Stage.PILOT, outcome="approved", actor=user)
    assert "Separation of duties" in refused.value.message
    assert not SignOff.objects.exists()


def test_an_auditor_a_plain_business_owner_and_the_system_do_not_sign_off(use_case, unit):
    for actor in (login("audrey", "auditor"), login("bo", "business_owner", unit=unit), TEST_ACTOR,
                  SystemActor("import")):
        with pytest.raises(NotAllowed):
            sign_off(use_case=use_case, stage=Stage.PILOT, outcome="approved", actor=actor)
    assert not SignOff.objects.exists()


def test_an_approver_signs_off_the_use_cases_of_their_own_unit_only(use_case, unit):
    own_unit = login("amy", "approver", unit=unit)
    other_unit = login("otto", "approver", unit=BusinessUnitFactory(name="Logistics"))

    given = sign_off(use_case=use_case, stage=Stage.PILOT, outcome="approved", note="Data checked.", actor=own_unit)
    with pytest.raises(NotAllowed):
        sign_off(use_case=use_case, stage=Stage.PILOT, outcome="approved", actor=other_unit)

    assert (given.signed_by, given.stage, given.outcome, given.note) == (own_unit, "pilot", "approved", "Data checked.")
    assert [u.username for u in approvers_for(use_case)] == ["amy"]


def test_the_program_office_signs_off_any_unit(use_case):
    office = login("olga", "program_office")
    sign_off(use_case=use_case, stage=Stage.PILOT, outcome="approved", actor=office)
    assert move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR).stage == Stage.PILOT


@pytest.mark.parametrize(("fields", "named"), [
    ({"stage": "retired"}, "stage"), ({"stage": "validating"}, "stage"), ({"outcome": "yes"}, "outcome"),
    ({"outcome": None}, "outcome"), ({"note": 42}, "note"), ({"note": "x" * 5001}, "note"),
    ({"outcome": "changes_requested", "note": "  "}, "note"),
])
def test_a_garbage_sign_off_names_its_field_and_writes_nothing(fields, named, use_case):
    given = {"stage": "pilot", "outcome": "approved", "note": "", **fields}
    with pytest.raises(InvalidInput) as refused:
        sign_off(use_case=use_case, actor=gatekeeper(), **given)
    assert named in refused.value.errors
    assert not SignOff.objects.exists()


def test_only_the_next_stage_takes_a_sign_off(use_case):
    with pytest.raises(Refused):
        sign_off(use_case=use_case, stage=Stage.PRODUCTION, outcome="approved", actor=gatekeeper())


# What a sign-off decides -------------------------------------------------------------------------


def test_a_move_into_pilot_or_production_without_a_sign_off_is_refused_with_code_sign_off(use_case):
    assert unmet(use_case) == ["sign_off"]
    signed_off(use_case, Stage.PILOT)
    move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR)
    assert unmet(use_case, Stage.PRODUCTION) == ["sign_off"]


def test_changes_requested_is_a_sign_off_that_holds_the_gate_until_a_later_approval(use_case):
    signed_off(use_case, Stage.PILOT, outcome="changes_requested", note="Add the appeal route.")
    with pytest.raises(MoveRefused) as refused:
        move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR)
    assert "requested changes for pilot: Add the appeal route." in refused.value.unmet[0].message

    signed_off(use_case, Stage.PILOT, by=login("olga", "program_office"))
    assert move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR).stage == Stage.PILOT


def test_the_latest_sign_off_decides(use_case):
    signed_off(use_case, Stage.PILOT, on=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC))
    later = signed_off(use_case, Stage.PILOT, outcome="changes_requested", note="Wait for the DPIA.",
                       on=datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC))
    assert standing_sign_off(fresh(use_case), Stage.PILOT) == later
    assert unmet(use_case) == ["sign_off"]


# Stale sign-offs: a later change to the gate conditions voids them -------------------------------


def _edit(use_case, **fields):
    use_case = UseCase.objects.get(pk=use_case.pk)
    for name, value in fields.items():
        setattr(use_case, name, value)
    edit_use_case(use_case=use_case, actor=TEST_ACTOR)


@pytest.mark.parametrize("change", [
    {"data_readiness": Readiness.PARTIAL},
    {"monitoring_plan": "Daily drift report instead."},
    {"model_readiness": Readiness.PARTIAL},
])
def test_a_change_to_the_use_case_gate_conditions_voids_its_sign_off(change, use_case):
    signed_off(use_case, Stage.PILOT)
    _edit(use_case, **change)
    assert standing_sign_off(fresh(use_case), Stage.PILOT) is None
    assert unmet(use_case) == ["sign_off"]


def test_a_change_of_owner_voids_the_sign_off(use_case):
    signed_off(use_case, Stage.PILOT)
    _edit(use_case, technical_owner=PersonFactory())
    assert unmet(use_case) == ["sign_off"]


def test_a_change_to_a_kpi_the_decision_or_a_determination_voids_the_sign_off(use_case):
    signed_off(use_case, Stage.PILOT)
    kpi = use_case.kpis.get()
    kpi.target = Decimal("0.50")
    edit_kpi(kpi=kpi, actor=TEST_ACTOR)
    assert unmet(use_case) == ["sign_off"]

    signed_off(use_case, Stage.PILOT)
    use_case.decision.execution_point = "New claims portal"
    use_case.decision.save()
    assert unmet(use_case) == ["sign_off"]

    signed_off(use_case, Stage.PILOT)
    determine_high_impact(use_case=use_case, is_high_impact="not_high_impact", actor=TEST_ACTOR)
    assert unmet(use_case) == ["sign_off"]


def test_a_practice_status_change_voids_the_sign_off_but_its_evidence_wording_does_not(use_case):
    record_practice(use_case=use_case, practice="ongoing_monitoring", status="done", evidence_note="Dashboard.",
                    actor=TEST_ACTOR)
    signed_off(use_case, Stage.PILOT)
    record_practice(use_case=use_case, practice="ongoing_monitoring", status="done",
                    evidence_note="Dashboard, alerts to the on-call rota.", actor=TEST_ACTOR)
    assert standing_sign_off(fresh(use_case), Stage.PILOT) is not None
    record_practice(use_case=use_case, practice="ongoing_monitoring", status="in_progress", actor=TEST_ACTOR)
    assert standing_sign_off(fresh(use_case), Stage.PILOT) is None


def test_an_edit_outside_the_gate_conditions_keeps_the_sign_off(use_case):
    signed_off(use_case, Stage.PILOT)
    _edit(use_case, title="Claims triage v2", summary="Now also reads the attachments.")
    assert move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR).stage == Stage.PILOT


def test_a_sign_off_is_spent_by_the_move_and_going_back_needs_a_new_one(use_case):
    signed_off(use_case, Stage.PILOT)
    move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR)
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR, reason="Data gaps found.")
    assert unmet(use_case) == ["sign_off"]


# Who sees what waits -----------------------------------------------------------------------------


def test_the_owner_sees_the_pending_sign_off_and_the_approvers_what_waits_for_them(use_case, unit):
    amy = login("amy", "approver", unit=unit)
    otto = login("otto", "approver", unit=BusinessUnitFactory(name="Logistics"))
    ann = login("ann", "approver")  # the business owner: nothing of hers waits for her

    assert needs_sign_off(fresh(use_case)) == Stage.PILOT
    assert [uc.pk for uc in waiting_for(amy)] == [use_case.pk]
    assert waiting_for(otto) == [] and waiting_for(ann) == []

    sign_off(use_case=use_case, stage=Stage.PILOT, outcome="approved", actor=amy)
    assert needs_sign_off(fresh(use_case)) is None
    assert waiting_for(amy) == []
