"""The stages and gates of registry/gates.py as the pure functions they are: the table of moves,
each gate's conditions at their boundaries, and who must own a use case from which stage on.

No database: the use cases are unsaved model instances (pytest-django refuses any query here).
The same rules through the real lifecycle, with writes, are in test_lifecycle.py.
"""

import datetime
from decimal import Decimal

import pytest

from registry.gates import (
    ALLOWED_MOVES,
    BACKWARD_MOVES,
    FORWARD_MOVES,
    GATES,
    LIVE_STAGE_ORDER,
    NEXT_STAGE,
    OWNER_REQUIRED_FROM,
    REPORTING_MOVES,
    gate_fingerprint,
    next_stage_needs,
    stages_requiring,
    unmet_conditions,
)
from registry.models import (
    KPI, Decision, EUClassification, Frequency, HighImpact, OMBDetermination, Person, Practice, PracticeRecord,
    Readiness, SignOff, Stage, StageTransition, UseCase, Waiver,
)

STAGES = list(Stage)


# Unsaved instances, each ready for every gate unless told otherwise ---------------------------


def person(pk: int, *, active: bool = True) -> Person:
    # A primary key, so that the use case's `business_owner_id` is set as when it is loaded.
    return Person(pk=pk, email=f"person{pk}@example.com", name=f"Person {pk}", active=active)


def decision(**overrides) -> Decision:
    fields = dict(statement="Which claims are fast-tracked today?", owner=person(1), frequency=Frequency.DAILY,
                  cost_of_error=Decimal("120.00"), execution_point="Claims workflow", is_defined=True)
    return Decision(**{**fields, **overrides})


def prefetched(use_case: UseCase, *, kpis=(), practices=(), waivers=(), sign_offs=(), omb=None, eu=None) -> UseCase:
    """Give `use_case` its related rows as prefetch_related and select_related would, so the
    gates read them and not the database."""
    caches = {}
    for name, model, rows in (("kpis", KPI, kpis), ("practices", PracticeRecord, practices),
                              ("waivers", Waiver, waivers), ("sign_offs", SignOff, sign_offs),
                              ("transitions", StageTransition, ())):
        queryset = model.objects.filter(use_case=use_case)  # lazy: never run
        queryset._result_cache = list(rows)
        queryset._prefetch_done = True
        caches[name] = queryset
    use_case._prefetched_objects_cache = caches
    use_case._state.fields_cache["omb_determination"] = omb
    use_case._state.fields_cache["eu_classification"] = eu
    return use_case


