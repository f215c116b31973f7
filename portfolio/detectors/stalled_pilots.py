"""Stalled pilots: use cases stuck in `pilot` or `validating` on the judged date.

A use case in `pilot` or `validating` on `as_of` is stalled when either rule holds:

- **over the stage limit** — it entered its stage more than `policy.pilot_max_days`
  (`policy.validating_max_days` for validating) days before `as_of`;
- **inactive** — its last activity lies more than `policy.inactivity_days` days before
  `as_of`. Activity is the latest of: the move into its stage, an edit of the use case, a
  KPI observation of one of its KPIs.

Exactly at a limit is not stalled; one day over is.

Judging as of a date (only what had happened by the end of `as_of`, in the project's time
zone, counts):

- the stage on `as_of` is the `to_stage` of the latest stage transition that occurred by
  then, and the day it occurred is the day the stage was entered. A use case with no
  transition by then did not exist yet and is ignored; a use case without any transition
  at all (a row written without the services) counts from its `created_at`, with its
  current stage and `stage_entered_on`;
- an edit is a history record of the use case (simple-history) dated by then, or the
  use case's `updated_at` when that is by then (the time of its latest write, which also
  covers rows written in bulk without a record per edit);
- a KPI observation counts when it was observed on or before `as_of` (a back-filled
  observation counts from the day it was observed).

Severity grows with the days over the limit and with the decision's cost of delay and
frequency:

- base, from the days over the limit of the rule that is broken the most, relative to
  that limit: under half the limit over → low; under the limit over → medium; the limit
  over or more → high (time alone never makes a stall critical: an old pilot is a fact of
  the record, not harm happening);
- one level up when the estimated cost of delay (days over × the decision's cost of delay
  per day) is at least `COST_OF_DELAY_BUMP`; one level up when the decision is made daily
  or more often; critical only with that stated, large cost of delay (waste known to
  happen), high at most otherwise.

Identity: (use case, stage, day the stage was entered), so a new stall after a move is a
new finding. Substance: (stage, day entered).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import OuterRef
from django.utils import timezone

from portfolio.models import SEVERITY_ORDER, FindingKind
from registry.models import Frequency, KPIObservation, Stage, UseCase

from .base import Detected, end_of_day, latest, severity_up, stage_entered_on, use_cases_on

KIND = FindingKind.STALLED_PILOT

STALLED_STAGES = (Stage.VALIDATING, Stage.PILOT)

# An estimated cost of delay from which a stall is one severity level worse.
COST_OF_DELAY_BUMP = Decimal("100000")

# Decisions made this often or more: each day stalled delays many decisions.
FREQUENT = {Frequency.REALTIME, Frequency.HOURLY, Frequency.DAILY}

# When two kinds of activity fall on the same day, the one named is the first of these.
_ACTIVITY_PRIORITY = {"stage_move": 2, "kpi_observation": 1, "edit": 0}


# --- The detector -------------------------------------------------------------------------


def _base_severity(days_over: int, limit: int) -> str:
    if days_over * 2 < limit:
        return SEVERITY_ORDER[0]
    if days_over < limit:
        return SEVERITY_ORDER[1]
    return SEVERITY_ORDER[2]


def severity(*, days_over: int, limit: int, estimated_cost_of_delay: Decimal | None, frequency: str) -> str:
    level = _base_severity(days_over, limit)
    costly = estimated_cost_of_delay is not None and estimated_cost_of_delay >= COST_OF_DELAY_BUMP
    bumps = int(costly) + int(frequency in FREQUENT)
    level = severity_up(level, bumps)
    if level == SEVERITY_ORDER[3] and not costly:
        return SEVERITY_ORDER[2]  # critical is waste known to happen: a delay whose cost is stated and large
    return level


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    end = end_of_day(as_of)
    # Grouped Max subqueries, not ORDER BY … LIMIT 1: the latter lets PostgreSQL walk the
    # whole date index backwards for every use case.
    last_edit = latest(UseCase.history.filter(id=OuterRef("pk"), history_date__lt=end), "id", "history_date")
    last_observation = latest(
        KPIObservation.objects.filter(kpi__use_case=OuterRef("pk"), observed_on__lte=as_of), "kpi__use_case", "observed_on"
    )
    rows = (
        use_cases_on(as_of, STALLED_STAGES)
        .annotate(last_edit_at=last_edit, last_observed_on=last_observation)
        .values(
            "pk", "title", "stage_on", "moved_at", "stage_entered_on", "updated_at", "last_edit_at", "last_observed_on",
            "decision_id", "decision__cost_of_delay_per_day", "decision__frequency",
        )
    )
    limits = {Stage.PILOT: policy.pilot_max_days, Stage.VALIDATING: policy.validating_max_days}
    found = []
    for row in rows:
        stage = row["stage_on"]
        entered_on = min(stage_entered_on(row["moved_at"], row["stage_entered_on"]), as_of)
        days_in_stage = (as_of - entered_on).days
        limit = limits[stage]

        edits = [moment for moment in (row["last_edit_at"], row["updated_at"]) if moment is not None and moment < end]
        activities = [(entered_on, "stage_move")]
        if edits:
            activities.append((timezone.localdate(max(edits)), "edit"))
        if row["last_observed_on"] is not None:
            activities.append((row["last_observed_on"], "kpi_observation"))
        last_activity, last_activity_kind = max(activities, key=lambda a: (a[0], _ACTIVITY_PRIORITY[a[1]]))
        days_since_activity = (as_of - last_activity).days

        over_stage = days_in_stage - limit
        over_inactivity = days_since_activity - policy.inactivity_days
        if over_stage <= 0 and over_inactivity <= 0:
            continue
        reasons = []
        if over_stage > 0:
            reasons.append(f"in {stage} for {days_in_stage} days, {over_stage} over the limit of {limit}")
        if over_inactivity > 0:
            reasons.append(
                f"no activity for {days_since_activity} days, {over_inactivity} over the limit of "
                f"{policy.inactivity_days} (last: {last_activity_kind.replace('_', ' ')} on {last_activity.isoformat()})"
            )
        # The rule broken the most (relative to its limit) sets the days over and the severity.
        days_over, judged_limit = max(
            [(over_stage, limit), (over_inactivity, policy.inactivity_days)], key=lambda pair: pair[0] / pair[1]
        )
        cost_per_day = row["decision__cost_of_delay_per_day"]
        estimated = cost_per_day * days_over if cost_per_day is not None else None
        if over_stage > 0:
            title = f"'{row['title']}' has been in {stage} for {days_in_stage} days (limit {limit})"
        else:
            title = (
                f"'{row['title']}' has shown no activity in {stage} for {days_since_activity} days "
                f"(limit {policy.inactivity_days})"
            )
        found.append(
            Detected(
                kind=KIND,
                identity=(row["pk"], stage, entered_on.isoformat()),
                substance=(stage, entered_on.isoformat()),
                severity=severity(
                    days_over=days_over, limit=judged_limit, estimated_cost_of_delay=estimated,
                    frequency=row["decision__frequency"],
                ),
                title=title[:300],
                use_case_ids=[row["pk"]],
                decision_ids=[row["decision_id"]],
                detail={
                    "stage": stage,
                    "stage_entered_on": entered_on.isoformat(),
                    "days_in_stage": days_in_stage,
                    "limit_days": limit,
                    "days_since_activity": days_since_activity,
                    "inactivity_limit_days": policy.inactivity_days,
                    "last_activity": last_activity.isoformat(),
                    "last_activity_kind": last_activity_kind,
                    "days_over": days_over,
                    "cost_of_delay_per_day": _money(cost_per_day),
                    "estimated_cost_of_delay": _money(estimated),
                    "decision_frequency": row["decision__frequency"] or None,
                    "reasons": reasons,
                },
            )
        )
    found.sort(key=lambda d: d.identity)
    return found
