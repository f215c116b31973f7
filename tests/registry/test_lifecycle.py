"""Stages and gates: what an owner sees when moving a use case through its lifecycle."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from registry.gates import NEXT_STAGE, MoveRefused, next_stage_needs
from registry.services.lifecycle import move_use_case
from core.errors import StaleVersion
from registry.models import Readiness, Stage, StageTransition, TransitionSource, UseCase
from registry.models import SIGN_OFF_STAGES
from tests.factories import TEST_ACTOR, signed_off
from tests.factories import (
    KPIFactory,
    PersonFactory,
    ProductionReadyUseCaseFactory,
    UseCaseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

STAGES = [Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION, Stage.RETIRED]

# The transition table as a user knows it, written out rather than read from the code.
FORWARD = {
    ("proposed", "validating"),
    ("validating", "pilot"),
    ("pilot", "production"),
    ("proposed", "retired"),
    ("validating", "retired"),
    ("pilot", "retired"),
    ("production", "retired"),
}
BACKWARD = {
    ("validating", "proposed"),
    ("pilot", "validating"),
    ("production", "pilot"),
    ("retired", "proposed"),
}
ALLOWED = FORWARD | BACKWARD
ALL_PAIRS = [(a, b) for a, b in itertools.permutations(STAGES, 2)]
FORBIDDEN = sorted(set(ALL_PAIRS) - ALLOWED)

# How a ready use case reaches each stage in the product.
PATH_TO = {
    Stage.PROPOSED: [],
    Stage.VALIDATING: [Stage.VALIDATING],
    Stage.PILOT: [Stage.VALIDATING, Stage.PILOT],
    Stage.PRODUCTION: [Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION],
    Stage.RETIRED: [Stage.RETIRED],
}


@pytest.fixture
def owner(db):
    return UserFactory(username="ann", groups=["program_office"])


def walk_to(use_case: UseCase, stage: str, actor=TEST_ACTOR) -> UseCase:
    """Move `use_case` to `stage` through the real lifecycle, reasons given where needed."""
    for step in PATH_TO[stage]:
        if step in SIGN_OFF_STAGES:
            signed_off(use_case, step)
        use_case = move_use_case(use_case=use_case, to_stage=step, actor=actor, reason=f"ready for {step}")
    use_case.refresh_from_db()
    return use_case


def ready_use_case_in(stage: str, **overrides) -> UseCase:
    return walk_to(ProductionReadyUseCaseFactory(**overrides), stage)


def codes(refused: MoveRefused) -> set[str]:
    return {condition.code for condition in refused.unmet}


def assert_nothing_written(use_case: UseCase, *, stage: str, version: int, transitions: int):
    use_case.refresh_from_db()
    assert use_case.stage == stage
    assert use_case.version == version
    assert StageTransition.objects.filter(use_case=use_case).count() == transitions


def refuse(use_case: UseCase, to_stage: str, *, actor=TEST_ACTOR, reason: str = "") -> set[str]:
    """Attempt a move that must be refused; check nothing changed and return the unmet codes.

    The next stage is signed off first, so the codes are those of the rest of its gate."""
    use_case.refresh_from_db()
    if to_stage in SIGN_OFF_STAGES and NEXT_STAGE.get(use_case.stage) == to_stage:
        signed_off(use_case, to_stage)
    before = (use_case.stage, use_case.version, StageTransition.objects.filter(use_case=use_case).count())
    history_before = use_case.history.count()
    with pytest.raises(MoveRefused) as refused:
        move_use_case(use_case=use_case, to_stage=to_stage, actor=actor, reason=reason)
    assert_nothing_written(use_case, stage=before[0], version=before[1], transitions=before[2])
    assert use_case.history.count() == history_before
    return codes(refused.value)


# --- the transition table ----------------------------------------------------------------


def test_transition_table_covers_every_pair_of_stages():
    assert len(ALL_PAIRS) == 20
    assert len(ALLOWED) == 11
    assert len(FORBIDDEN) == 9


@pytest.mark.parametrize(("from_stage", "to_stage"), sorted(ALLOWED))
def test_allowed_move_succeeds_when_its_gate_is_met(from_stage, to_stage, owner):
    # given
    use_case = ready_use_case_in(from_stage)
    if (from_stage, to_stage) in FORWARD and to_stage in SIGN_OFF_STAGES:
        signed_off(use_case, to_stage)
    version = use_case.version

    # when
    moved = move_use_case(use_case=use_case, to_stage=to_stage, actor=owner, reason="evidence attached")

    # then
    use_case.refresh_from_db()
    assert moved.stage == use_case.stage == to_stage
    assert use_case.version == version + 1
    transition = use_case.transitions.first()
    assert (transition.from_stage, transition.to_stage) == (from_stage, to_stage)


@pytest.mark.parametrize(("from_stage", "to_stage"), FORBIDDEN)
def test_forbidden_move_is_refused_and_writes_nothing(from_stage, to_stage, owner):
    use_case = ready_use_case_in(from_stage)

    unmet = refuse(use_case, to_stage, actor=owner, reason="we insist")

    assert unmet == {"move_not_allowed"}


@pytest.mark.parametrize("stage", STAGES)
def test_moving_to_the_current_stage_is_refused(stage):
    use_case = ready_use_case_in(stage)

    assert refuse(use_case, stage, reason="again") == {"same_stage"}


def test_moving_to_an_unknown_stage_is_refused():
    use_case = UseCaseFactory()

    assert refuse(use_case, "launched", reason="because") == {"unknown_stage"}


def test_refusal_names_the_stages_in_its_message():
    use_case = UseCaseFactory()

    with pytest.raises(MoveRefused) as refused:
        move_use_case(use_case=use_case, to_stage=Stage.PRODUCTION, actor=TEST_ACTOR)

    assert "proposed" in str(refused.value) and "production" in str(refused.value)


@pytest.mark.parametrize(("from_stage", "to_stage"), sorted(BACKWARD))
@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_moving_back_needs_a_reason(from_stage, to_stage, reason):
    use_case = ready_use_case_in(from_stage)

    assert refuse(use_case, to_stage, reason=reason) == {"reason"}


@pytest.mark.parametrize("from_stage", [Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION])
def test_retiring_needs_a_reason(from_stage):
    use_case = ready_use_case_in(from_stage)

    assert refuse(use_case, Stage.RETIRED) == {"reason"}


@pytest.mark.parametrize("from_stage", [Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION])
def test_retiring_with_a_reason_succeeds_whatever_the_gates(from_stage):
    # given: a use case that meets no gate any more
    use_case = ready_use_case_in(from_stage)
    UseCase.objects.filter(pk=use_case.pk).update(business_owner=None, technical_owner=None, monitoring_plan="")

    # when
    move_use_case(use_case=use_case, to_stage=Stage.RETIRED, actor=TEST_ACTOR, reason="Vendor product replaces it")

    # then
    use_case.refresh_from_db()
    assert use_case.stage == Stage.RETIRED
    assert use_case.transitions.first().reason == "Vendor product replaces it"


def test_moving_back_does_not_check_the_gate_of_the_earlier_stage():
    # given: a pilot whose decision has since lost its owner (the validating gate is unmet)
    use_case = ready_use_case_in(Stage.PILOT)
    use_case.decision.owner = None
    use_case.decision.save()

    # when
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR, reason="Data was not what we thought")

    # then
    use_case.refresh_from_db()
    assert use_case.stage == Stage.VALIDATING


# --- gate: validating --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("owner", None, "decision_owner"),
        ("frequency", "", "decision_frequency"),
        ("cost_of_error", None, "decision_cost_of_error"),
    ],
)
def test_owner_cannot_move_to_validating_without_decision_basics(field, value, code):
    use_case = UseCaseFactory()
    setattr(use_case.decision, field, value)
    use_case.decision.save()

    assert refuse(use_case, Stage.VALIDATING) == {code}


def test_owner_moves_to_validating_when_the_decision_is_described():
    use_case = UseCaseFactory(decision__cost_of_error=Decimal("0"))

    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)

    use_case.refresh_from_db()
    assert use_case.stage == Stage.VALIDATING


def test_validating_refusal_lists_every_missing_decision_basic():
    use_case = UseCaseFactory(decision__owner=None, decision__frequency="", decision__cost_of_error=None)

    assert refuse(use_case, Stage.VALIDATING) == {"decision_owner", "decision_frequency", "decision_cost_of_error"}


def test_a_use_case_under_a_placeholder_must_state_its_decision_before_validating_or_pilot():
    # given: an imported use case, ready in every other respect, under its agency's placeholder
    use_case = ready_use_case_in(Stage.PROPOSED)
    placeholder = use_case.decision
    placeholder.is_defined, placeholder.owner, placeholder.frequency, placeholder.cost_of_error = False, None, "", None
    placeholder.save()

    # then: the gate asks for the decision, not for the placeholder's owner, frequency or cost
    assert refuse(use_case, Stage.VALIDATING) == {"decision_stated"}
    UseCase.objects.filter(pk=use_case.pk).update(stage=Stage.VALIDATING)
    use_case.refresh_from_db()
    assert refuse(use_case, Stage.PILOT) == {"decision_stated"}


# --- gate: pilot -------------------------------------------------------------------------


def test_owner_cannot_move_to_pilot_without_business_owner():
    use_case = ready_use_case_in(Stage.VALIDATING, business_owner=None)

    assert refuse(use_case, Stage.PILOT) == {"business_owner"}


@pytest.mark.parametrize("execution_point", ["", "   "], ids=["empty", "blank"])
def test_owner_cannot_move_to_pilot_without_execution_point(execution_point):
    use_case = ready_use_case_in(Stage.VALIDATING, decision__execution_point=execution_point)

    assert refuse(use_case, Stage.PILOT) == {"execution_point"}


@pytest.mark.parametrize("readiness", [Readiness.NONE, Readiness.PLANNED])
def test_owner_cannot_move_to_pilot_with_data_readiness_below_partial(readiness):
    use_case = ready_use_case_in(Stage.VALIDATING, data_readiness=readiness)

    assert refuse(use_case, Stage.PILOT) == {"data_readiness"}


@pytest.mark.parametrize("readiness", [Readiness.PARTIAL, Readiness.READY])
def test_owner_moves_to_pilot_with_partial_or_ready_data(readiness):
    use_case = ready_use_case_in(Stage.VALIDATING, data_readiness=readiness)

    signed_off(use_case, Stage.PILOT)
    move_use_case(use_case=use_case, to_stage=Stage.PILOT, actor=TEST_ACTOR)

    use_case.refresh_from_db()
    assert use_case.stage == Stage.PILOT


def test_pilot_refusal_lists_every_unmet_condition():
    use_case = ready_use_case_in(Stage.VALIDATING)
    UseCase.objects.filter(pk=use_case.pk).update(business_owner=None, data_readiness=Readiness.PLANNED)
    use_case.decision.execution_point = ""
    use_case.decision.save()

    assert refuse(use_case, Stage.PILOT) == {"business_owner", "execution_point", "data_readiness"}


# --- gate: production --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["business", "technical"])
def test_owner_cannot_move_to_production_without_both_owners(role):
    use_case = ready_use_case_in(Stage.PILOT)
    UseCase.objects.filter(pk=use_case.pk).update(**{f"{role}_owner": None})

    assert refuse(use_case, Stage.PRODUCTION) == {f"{role}_owner"}


@pytest.mark.parametrize("role", ["business", "technical"])
def test_owner_cannot_move_to_production_when_an_owner_has_left(role):
    use_case = ready_use_case_in(Stage.PILOT)
    person = getattr(use_case, f"{role}_owner")
    person.active = False
    person.save()
    signed_off(use_case, Stage.PRODUCTION)

    with pytest.raises(MoveRefused) as refused:
        move_use_case(use_case=use_case, to_stage=Stage.PRODUCTION, actor=TEST_ACTOR)

    assert codes(refused.value) == {f"{role}_owner_active"}
    assert person.email in str(refused.value)


def test_owner_cannot_move_pilot_without_kpi():
    use_case = ready_use_case_in(Stage.PILOT, kpi=None)

    assert refuse(use_case, Stage.PRODUCTION) == {"kpi"}


@pytest.mark.parametrize(
    ("baseline", "target"),
    [(Decimal("0.1"), None), (None, Decimal("0.3")), (None, None)],
    ids=["baseline_only", "target_only", "neither"],
)
def test_owner_cannot_move_pilot_with_kpi_lacking_baseline_or_target(baseline, target):
    use_case = ready_use_case_in(Stage.PILOT, kpi=None)
    KPIFactory(use_case=use_case, baseline=baseline, target=target)

    assert refuse(use_case, Stage.PRODUCTION) == {"kpi"}


def test_one_complete_kpi_among_incomplete_ones_is_enough_for_production():
    use_case = ready_use_case_in(Stage.PILOT, kpi=None)
    KPIFactory(use_case=use_case, baseline=Decimal("1"), target=None)
    KPIFactory(use_case=use_case, baseline=Decimal("0"), target=Decimal("0"))

    signed_off(use_case, Stage.PRODUCTION)
    move_use_case(use_case=use_case, to_stage=Stage.PRODUCTION, actor=TEST_ACTOR)

    use_case.refresh_from_db()
    assert use_case.stage == Stage.PRODUCTION


@pytest.mark.parametrize("layer", ["orchestration", "inference"])
@pytest.mark.parametrize("readiness", [Readiness.NONE, Readiness.PLANNED])
def test_owner_cannot_move_to_production_with_layer_below_partial(layer, readiness):
    use_case = ready_use_case_in(Stage.PILOT, **{f"{layer}_readiness": readiness})

    assert refuse(use_case, Stage.PRODUCTION) == {f"{layer}_readiness"}


@pytest.mark.parametrize("layer", ["orchestration", "inference"])
@pytest.mark.parametrize("readiness", [Readiness.PARTIAL, Readiness.READY])
def test_owner_moves_to_production_with_layer_partial_or_ready(layer, readiness):
    use_case = ready_use_case_in(Stage.PILOT, **{f"{layer}_readiness": readiness})

    signed_off(use_case, Stage.PRODUCTION)
    move_use_case(use_case=use_case, to_stage=Stage.PRODUCTION, actor=TEST_ACTOR)

    use_case.refresh_from_db()
    assert use_case.stage == Stage.PRODUCTION


@pytest.mark.parametrize("plan", ["", " \n "], ids=["empty", "blank"])
def test_owner_cannot_move_to_production_without_monitoring_plan(plan):
    use_case = ready_use_case_in(Stage.PILOT, monitoring_plan=plan)

    assert refuse(use_case, Stage.PRODUCTION) == {"monitoring_plan"}


def test_production_refusal_lists_every_unmet_condition_at_once():
    # given: a pilot that has since lost everything production needs
    use_case = ready_use_case_in(Stage.PILOT, kpi=None)
    UseCase.objects.filter(pk=use_case.pk).update(
        business_owner=None,
        technical_owner=None,
        orchestration_readiness=Readiness.NONE,
        inference_readiness=Readiness.PLANNED,
        monitoring_plan="",
    )

    # when / then
    assert refuse(use_case, Stage.PRODUCTION) == {
        "business_owner",
        "technical_owner",
        "kpi",
        "orchestration_readiness",
        "inference_readiness",
        "monitoring_plan",
    }


def test_production_refusal_names_both_departed_owners():
    use_case = ready_use_case_in(Stage.PILOT, kpi=None)
    UseCase.objects.filter(pk=use_case.pk).update(
        business_owner=PersonFactory(active=False), technical_owner=PersonFactory(active=False)
    )

    assert refuse(use_case, Stage.PRODUCTION) == {"business_owner_active", "technical_owner_active", "kpi"}


def test_owner_moves_ready_pilot_to_production():
    use_case = ready_use_case_in(Stage.PILOT)

    signed_off(use_case, Stage.PRODUCTION)
    move_use_case(use_case=use_case, to_stage=Stage.PRODUCTION, actor=TEST_ACTOR, reason="Capture rate up 9 points")

    use_case.refresh_from_db()
    assert use_case.stage == Stage.PRODUCTION


# --- the record of a move ----------------------------------------------------------------


@pytest.mark.parametrize("source", [TransitionSource.PRODUCT, TransitionSource.IMPORT, TransitionSource.API])
def test_move_records_who_when_where_from_and_why(source, owner):
    # given
    use_case = UseCaseFactory()
    moved_at = timezone.make_aware(datetime.datetime(2026, 2, 3, 10, 30))

    # when
    move_use_case(
        use_case=use_case,
        to_stage=Stage.VALIDATING,
        actor=owner,
        reason="  Decision owner signed off  ",
        source=source,
        on=moved_at,
    )

    # then
    transition = StageTransition.objects.get(use_case=use_case)
    assert transition.from_stage == Stage.PROPOSED
    assert transition.to_stage == Stage.VALIDATING
    assert transition.actor == owner
    assert transition.source == source
    assert transition.reason == "Decision owner signed off"
    assert transition.occurred_at == moved_at


def test_move_without_a_signed_in_user_records_no_actor():
    use_case = UseCaseFactory()

    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)

    assert StageTransition.objects.get(use_case=use_case).actor is None


def test_each_move_bumps_version_by_one_and_restarts_the_stage_clock():
    # given
    use_case = ProductionReadyUseCaseFactory()
    days = [datetime.date(2026, 1, 5), datetime.date(2026, 2, 9), datetime.date(2026, 4, 1)]

    for expected_version, (stage, day) in enumerate(
        zip([Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION], days), start=2
    ):
        if stage in SIGN_OFF_STAGES:
            signed_off(use_case, stage)
        # when
        move_use_case(
            use_case=use_case,
            to_stage=stage,
            actor=TEST_ACTOR,
            on=timezone.make_aware(datetime.datetime.combine(day, datetime.time(12))),
        )

        # then
        use_case.refresh_from_db()
        assert use_case.stage == stage
        assert use_case.version == expected_version
        assert use_case.stage_entered_on == day

    assert [t.to_stage for t in use_case.transitions.order_by("occurred_at")] == [
        Stage.VALIDATING,
        Stage.PILOT,
        Stage.PRODUCTION,
    ]


def test_move_returns_the_moved_use_case():
    use_case = UseCaseFactory()

    moved = move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)

    assert moved.pk == use_case.pk
    assert moved.stage == Stage.VALIDATING
    assert moved.version == 2


def test_move_with_stale_version_is_refused_and_writes_nothing():
    # given: Ann read version 1, then Bob moved it
    use_case = ready_use_case_in(Stage.PROPOSED)
    read_version = use_case.version
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)

    # when
    with pytest.raises(StaleVersion) as stale:
        move_use_case(use_case=use_case, to_stage=Stage.RETIRED, actor=TEST_ACTOR, reason="Obsolete", expected_version=read_version)

    # then
    assert "Reload" in str(stale.value)
    assert_nothing_written(use_case, stage=Stage.VALIDATING, version=read_version + 1, transitions=1)


def test_move_with_current_version_succeeds():
    use_case = UseCaseFactory()

    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR, expected_version=use_case.version)

    use_case.refresh_from_db()
    assert use_case.stage == Stage.VALIDATING


def test_stale_version_is_reported_before_the_gate():
    use_case = UseCaseFactory(decision__owner=None)

    with pytest.raises(StaleVersion):
        move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR, expected_version=7)

    assert_nothing_written(use_case, stage=Stage.PROPOSED, version=1, transitions=0)


def test_gate_is_judged_on_the_stored_use_case_not_the_callers_copy():
    # given: the caller's copy looks ready, but what is stored is not
    use_case = UseCaseFactory(decision__owner=None)
    use_case.decision.owner = PersonFactory()

    # when / then
    assert refuse(use_case, Stage.VALIDATING) == {"decision_owner"}


# --- what the next stage needs -----------------------------------------------------------


def test_next_stage_needs_lists_what_the_next_gate_lacks():
    use_case = UseCaseFactory(decision__frequency="", decision__cost_of_error=None)

    next_stage, unmet = next_stage_needs(use_case)

    assert next_stage == Stage.VALIDATING
    assert {c.code for c in unmet} == {"decision_frequency", "decision_cost_of_error"}
    assert all(c.message for c in unmet)


@pytest.mark.parametrize(
    ("stage", "expected_next"),
    [(Stage.PROPOSED, Stage.VALIDATING), (Stage.VALIDATING, Stage.PILOT), (Stage.PILOT, Stage.PRODUCTION)],
)
def test_next_stage_needs_nothing_for_a_ready_use_case(stage, expected_next):
    use_case = ready_use_case_in(stage)
    if expected_next in SIGN_OFF_STAGES:
        signed_off(use_case, expected_next)

    assert next_stage_needs(use_case) == (expected_next, [])


def test_next_stage_needs_production_gaps_for_a_pilot():
    use_case = ready_use_case_in(Stage.PILOT, kpi=None, monitoring_plan="")

    next_stage, unmet = next_stage_needs(use_case)

    assert next_stage == Stage.PRODUCTION
    assert {c.code for c in unmet} == {"kpi", "monitoring_plan", "sign_off"}


@pytest.mark.parametrize("stage", [Stage.PRODUCTION, Stage.RETIRED])
def test_no_next_stage_after_production_or_retirement(stage):
    use_case = ready_use_case_in(stage)

    assert next_stage_needs(use_case) == (None, [])


# --- the trail cannot be rewritten -------------------------------------------------------


def test_stage_transition_cannot_be_edited():
    use_case = UseCaseFactory()
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR, reason="Signed off")
    transition = StageTransition.objects.get(use_case=use_case)

    transition.reason = "Nobody signed off"
    with pytest.raises(ValueError):
        transition.save()

    transition.refresh_from_db()
    assert transition.reason == "Signed off"


def test_stage_transition_cannot_be_deleted():
    use_case = UseCaseFactory()
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=TEST_ACTOR)
    transition = StageTransition.objects.get(use_case=use_case)

    with pytest.raises(ValueError):
        transition.delete()

    assert StageTransition.objects.filter(pk=transition.pk).exists()
