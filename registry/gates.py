"""Stages and their gates, as pure functions of a use case: which moves are allowed, what each
gate asks for, and who must own a use case from which stage on.

The allowed moves are a table; each target stage has a gate, a list of conditions; a refused
move names every unmet condition at once. `registry.services.lifecycle.move_use_case` is the
only function that changes a use case's stage in the product.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import Refused

from .models import READINESS_ORDER, Readiness, Stage, UseCase

FORWARD_MOVES = {
    (Stage.PROPOSED, Stage.VALIDATING),
    (Stage.VALIDATING, Stage.PILOT),
    (Stage.PILOT, Stage.PRODUCTION),
    (Stage.PROPOSED, Stage.RETIRED),
    (Stage.VALIDATING, Stage.RETIRED),
    (Stage.PILOT, Stage.RETIRED),
    (Stage.PRODUCTION, Stage.RETIRED),
}
# Going back a stage admits that something did not hold; it always needs a reason.
BACKWARD_MOVES = {
    (Stage.VALIDATING, Stage.PROPOSED),
    (Stage.PILOT, Stage.VALIDATING),
    (Stage.PRODUCTION, Stage.PILOT),
    (Stage.RETIRED, Stage.PROPOSED),
}
# A use case whose inventory reported no stage moves to the stage it is really in, through that
# stage's gate (retiring it needs a reason); nothing moves back to "not reported".
REPORTING_MOVES = {(Stage.UNREPORTED, stage) for stage in (Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION, Stage.RETIRED)}
ALLOWED_MOVES = FORWARD_MOVES | BACKWARD_MOVES | REPORTING_MOVES

# Who must own what from which stage on: the gate into that stage asks for the owner, and the
# orphaned-ownership scan reports a missing one there and in every later live stage.
OWNER_REQUIRED_FROM = {
    "decision_owner": Stage.VALIDATING,
    "business_owner": Stage.PILOT,
    "technical_owner": Stage.PRODUCTION,
}
LIVE_STAGE_ORDER = (Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION)


def stages_requiring(owner: str) -> tuple[str, ...]:
    """The live stages in which `owner` ("decision_owner", "business_owner", "technical_owner") must be set."""
    first = LIVE_STAGE_ORDER.index(OWNER_REQUIRED_FROM[owner])
    return LIVE_STAGE_ORDER[first:]


NEXT_STAGE = {
    Stage.PROPOSED: Stage.VALIDATING,
    Stage.VALIDATING: Stage.PILOT,
    Stage.PILOT: Stage.PRODUCTION,
}


@dataclass(frozen=True)
class Condition:
    """One condition of a gate: a stable code for programs, a sentence for people."""

    code: str
    message: str


class MoveRefused(Refused):
    """A move that is not allowed or whose gate is not met; `unmet` lists every reason."""

    def __init__(self, use_case: UseCase, to_stage: str, unmet: list[Condition]):
        self.use_case = use_case
        self.to_stage = to_stage
        self.unmet = unmet
        reasons = "; ".join(c.message for c in unmet)
        super().__init__(f"Cannot move '{use_case}' to {to_stage}: {reasons}")


def _at_least(readiness: str, minimum: str) -> bool:
    return READINESS_ORDER.index(readiness) >= READINESS_ORDER.index(minimum)


# A placeholder (an imported inventory names no decision) is no decision: the gates ask for the
# decision to be stated, not for the placeholder's owner, frequency or execution point.
NO_DECISION = Condition("decision_stated", "no decision is stated yet (it was imported without one)")


def _validating_gate(use_case: UseCase) -> list[Condition]:
    decision = use_case.decision
    if not decision.is_defined:
        return [NO_DECISION]
    unmet = []
    if decision.owner_id is None:
        unmet.append(Condition("decision_owner", "the decision has no owner"))
    if not decision.frequency:
        unmet.append(Condition("decision_frequency", "the decision has no frequency"))
    if decision.cost_of_error is None:
        unmet.append(Condition("decision_cost_of_error", "the decision has no cost of error"))
    return unmet


def _pilot_gate(use_case: UseCase) -> list[Condition]:
    unmet = []
    if use_case.business_owner_id is None:
        unmet.append(Condition("business_owner", "the use case has no business owner"))
    if not use_case.decision.is_defined:
        unmet.append(NO_DECISION)
    elif not use_case.decision.execution_point.strip():
        unmet.append(Condition("execution_point", "the decision has no execution point (system or workflow)"))
    if not _at_least(use_case.data_readiness, Readiness.PARTIAL):
        unmet.append(Condition("data_readiness", "data readiness is below partial"))
    return unmet


def _production_gate(use_case: UseCase) -> list[Condition]:
    unmet = []
    for role, owner in (("business", use_case.business_owner), ("technical", use_case.technical_owner)):
        if owner is None:
            unmet.append(Condition(f"{role}_owner", f"the use case has no {role} owner"))
        elif not owner.active:
            unmet.append(Condition(f"{role}_owner_active", f"the {role} owner {owner.email} has left the company"))
    if not any(kpi.baseline is not None and kpi.target is not None for kpi in use_case.kpis.all()):
        unmet.append(Condition("kpi", "no KPI with both a baseline and a target"))
    for layer in ("orchestration", "inference"):
        if not _at_least(use_case.readiness(layer), Readiness.PARTIAL):
            unmet.append(Condition(f"{layer}_readiness", f"{layer} readiness is below partial"))
    if not use_case.monitoring_plan.strip():
        unmet.append(Condition("monitoring_plan", "there is no monitoring plan"))
    return unmet


GATES = {
    Stage.VALIDATING: _validating_gate,
    Stage.PILOT: _pilot_gate,
    Stage.PRODUCTION: _production_gate,
}


def unmet_conditions(use_case: UseCase, to_stage: str, *, reason: str = "") -> list[Condition]:
    """Everything that stands between `use_case` and `to_stage`; empty when the move may go."""
    from_stage = use_case.stage
    if from_stage == to_stage:
        return [Condition("same_stage", f"the use case is already in {to_stage}")]
    if (from_stage, to_stage) not in ALLOWED_MOVES:
        return [Condition("move_not_allowed", f"a use case cannot move from {from_stage} to {to_stage}")]
    if (from_stage, to_stage) in BACKWARD_MOVES and not reason.strip():
        return [Condition("reason", f"moving back from {from_stage} to {to_stage} needs a reason")]
    if to_stage == Stage.RETIRED and not reason.strip():
        return [Condition("reason", "retiring a use case needs a reason")]
    if (from_stage, to_stage) in BACKWARD_MOVES:
        return []
    gate = GATES.get(to_stage)
    return gate(use_case) if gate else []


def next_stage_needs(use_case: UseCase) -> tuple[str | None, list[Condition]]:
    """The next forward stage and what its gate still needs (for owners' to-do lists)."""
    next_stage = NEXT_STAGE.get(use_case.stage)
    if next_stage is None:
        return None, []
    return next_stage, unmet_conditions(use_case, next_stage)
