"""The demo portfolio's shape: how long its history is, how use cases spread over fates and
stages, how ready they are, what friction they meet, and how often each situation the scans
look for occurs, on either side of the scan policy's default thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from portfolio.models import Policy
from registry.models import Readiness, Stage

HISTORY_DAYS = 730
# About one use case in twenty belongs to a duplicate family.
DUPLICATE_FAMILY_RATE = 0.022

FATES = (Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION, Stage.RETIRED)
FATE_WEIGHTS = (0.20, 0.16, 0.22, 0.26, 0.16)
FORWARD_PATH = (Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION)
# Days a use case spends in a stage before it moves on, at least: nobody validates data in
# an afternoon or proves a pilot in a week.
MIN_DAYS_IN_STAGE = {Stage.PROPOSED: 3, Stage.VALIDATING: 14, Stage.PILOT: 42, Stage.PRODUCTION: 30, Stage.RETIRED: 30}

READINESS_BY_STAGE = {
    # per layer (data, infrastructure, model, orchestration, inference): ((value, weight), ...)
    Stage.PROPOSED: (
        ((Readiness.NONE, 5), (Readiness.PLANNED, 4), (Readiness.PARTIAL, 1)),
        ((Readiness.NONE, 6), (Readiness.PLANNED, 4)),
        ((Readiness.NONE, 17), (Readiness.PLANNED, 3)),
        ((Readiness.NONE, 1),),
        ((Readiness.NONE, 1),),
    ),
    Stage.VALIDATING: (
        ((Readiness.PLANNED, 3), (Readiness.PARTIAL, 5), (Readiness.READY, 2)),
        ((Readiness.NONE, 2), (Readiness.PLANNED, 5), (Readiness.PARTIAL, 3)),
        ((Readiness.NONE, 5), (Readiness.PLANNED, 5)),
        ((Readiness.NONE, 7), (Readiness.PLANNED, 3)),
        ((Readiness.NONE, 8), (Readiness.PLANNED, 2)),
    ),
    Stage.PILOT: (
        ((Readiness.PARTIAL, 11), (Readiness.READY, 9)),
        ((Readiness.PLANNED, 2), (Readiness.PARTIAL, 5), (Readiness.READY, 3)),
        ((Readiness.PARTIAL, 1), (Readiness.READY, 1)),
        ((Readiness.NONE, 3), (Readiness.PLANNED, 9), (Readiness.PARTIAL, 8)),
        ((Readiness.NONE, 2), (Readiness.PLANNED, 8), (Readiness.PARTIAL, 10)),
    ),
    # A few production use cases are below the gate on a layer: gates came after them.
    Stage.PRODUCTION: (
        ((Readiness.PARTIAL, 2), (Readiness.READY, 8)),
        ((Readiness.PARTIAL, 4), (Readiness.READY, 6)),
        ((Readiness.PARTIAL, 1), (Readiness.READY, 9)),
        ((Readiness.PLANNED, 1), (Readiness.PARTIAL, 8), (Readiness.READY, 11)),
        ((Readiness.PLANNED, 1), (Readiness.PARTIAL, 7), (Readiness.READY, 12)),
    ),
}

FRICTION_WEIGHTS_BY_STAGE = {
    Stage.PROPOSED: {"governance_gap": 2, "misaligned_value_metrics": 2, "skills_mismatch": 1},
    Stage.VALIDATING: {"governance_gap": 3, "legacy_rigidity": 3, "integration_abyss": 1, "misaligned_value_metrics": 2,
                       "skills_mismatch": 1},
    Stage.PILOT: {"integration_abyss": 3, "legacy_rigidity": 2, "monitoring_underinvestment": 1,
                  "trust_and_workflow_friction": 2, "misaligned_value_metrics": 2, "skills_mismatch": 1,
                  "governance_gap": 1},
    Stage.PRODUCTION: {"monitoring_underinvestment": 3, "trust_and_workflow_friction": 3, "skills_mismatch": 2,
                       "misaligned_value_metrics": 2},
    Stage.RETIRED: {"misaligned_value_metrics": 3, "integration_abyss": 3, "trust_and_workflow_friction": 2,
                    "governance_gap": 1},
}
FRICTION_SHARE_BY_STAGE = {Stage.PROPOSED: 0.15, Stage.VALIDATING: 0.35, Stage.PILOT: 0.55, Stage.PRODUCTION: 0.25,
                           Stage.RETIRED: 0.5}

# Shares of the situations the scans look for.
PEOPLE_LEFT_SHARE = 0.08
STALE_CONFIRMATION_SHARE = 0.12
BROKEN_FEEDBACK_SHARE = 0.15
# Production use cases whose measured KPIs stay at (or fall below) their baseline: value not realised.
VALUE_STALL_SHARE = 0.15
# Investment per value-chain layer: most units spread it; a few spend mostly on model and
# infrastructure while their data and orchestration starve (the essays' lopsided stack).
BALANCED_LAYER_SHARES = {"data": 0.30, "infrastructure": 0.20, "model": 0.20, "orchestration": 0.20, "inference": 0.10}
LOPSIDED_LAYER_SHARES = {"data": 0.06, "infrastructure": 0.36, "model": 0.46, "orchestration": 0.06, "inference": 0.06}
LOPSIDED_UNIT_SHARE = 0.3
INVESTED_QUARTERS = 4  # the latest quarters a use case records investment for
NO_TECHNICAL_OWNER_SHARE = {Stage.PROPOSED: 0.45, Stage.VALIDATING: 0.25, Stage.PILOT: 0.08, Stage.PRODUCTION: 0.05}
NO_BUSINESS_OWNER_SHARE = {Stage.PROPOSED: 0.10, Stage.VALIDATING: 0.04}
MAILBOX_OWNER_SHARE = 0.03
OBSERVATIONS_KEPT = 8


@dataclass(frozen=True)
class ScanThresholds:
    """The scan policy's thresholds, in days."""

    pilot_max_days: int
    validating_max_days: int
    inactivity_days: int
    ownership_confirmation_days: int
    kpi_observation_days: int


# The thresholds as a new Policy has them (not as the program office may have edited them),
# so that the same seed and date give the same portfolio whatever the policy row says.
POLICY = ScanThresholds(**{f.name: Policy._meta.get_field(f.name).get_default() for f in fields(ScanThresholds)})
