"""Stages and their gates, as pure functions of a use case: which moves are allowed, what each
gate asks for, and who must own a use case from which stage on.

The allowed moves are a table; each target stage has a gate, a list of conditions; a refused
move names every unmet condition at once. `registry.services.lifecycle.move_use_case` is the
only function that changes a use case's stage in the product.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from core.errors import Refused

from .models import (
    READINESS_ORDER, SIGN_OFF_STAGES, VALUE_CHAIN_LAYERS, EURiskClass, HighImpact, Practice, PracticeStatus, Readiness,
    SignOff, SignOffOutcome, Stage, UseCase,
)

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


def default_move(stage: str) -> str | None:
    """The move a page offers first: the next stage forward (production's is retirement), never
    a step back; None where no move goes forward (retired, or a stage not reported)."""
    return NEXT_STAGE.get(stage) or next((to for (frm, to) in FORWARD_MOVES if frm == stage), None)


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


# Determinations and sign-offs --------------------------------------------------------------------


def _one(use_case: UseCase, relation: str):
    try:
        return getattr(use_case, relation)
    except ObjectDoesNotExist:
        return None


def gate_rows(use_case: UseCase, relation: str) -> list:
    """The use case's `relation` rows ("practices", "waivers", "sign_offs", "transitions"): the
    list `registry.selectors.gates.with_gate_facts` loaded into `gate_<relation>`, or else (a
    service's locked row, a detector's own prefetch) read through the relation now."""
    loaded = use_case.__dict__.get(f"gate_{relation}")
    return loaded if loaded is not None else list(getattr(use_case, relation).all())


def is_high_impact(use_case: UseCase) -> bool:
    determination = _one(use_case, "omb_determination")
    return determination is not None and determination.is_high_impact == HighImpact.HIGH_IMPACT


def is_prohibited(use_case: UseCase) -> bool:
    classification = _one(use_case, "eu_classification")
    return classification is not None and classification.risk_class == EURiskClass.PROHIBITED


def practice_statuses(use_case: UseCase) -> dict[str, str]:
    """Every minimum practice's status; one with no record has not started."""
    recorded = {record.practice: record.status for record in gate_rows(use_case, "practices")}
    return {practice: recorded.get(practice, PracticeStatus.NOT_STARTED) for practice in Practice.values}


def waived_practices(use_case: UseCase, on: datetime.date) -> set[str]:
    return {waiver.practice for waiver in gate_rows(use_case, "waivers") if waiver.in_force(on)}


def practices_neither_done_nor_waived(use_case: UseCase, on: datetime.date) -> dict[str, str]:
    """{practice: status} of the minimum practices neither done nor waived on `on`, in the
    order of `Practice`. "Not applicable" is not an exit: M-25-21 leaves out a practice only by
    waiver. (The gate into pilot and production, and the high-impact practices scan.)"""
    waived = waived_practices(use_case, on)
    return {practice: status for practice, status in practice_statuses(use_case).items()
            if status != PracticeStatus.DONE and practice not in waived}


def _practices_gate(use_case: UseCase, on: datetime.date) -> list[Condition]:
    """A high-impact use case enters pilot or production only with every minimum practice done
    or waived."""
    if not is_high_impact(use_case):
        return []
    return [
        Condition(f"practice_{practice}",
                  f"high-impact: the minimum practice '{Practice(practice).label}' is "
                  f"{PracticeStatus(status).label.lower()}, neither done nor waived")
        for practice, status in practices_neither_done_nor_waived(use_case, on).items()
    ]


def gate_fingerprint(use_case: UseCase) -> str:
    """The fingerprint of a use case's gate conditions: what a sign-off approves.

    The gate conditions are every fact the gates into pilot and production read, and where
    the use case stands: its stage and latest stage transition; its decision (statement,
    owner, frequency, cost of error, execution point); its business and technical owners (and
    whether each is still with the company); the readiness of each layer; its monitoring
    plan; its KPIs' names, baselines and targets; its OMB determination; each minimum
    practice's status; its waivers (practice, grant, expiry, revocation); its EU AI Act role
    and class. A sign-off counts only while this fingerprint is what it was when it was given,
    so any change to one of them (a stage move included) needs a new sign-off; edits to
    anything else (title, summary, evidence wording) do not. Undoing a change restores the
    state that was approved, and with it the sign-off.
    """
    decision = use_case.decision
    determination = _one(use_case, "omb_determination")
    classification = _one(use_case, "eu_classification")
    latest = max(((t.occurred_at, t.pk) for t in gate_rows(use_case, "transitions")), default=(None, None))[1]
    facts = {
        "stage": [use_case.stage, latest],
        "decision": [decision.pk, decision.statement, decision.owner_id, decision.frequency,
                     str(decision.cost_of_error), decision.execution_point, decision.is_defined],
        "owners": [[owner.pk, owner.active] if owner else None
                   for owner in (use_case.business_owner, use_case.technical_owner)],
        "readiness": [use_case.readiness(layer) for layer in VALUE_CHAIN_LAYERS],
        "monitoring_plan": use_case.monitoring_plan,
        "kpis": sorted([kpi.name, str(kpi.baseline), str(kpi.target)] for kpi in use_case.kpis.all()),
        "omb": determination.is_high_impact if determination else None,
        "practices": practice_statuses(use_case),
        "waivers": sorted([w.pk, w.practice, str(w.granted_on), str(w.expires_on), str(w.revoked_on)]
                          for w in gate_rows(use_case, "waivers")),
        "eu": [classification.role, classification.risk_class] if classification else None,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def standing_sign_off(use_case: UseCase, stage: str) -> SignOff | None:
    """The sign-off that decides `stage`'s gate: the latest one given on the gate conditions as
    they are now; earlier ones, and any given before a change to them, no longer count."""
    fingerprint = None
    for sign_off in sorted(gate_rows(use_case, "sign_offs"), key=lambda s: (s.signed_at, s.pk), reverse=True):
        if sign_off.stage != stage:
            continue
        fingerprint = fingerprint or gate_fingerprint(use_case)
        if sign_off.gate_fingerprint == fingerprint:
            return sign_off
    return None


def _sign_off_gate(use_case: UseCase, to_stage: str) -> list[Condition]:
    sign_off = standing_sign_off(use_case, to_stage)
    if sign_off is None:
        return [Condition("sign_off", f"no sign-off for {to_stage} since the gate conditions last changed "
                                      "(from the program office or an approver of the unit, not an owner)")]
    if sign_off.outcome == SignOffOutcome.CHANGES_REQUESTED:
        note = f": {sign_off.note}" if sign_off.note else ""
        return [Condition("sign_off", f"{sign_off.signed_by} requested changes for {to_stage}{note}")]
    return []


def unmet_conditions(use_case: UseCase, to_stage: str, *, reason: str = "",
                     on: datetime.date | None = None) -> list[Condition]:
    """Everything that stands between `use_case` and `to_stage` on day `on` (default today);
    empty when the move may go."""
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
    if to_stage != Stage.RETIRED and is_prohibited(use_case):
        return [Condition("prohibited_practice", "the EU AI Act prohibits this practice (Art. 5): it cannot move forward")]
    gate = GATES.get(to_stage)
    unmet = gate(use_case) if gate else []
    if to_stage in SIGN_OFF_STAGES:
        unmet += _practices_gate(use_case, on or timezone.localdate())
        unmet += _sign_off_gate(use_case, to_stage)
    return unmet


def next_stage_needs(use_case: UseCase) -> tuple[str | None, list[Condition]]:
    """The next forward stage and what its gate still needs (for owners' to-do lists)."""
    next_stage = NEXT_STAGE.get(use_case.stage)
    if next_stage is None:
        return None, []
    return next_stage, unmet_conditions(use_case, next_stage)
