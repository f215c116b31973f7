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

**Imported inventories: time as the data can show it.** A row imported from an inventory that
speaks as of a date (`UseCase.source_as_of`, the OMB inventories) is judged **on that date**,
not on `as_of`, until the product sees newer activity on it — a stage move made in the product,
an edit by a person, a KPI observation, after the inventory's date; then on `as_of`, with that
activity counted. The import is no activity and no stage entry:

- the stage began on the day the source gives (a 2025 operational date, a 2024 stage date,
  or the earlier report's, `registry.selectors.stages`: a 2025 row still in development that
  the 2024 inventory showed in development since 2021 has been in it since 2021). A stage the
  source reported without a date was held by the inventory's date and entered on a day nobody
  reported: with an earlier report showing the same stage, at least since that report's date;
  with none, **unknown**, and no time in stage is judged (the rows are countable: a blank
  operational date in pilot or production is an `inventory_completeness` gap);
- judged on the inventory's date, the inactivity rule does not apply: an inventory has no
  field for activity, so its silence is no evidence of inactivity.

So the same inventory scanned two months later gives the same stalls.

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

from django.db.models import Case, OuterRef, Q, Subquery, When

from portfolio.models import SEVERITY_ORDER, FindingKind
from registry.models import Frequency, KPIObservation, Stage, StageTransition, TransitionSource, UseCase
from registry.selectors.stages import Since, Step, stage_since, steps_of

from .base import Detected, end_of_day, latest, latest_move_by, local_day_of, severity_up, use_cases_on

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


def _since(row, steps_by_use_case) -> Since:
    """Since when the use case has held its stage on `as_of`, as far as its transitions (and its
    earlier report's) show it."""
    if row["earlier_report_id"] is not None:
        steps = steps_by_use_case.get(row["earlier_report_id"], []) + steps_by_use_case.get(row["pk"], [])
        return stage_since(steps, row["stage_on"])
    if row["moved_on"] is None:
        return Since(row["stage_entered_on"], exact=row["stage_entered_on"] is not None)
    return Since(row["moved_on"], exact=row["moved_dated"])


