"""Stages and their gates: the one place a use case moves through its lifecycle.

`move_use_case` is the only function that changes a use case's stage in the product. The
allowed moves are a table; each target stage has a gate, a list of conditions; a refused
move names every unmet condition at once.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import READINESS_ORDER, Decision, Readiness, Stage, StageTransition, TransitionSource, UseCase
from core.actors import acting_user

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
ALLOWED_MOVES = FORWARD_MOVES | BACKWARD_MOVES

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


class MoveRefused(Exception):
    """A move that is not allowed or whose gate is not met; `unmet` lists every reason."""

    def __init__(self, use_case: UseCase, to_stage: str, unmet: list[Condition]):
        self.use_case = use_case
        self.to_stage = to_stage
        self.unmet = unmet
        reasons = "; ".join(c.message for c in unmet)
        super().__init__(f"Cannot move '{use_case}' to {to_stage}: {reasons}")


class StaleVersion(Exception):
    """The use case or decision changed since the caller read it; nothing was written."""

    def __init__(self, record: UseCase | Decision, expected_version: int):
        self.record = record
        self.expected_version = expected_version
        super().__init__(
            f"'{record}' is at version {record.version}, not {expected_version}: "
            "someone changed it since you read it. Reload and try again."
        )


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


def move_use_case(
    *,
    use_case: UseCase,
    to_stage: str,
    actor,
    reason: str = "",
    source: str = TransitionSource.PRODUCT,
    expected_version: int | None = None,
    on: datetime.datetime | None = None,
) -> UseCase:
    """Move `use_case` to `to_stage` if allowed and its gate is met; record the transition.

    Locks the row so two concurrent moves cannot both pass the gate. With
    `expected_version`, refuses (StaleVersion) when the use case changed since it was read.
    """
    if to_stage not in Stage.values:
        raise MoveRefused(use_case, to_stage, [Condition("unknown_stage", f"'{to_stage}' is not a stage")])
    moved_at = on or timezone.now()
    with transaction.atomic():
        locked = (
            UseCase.objects.select_for_update(of=("self",))
            .select_related("decision", "business_owner", "technical_owner")
            .get(pk=use_case.pk)
        )
        if expected_version is not None and locked.version != expected_version:
            raise StaleVersion(locked, expected_version)
        unmet = unmet_conditions(locked, to_stage, reason=reason)
        if unmet:
            raise MoveRefused(locked, to_stage, unmet)
        from_stage = locked.stage
        locked.stage = to_stage
        locked.stage_entered_on = timezone.localdate(moved_at)
        locked.version += 1
        locked.updated_at = moved_at
        locked._history_user = acting_user(actor)
        locked._change_reason = f"stage {from_stage} → {to_stage}"
        locked._history_date = moved_at  # a move recorded after the fact is dated when it happened
        locked.save(update_fields=["stage", "stage_entered_on", "version", "updated_at"])
        StageTransition.objects.create(
            use_case=locked,
            from_stage=from_stage,
            to_stage=to_stage,
            occurred_at=moved_at,
            actor=acting_user(actor),
            source=source,
            reason=reason.strip(),
        )
    return locked