def approved(use_case: UseCase, *stages: str) -> UseCase:
    """`use_case` with an approved sign-off, on its gate conditions as they are, for each of `stages`."""
    fingerprint = gate_fingerprint(use_case)
    use_case._prefetched_objects_cache["sign_offs"]._result_cache = [
        SignOff(pk=index, stage=stage, outcome="approved", gate_fingerprint=fingerprint,
                signed_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
        for index, stage in enumerate(stages, start=1)]
    return use_case


def complete_kpi(**overrides) -> KPI:
    return KPI(**{"name": "Fast-track rate", "baseline": Decimal("0.10"), "target": Decimal("0.30"), **overrides})


def use_case(stage: str = Stage.PROPOSED, *, kpis: tuple[KPI, ...] | None = None, signed: bool = True,
             **overrides) -> UseCase:
    """Signed off for pilot and production unless `signed` is false: the gates other than the
    sign-off are what most tests here are about."""
    fields = dict(pk=1, title="Claims triage", stage=stage, decision=decision(), business_owner=person(2),
                  technical_owner=person(3), data_readiness=Readiness.PARTIAL,
                  orchestration_readiness=Readiness.PARTIAL, inference_readiness=Readiness.PARTIAL,
                  monitoring_plan="Weekly drift report")
    built = prefetched(UseCase(**{**fields, **overrides}), kpis=kpis if kpis is not None else (complete_kpi(),))
    return approved(built, Stage.PILOT, Stage.PRODUCTION) if signed else built


def codes(use_case: UseCase, to_stage: str, reason: str = "") -> list[str]:
    return [condition.code for condition in unmet_conditions(use_case, to_stage, reason=reason)]


# From the stage before each gate.
BEFORE = {Stage.VALIDATING: Stage.PROPOSED, Stage.PILOT: Stage.VALIDATING, Stage.PRODUCTION: Stage.PILOT}


# The table of moves ----------------------------------------------------------------------------


def test_forward_and_backward_moves_are_apart_and_none_stays_put():
    assert not FORWARD_MOVES & BACKWARD_MOVES
    assert ALLOWED_MOVES == FORWARD_MOVES | BACKWARD_MOVES | REPORTING_MOVES
    assert all(from_stage != to_stage for from_stage, to_stage in ALLOWED_MOVES)
    assert {stage for move in ALLOWED_MOVES for stage in move} == set(STAGES)


def test_forward_is_one_live_stage_on_or_retirement():
    for from_stage, to_stage in FORWARD_MOVES:
        if to_stage == Stage.RETIRED:
            assert from_stage in LIVE_STAGE_ORDER
        else:
            assert LIVE_STAGE_ORDER.index(to_stage) == LIVE_STAGE_ORDER.index(from_stage) + 1


def test_back_is_one_live_stage_or_retired_to_proposed():
    for from_stage, to_stage in BACKWARD_MOVES:
        if from_stage == Stage.RETIRED:
            assert to_stage == Stage.PROPOSED
        else:
            assert LIVE_STAGE_ORDER.index(to_stage) == LIVE_STAGE_ORDER.index(from_stage) - 1


def test_every_live_stage_may_be_retired_and_retired_leaves_only_for_proposed():
    assert {(stage, Stage.RETIRED) for stage in LIVE_STAGE_ORDER} <= FORWARD_MOVES
    assert {move for move in ALLOWED_MOVES if move[0] == Stage.RETIRED} == {(Stage.RETIRED, Stage.PROPOSED)}


def test_a_stage_not_reported_leaves_for_any_real_stage_and_nothing_enters_it():
    assert REPORTING_MOVES == {(Stage.UNREPORTED, stage) for stage in (*LIVE_STAGE_ORDER, Stage.RETIRED)}
    assert not [move for move in ALLOWED_MOVES if move[1] == Stage.UNREPORTED]
    assert Stage.UNREPORTED not in LIVE_STAGE_ORDER and Stage.UNREPORTED not in NEXT_STAGE


def test_the_next_stage_is_the_forward_move_that_is_not_retirement():
    assert set(NEXT_STAGE.items()) == {move for move in FORWARD_MOVES if move[1] != Stage.RETIRED}
    assert set(GATES) == set(NEXT_STAGE.values())


# unmet_conditions: the order of its refusals ----------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_moving_to_the_same_stage_is_refused_first(stage):
    assert codes(use_case(stage), stage, reason="because") == ["same_stage"]


@pytest.mark.parametrize("from_stage, to_stage", sorted(
    (a, b) for a in STAGES for b in STAGES if a != b and (a, b) not in ALLOWED_MOVES))
def test_a_move_outside_the_table_is_refused_whatever_the_reason(from_stage, to_stage):
    assert codes(use_case(from_stage), to_stage, reason="because") == ["move_not_allowed"]


def test_an_unknown_stage_is_outside_the_table():
    assert codes(use_case(Stage.PROPOSED), "launched") == ["move_not_allowed"]


@pytest.mark.parametrize("reason", ["", " ", "\n\t"], ids=["empty", "space", "blank"])
@pytest.mark.parametrize("from_stage, to_stage", sorted(BACKWARD_MOVES))
def test_moving_back_with_a_blank_reason_is_refused(from_stage, to_stage, reason):
    assert codes(use_case(from_stage), to_stage, reason=reason) == ["reason"]


@pytest.mark.parametrize("from_stage, to_stage", sorted(BACKWARD_MOVES))
def test_moving_back_with_a_reason_skips_every_gate(from_stage, to_stage):
    nothing_ready = use_case(from_stage, decision=decision(owner=None, frequency="", cost_of_error=None),
                             business_owner=None, technical_owner=None, data_readiness=Readiness.NONE, kpis=())
    assert codes(nothing_ready, to_stage, reason="x") == []


@pytest.mark.parametrize("from_stage", LIVE_STAGE_ORDER)
def test_retiring_needs_a_reason_and_nothing_else(from_stage):
    nothing_ready = use_case(from_stage, business_owner=None, technical_owner=None, monitoring_plan="", kpis=())
    assert codes(nothing_ready, Stage.RETIRED, reason="  ") == ["reason"]
    assert codes(nothing_ready, Stage.RETIRED, reason="x") == []


@pytest.mark.parametrize("to_stage", list(GATES))
def test_a_stage_not_reported_moves_to_a_real_stage_through_its_gate(to_stage):
    assert codes(use_case(Stage.UNREPORTED), to_stage) == []
    assert "data_readiness" in codes(use_case(Stage.UNREPORTED, data_readiness=Readiness.NONE), Stage.PILOT)
    assert codes(use_case(Stage.UNREPORTED, business_owner=None), Stage.PROPOSED) == []
    assert codes(use_case(Stage.UNREPORTED), Stage.RETIRED) == ["reason"]


@pytest.mark.parametrize("to_stage", list(GATES))
def test_a_use_case_ready_for_every_gate_passes_each(to_stage):
    assert codes(use_case(BEFORE[to_stage]), to_stage) == []


# Each gate at its boundaries --------------------------------------------------------------------


def test_validating_lists_every_missing_decision_basic_in_order():
    bare = use_case(decision=decision(owner=None, frequency="", cost_of_error=None))
    assert codes(bare, Stage.VALIDATING) == ["decision_owner", "decision_frequency", "decision_cost_of_error"]


def test_a_cost_of_error_of_zero_is_a_stated_cost():
    assert codes(use_case(decision=decision(cost_of_error=Decimal("0"))), Stage.VALIDATING) == []


def test_under_a_placeholder_decision_validating_asks_only_for_the_decision():
    placeholder = decision(owner=None, frequency="", cost_of_error=None, execution_point="", is_defined=False)
    assert codes(use_case(decision=placeholder), Stage.VALIDATING) == ["decision_stated"]
    assert codes(use_case(Stage.VALIDATING, decision=placeholder), Stage.PILOT) == ["decision_stated"]


@pytest.mark.parametrize("readiness, met", [(Readiness.NONE, False), (Readiness.PLANNED, False),
                                            (Readiness.PARTIAL, True), (Readiness.READY, True)])
def test_pilot_needs_data_readiness_of_at_least_partial(readiness, met):
    unmet = codes(use_case(Stage.VALIDATING, data_readiness=readiness), Stage.PILOT)
    assert unmet == ([] if met else ["data_readiness"])


@pytest.mark.parametrize("execution_point", ["", "   ", "\n"])
def test_a_blank_execution_point_is_none(execution_point):
    unmet = codes(use_case(Stage.VALIDATING, decision=decision(execution_point=execution_point)), Stage.PILOT)
    assert unmet == ["execution_point"]


@pytest.mark.parametrize("layer", ["orchestration", "inference"])
@pytest.mark.parametrize("readiness, met", [(Readiness.PLANNED, False), (Readiness.PARTIAL, True)])
def test_production_needs_orchestration_and_inference_of_at_least_partial(layer, readiness, met):
    unmet = codes(use_case(Stage.PILOT, **{f"{layer}_readiness": readiness}), Stage.PRODUCTION)
    assert unmet == ([] if met else [f"{layer}_readiness"])


@pytest.mark.parametrize("kpis, met", [
    ((), False),
    ((complete_kpi(baseline=None),), False),
    ((complete_kpi(target=None),), False),
    ((complete_kpi(baseline=Decimal("0"), target=Decimal("0")),), True),  # zero is a value
    ((complete_kpi(baseline=None), complete_kpi(name="Handling time", target=None)), False),
    ((complete_kpi(baseline=None), complete_kpi(name="Handling time")), True),  # one complete is enough
], ids=["none", "no-baseline", "no-target", "zeros", "two-incomplete", "one-complete"])
def test_production_needs_one_kpi_with_both_a_baseline_and_a_target(kpis, met):
    unmet = codes(use_case(Stage.PILOT, kpis=kpis), Stage.PRODUCTION)
    assert unmet == ([] if met else ["kpi"])


@pytest.mark.parametrize("plan", ["", " \n "])
def test_a_blank_monitoring_plan_is_none(plan):
    assert codes(use_case(Stage.PILOT, monitoring_plan=plan), Stage.PRODUCTION) == ["monitoring_plan"]


def test_production_names_each_owner_who_has_left():
    left = use_case(Stage.PILOT, business_owner=person(2, active=False), technical_owner=person(3, active=False))
    unmet = unmet_conditions(left, Stage.PRODUCTION)
    assert [c.code for c in unmet] == ["business_owner_active", "technical_owner_active"]
    assert "person2@example.com" in unmet[0].message and "person3@example.com" in unmet[1].message


def test_production_refusal_lists_everything_at_once():
    bare = use_case(Stage.PILOT, business_owner=None, technical_owner=None, orchestration_readiness=Readiness.NONE,
                    inference_readiness=Readiness.NONE, monitoring_plan="", kpis=())
    assert codes(bare, Stage.PRODUCTION) == ["business_owner", "technical_owner", "kpi", "orchestration_readiness",
                                             "inference_readiness", "monitoring_plan"]


@pytest.mark.parametrize("stage, expected", [(Stage.PROPOSED, Stage.VALIDATING), (Stage.VALIDATING, Stage.PILOT),
                                             (Stage.PILOT, Stage.PRODUCTION), (Stage.PRODUCTION, None),
                                             (Stage.RETIRED, None)])
def test_next_stage_needs_nothing_for_a_ready_use_case(stage, expected):
    assert next_stage_needs(use_case(stage)) == (expected, [])


def test_next_stage_needs_what_the_next_gate_lacks():
    next_stage, unmet = next_stage_needs(use_case(Stage.VALIDATING, business_owner=None))
    assert next_stage == Stage.PILOT and [c.code for c in unmet] == ["business_owner"]


# Who must own what from which stage on -----------------------------------------------------------


def test_owners_are_required_from_a_live_stage_on_in_the_order_of_the_lifecycle():
    assert list(OWNER_REQUIRED_FROM) == ["decision_owner", "business_owner", "technical_owner"]
    assert set(OWNER_REQUIRED_FROM.values()) <= set(LIVE_STAGE_ORDER) - {Stage.PROPOSED}
    assert stages_requiring("decision_owner") == (Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION)
    assert stages_requiring("business_owner") == (Stage.PILOT, Stage.PRODUCTION)
    assert stages_requiring("technical_owner") == (Stage.PRODUCTION,)


@pytest.mark.parametrize("owner", list(OWNER_REQUIRED_FROM))
def test_no_owner_is_required_once_retired_or_while_proposed(owner):
    assert Stage.RETIRED not in stages_requiring(owner)
    assert Stage.PROPOSED not in stages_requiring(owner)


def test_an_unknown_owner_is_an_error():
    with pytest.raises(KeyError):
        stages_requiring("product_owner")


def without(owner: str, stage: str) -> UseCase:
    """A use case in `stage`, ready for every gate but missing `owner`."""
    if owner == "decision_owner":
        return use_case(stage, decision=decision(owner=None))
    return use_case(stage, **{owner: None})


@pytest.mark.parametrize("owner", list(OWNER_REQUIRED_FROM))
def test_the_gate_into_the_stage_an_owner_is_required_from_asks_for_that_owner(owner):
    required_from = OWNER_REQUIRED_FROM[owner]
    assert codes(without(owner, BEFORE[required_from]), required_from) == [owner]


@pytest.mark.parametrize("owner", list(OWNER_REQUIRED_FROM))
def test_no_gate_before_that_stage_asks_for_the_owner(owner):
    required_from = OWNER_REQUIRED_FROM[owner]
    earlier = [stage for stage in GATES if LIVE_STAGE_ORDER.index(stage) < LIVE_STAGE_ORDER.index(required_from)]
    for stage in earlier:
        assert codes(without(owner, BEFORE[stage]), stage) == [], stage


# Determinations and sign-offs ------------------------------------------------------------------

DAY = datetime.date(2026, 11, 30)


def determined(stage=Stage.VALIDATING, *, statuses=None, waivers=(), eu=None, signed=True) -> UseCase:
    """A high-impact use case whose practices have `statuses` (practice → status; others done)."""
    statuses = {p: "done" for p in Practice.values} | (statuses or {})
    built = UseCase(pk=1, title="Benefit eligibility", stage=stage, decision=decision(), business_owner=person(2),
                    technical_owner=person(3), data_readiness=Readiness.PARTIAL,
                    orchestration_readiness=Readiness.PARTIAL, inference_readiness=Readiness.PARTIAL,
                    monitoring_plan="Weekly drift report")
    prefetched(built, kpis=(complete_kpi(),),
               practices=[PracticeRecord(practice=p, status=s, evidence_note="ok") for p, s in statuses.items()],
               waivers=waivers, omb=OMBDetermination(is_high_impact=HighImpact.HIGH_IMPACT), eu=eu)
    return approved(built, Stage.PILOT, Stage.PRODUCTION) if signed else built


def waiver(practice, *, granted, expires, revoked=None) -> Waiver:
    return Waiver(pk=1, practice=practice, granted_on=granted, expires_on=expires, revoked_on=revoked)


def gate_codes(use_case, to_stage, on=DAY) -> list[str]:
    return [c.code for c in unmet_conditions(use_case, to_stage, on=on)]


@pytest.mark.parametrize("status", ["not_started", "in_progress", "not_applicable"])
def test_a_high_impact_practice_neither_done_nor_waived_is_named(status):
    assert gate_codes(determined(statuses={"appeal_process": status}), Stage.PILOT) == ["practice_appeal_process"]


@pytest.mark.parametrize(("on", "passes"), [(DAY - datetime.timedelta(days=1), False), (DAY, True),
                                            (DAY + datetime.timedelta(days=30), True),
                                            (DAY + datetime.timedelta(days=31), False)])
def test_a_waiver_counts_from_its_grant_to_its_expiry_day_inclusive(on, passes):
    use_case = determined(statuses={"independent_review": "in_progress"},
                          waivers=[waiver("independent_review", granted=DAY, expires=DAY + datetime.timedelta(days=30))])
    assert gate_codes(use_case, Stage.PILOT, on=on) == ([] if passes else ["practice_independent_review"])


def test_a_revoked_waiver_does_not_count():
    use_case = determined(statuses={"independent_review": "in_progress"},
                          waivers=[waiver("independent_review", granted=DAY, expires=DAY + datetime.timedelta(days=30),
                                          revoked=DAY)])
    assert gate_codes(use_case, Stage.PILOT) == ["practice_independent_review"]


def test_a_prohibited_practice_moves_nowhere_forward_but_retires():
    prohibited = EUClassification(role="deployer", risk_class="prohibited")
    for from_stage, to_stage in [(Stage.PROPOSED, Stage.VALIDATING), (Stage.VALIDATING, Stage.PILOT),
                                 (Stage.PILOT, Stage.PRODUCTION)]:
        assert gate_codes(determined(from_stage, eu=prohibited), to_stage) == ["prohibited_practice"]
    assert unmet_conditions(determined(Stage.PILOT, eu=prohibited), Stage.RETIRED, reason="prohibited") == []


def test_without_a_sign_off_pilot_and_production_ask_for_one():
    for from_stage, to_stage in [(Stage.VALIDATING, Stage.PILOT), (Stage.PILOT, Stage.PRODUCTION)]:
        assert codes(use_case(from_stage, signed=False), to_stage) == ["sign_off"]
    assert codes(use_case(Stage.PROPOSED, signed=False), Stage.VALIDATING) == []


def test_a_sign_off_given_before_a_change_to_the_gate_conditions_no_longer_counts():
    signed = use_case(Stage.VALIDATING)
    fingerprint = gate_fingerprint(signed)
    signed.data_readiness = Readiness.READY
    assert gate_fingerprint(signed) != fingerprint
    assert codes(signed, Stage.PILOT) == ["sign_off"]
    signed.data_readiness = Readiness.PARTIAL  # undone: the approved state again
    assert codes(signed, Stage.PILOT) == []
    signed.title = "Renamed"
    assert codes(signed, Stage.PILOT) == []