def _steps_of_linked(rows: list[dict], end) -> dict[int, list[Step]]:
    """The steps by then of the linked use cases and of their earlier reports."""
    ids = {row[key] for row in rows if row["earlier_report_id"] is not None for key in ("pk", "earlier_report_id")}
    transitions = StageTransition.objects.filter(use_case_id__in=ids, occurred_at__lt=end).only(
        "use_case_id", "to_stage", "occurred_at", "dated"
    )
    by_use_case: dict[int, list] = {}
    for transition in transitions:
        by_use_case.setdefault(transition.use_case_id, []).append(transition)
    return {pk: steps_of(of_use_case) for pk, of_use_case in by_use_case.items()}


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    end = end_of_day(as_of)
    # Grouped Max subqueries, not ORDER BY … LIMIT 1: the latter lets PostgreSQL walk the
    # whole date index backwards for every use case.
    edits = UseCase.history.filter(id=OuterRef("pk"), history_date__lt=end)
    last_edit = latest(edits, "id", "history_date")
    last_person_edit = latest(edits.filter(history_user__isnull=False), "id", "history_date")
    last_product_move = latest(
        StageTransition.objects.filter(use_case=OuterRef("pk"), occurred_at__lt=end).exclude(source=TransitionSource.IMPORT),
        "use_case", "occurred_at",
    )
    last_observation = latest(
        KPIObservation.objects.filter(kpi__use_case=OuterRef("pk"), observed_on__lte=as_of), "kpi__use_case", "observed_on"
    )
    # Each row pays only for the subqueries its kind of record needs (CASE runs one branch).
    imported, registered = Q(source_as_of__isnull=False), Q(source_as_of__isnull=True)
    rows = list(
        use_cases_on(as_of, STALLED_STAGES)
        .annotate(
            last_observed_on=last_observation,
            # Days, not moments: a day is all the rule reads of them.
            moved_on=local_day_of("moved_at"),
            last_edit_on=Case(When(registered, then=local_day_of(last_edit)), default=None),
            updated_on=Case(When(registered & Q(updated_at__lt=end), then=local_day_of("updated_at")), default=None),
            last_person_edit_on=Case(When(imported, then=local_day_of(last_person_edit)), default=None),
            last_product_move_on=Case(When(imported, then=local_day_of(last_product_move)), default=None),
            moved_dated=Case(When(imported, then=Subquery(latest_move_by(as_of).values("dated")[:1])), default=True),
        )
        .values(
            "pk", "title", "stage_on", "moved_on", "moved_dated", "stage_entered_on", "updated_on", "last_edit_on",
            "last_observed_on", "last_person_edit_on", "last_product_move_on", "source_as_of", "earlier_report_id",
            "decision_id", "decision__cost_of_delay_per_day", "decision__frequency",
        )
    )
    steps_by_use_case = _steps_of_linked(rows, end)
    limits = {Stage.PILOT: policy.pilot_max_days, Stage.VALIDATING: policy.validating_max_days}
    found = []
    for row in rows:
        stage = row["stage_on"]
        limit = limits[stage]
        since = _since(row, steps_by_use_case)
        inventory_as_of = row["source_as_of"]

        if inventory_as_of is None:
            judged_on = as_of
            activities = [(min(since.day, as_of), "stage_move")] if since.day is not None else []
            edit_days = [day for day in (row["last_edit_on"], row["updated_on"]) if day is not None]
            if edit_days:
                activities.append((max(edit_days), "edit"))
            if row["last_observed_on"] is not None:
                activities.append((row["last_observed_on"], "kpi_observation"))
        else:
            # Only what the product saw counts as activity: the import is none.
            seen = [(day, kind) for day, kind in (
                (row["last_product_move_on"], "stage_move"), (row["last_person_edit_on"], "edit"),
                (row["last_observed_on"], "kpi_observation"),
            ) if day is not None]
            if any(day > inventory_as_of for day, _ in seen):
                judged_on = as_of
                activities = seen + ([(since.day, "stage_move")] if since.exact else [])
            else:
                judged_on, activities = min(as_of, inventory_as_of), []

        days_in_stage = since.days_by(judged_on)
        over_stage = days_in_stage - limit if days_in_stage is not None else 0
        if activities:
            last_activity, last_activity_kind = max(activities, key=lambda a: (a[0], _ACTIVITY_PRIORITY[a[1]]))
            days_since_activity = (judged_on - last_activity).days
            over_inactivity = days_since_activity - policy.inactivity_days
        else:
            last_activity = last_activity_kind = days_since_activity = None
            over_inactivity = 0
        if over_stage <= 0 and over_inactivity <= 0:
            continue

        at_least = "" if since.exact else "at least "
        on_inventory_date = judged_on != as_of
        when = f" as of {judged_on.isoformat()}, the inventory's date" if on_inventory_date else ""
        reasons = []
        if over_stage > 0:
            reasons.append(f"in {stage} for {at_least}{days_in_stage} days, {over_stage} over the limit of {limit}{when}")
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
            title = f"'{row['title']}' has been in {stage} for {at_least}{days_in_stage} days (limit {limit}){when}"
        else:
            title = (
                f"'{row['title']}' has shown no activity in {stage} for {days_since_activity} days "
                f"(limit {policy.inactivity_days})"
            )
        entered = since.day.isoformat()
        found.append(
            Detected(
                kind=KIND,
                identity=(row["pk"], stage, entered),
                substance=(stage, entered),
                # Day counts (and the cost of delay so far) grow by the day; these do not.
                facts=(row["title"], stage, entered, since.exact, limit, over_stage > 0, over_inactivity > 0,
                       policy.inactivity_days, judged_on.isoformat() if on_inventory_date else None,
                       last_activity.isoformat() if last_activity else None, last_activity_kind,
                       _money(cost_per_day), row["decision__frequency"] or None),
                severity=severity(
                    days_over=days_over, limit=judged_limit, estimated_cost_of_delay=estimated,
                    frequency=row["decision__frequency"],
                ),
                title=title[:300],
                use_case_ids=[row["pk"]],
                decision_ids=[row["decision_id"]],
                detail={
                    "stage": stage,
                    "stage_entered_on": entered,
                    "stage_entered_on_exact": since.exact,
                    "days_in_stage": days_in_stage,
                    "limit_days": limit,
                    "judged_on": judged_on.isoformat(),
                    "inventory_as_of": inventory_as_of.isoformat() if inventory_as_of else None,
                    "days_since_activity": days_since_activity,
                    "inactivity_limit_days": policy.inactivity_days,
                    "last_activity": last_activity.isoformat() if last_activity else None,
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
