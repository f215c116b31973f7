"""One named tuple per table the demo writes, its fields the model's column attributes: a row
goes to COPY as it is and to bulk_create as keyword arguments.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import NamedTuple


class UnitRow(NamedTuple):
    name: str
    created_at: datetime.datetime


class PersonRow(NamedTuple):
    email: str
    name: str
    business_unit_id: int | None
    active: bool
    created_at: datetime.datetime


class DecisionRow(NamedTuple):
    statement: str
    business_unit_id: int
    owner_id: int | None
    owner_confirmed_on: datetime.date | None
    frequency: str
    decisions_per_period: int
    cost_of_error: Decimal
    cost_of_delay_per_day: Decimal
    execution_point: str
    current_method: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class UseCaseRow(NamedTuple):
    decision_id: int
    external_id: str
    title: str
    summary: str
    capability: str
    business_unit_id: int
    business_owner_id: int | None
    business_owner_confirmed_on: datetime.date | None
    technical_owner_id: int | None
    technical_owner_confirmed_on: datetime.date | None
    stage: str
    stage_entered_on: datetime.date
    data_readiness: str
    infrastructure_readiness: str
    model_readiness: str
    orchestration_readiness: str
    inference_readiness: str
    expected_annual_value: Decimal | None
    monitoring_plan: str
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TransitionRow(NamedTuple):
    use_case_id: int | None
    from_stage: str
    to_stage: str
    occurred_at: datetime.datetime
    actor_id: int | None
    source: str
    reason: str


class KPIRow(NamedTuple):
    use_case_id: int | None
    name: str
    unit: str
    direction: str
    baseline: Decimal
    target: Decimal | None
    created_at: datetime.datetime
    value_per_unit: Decimal | None = None
    value_period: str = "year"


class ObservationRow(NamedTuple):
    kpi_id: int | None
    observed_on: datetime.date
    value: Decimal
    recorded_at: datetime.datetime
    recorded_by_id: int | None
    source: str


class FrictionLinkRow(NamedTuple):
    usecase_id: int
    frictionpoint_id: str


class InvestmentRow(NamedTuple):
    use_case_id: int | None
    layer: str
    period_start: datetime.date
    period_end: datetime.date
    planned: Decimal
    spent: Decimal
    recorded_at: datetime.datetime
    recorded_by_id: int | None


class DeterminationRow(NamedTuple):
    use_case_id: int
    is_high_impact: str
    hi_justification: str
    hi_potential_impacts: str
    determined_on: datetime.date
    determined_by_id: int | None


class PracticeRow(NamedTuple):
    use_case_id: int
    practice: str
    status: str
    evidence_link: str
    evidence_note: str
    updated_on: datetime.date


class WaiverRow(NamedTuple):
    use_case_id: int
    practice: str
    justification: str
    granted_on: datetime.date
    expires_on: datetime.date
    reported_on: datetime.date | None
    granted_by_id: int | None
    revoked_on: datetime.date | None
    revoked_reason: str


class ClassificationRow(NamedTuple):
    use_case_id: int
    role: str
    risk_class: str
    annex_iii_area: str
    derogation_condition: str
    profiles_natural_persons: bool
    transparency_art50: bool
    rationale: str
    classified_on: datetime.date
    classified_by_id: int | None
