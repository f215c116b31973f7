"""Broken feedback loops: production use cases nobody can tell still move their business metric.

A use case in `production` on `as_of` has a broken feedback loop when:

- **no_kpi** — it has no KPI at all on `as_of`, and its source has a KPI field
  (`registry.sources`; an OMB row without one is `inventory_completeness`, once per unit);
- **no_observation** — it has KPIs but none was ever observed on or before `as_of`, and more
  than `policy.kpi_observation_days` days have passed since it entered production;
- **stale_observation** — its latest KPI observation is more than
  `policy.kpi_observation_days` days before `as_of`, and so is its entry into production.

The clock runs from the later of the latest observation and the day the use case entered
production: a use case gets a full window after going live to record its first (or first
live) observation. Exactly at the window is fine; one day over is flagged.

Judging as of a date: the stage and the day production was entered come from the stage
transitions (as in the stalled-pilot scan); a KPI counts when it was created by the end
of `as_of` or has an observation observed on or before `as_of`; an observation counts when
observed on or before `as_of`.

Severity: no KPI → high; no observation → medium; a stale observation → low, medium once
the days since the clock started reach twice the window; one level up when the use case's
expected annual value is at least `HIGH_ANNUAL_VALUE` (much value, unmeasured); never above
critical.

Identity: (use case,). Substance: (problem,).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import OuterRef

from portfolio.models import FindingKind, Severity
from registry import sources
from registry.models import KPIObservation, Stage

from .base import Detected, end_of_day, entered_stage_by, latest, severity_up, use_cases_on

KIND = FindingKind.BROKEN_FEEDBACK_LOOP

HIGH_ANNUAL_VALUE = Decimal("1000000")


def _severity(problem: str, *, days: int, window: int, expected_annual_value) -> str:
    if problem == "no_kpi":
        level = Severity.HIGH
    elif problem == "no_observation" or days >= 2 * window:
        level = Severity.MEDIUM
    else:
        level = Severity.LOW
    if expected_annual_value is not None and expected_annual_value >= HIGH_ANNUAL_VALUE:
        level = severity_up(level)
    return level


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    end = end_of_day(as_of)
    window = policy.kpi_observation_days
    kpi_last_observed = latest(KPIObservation.objects.filter(kpi=OuterRef("kpis__id"), observed_on__lte=as_of),
                               "kpi", "observed_on")
    # One row per (use case, KPI); a use case without KPIs gives one row with no KPI.
    rows = (
        use_cases_on(as_of, [Stage.PRODUCTION])
        .annotate(kpi_last_observed_on=kpi_last_observed, live_since=entered_stage_by(as_of))
        .values(
            "pk", "title", "live_since", "decision_id", "expected_annual_value", "source_format",
            "kpis__id", "kpis__name", "kpis__created_at", "kpi_last_observed_on",
        )
    )
    use_cases: dict[int, dict] = {}
    for row in rows:
        use_case = use_cases.setdefault(row["pk"], {**row, "kpis": [], "last_observation": None})
        if row["kpis__id"] is None:
            continue
        observed = row["kpi_last_observed_on"]
        if row["kpis__created_at"] >= end and observed is None:
            continue  # defined after as_of
        use_case["kpis"].append(row["kpis__name"])
        if observed is not None and (use_case["last_observation"] is None or observed > use_case["last_observation"]):
            use_case["last_observation"] = observed

    found = []
    for pk, use_case in use_cases.items():
        live_since = use_case["live_since"]
        last_observation = use_case["last_observation"]
        days_since_observation = (as_of - last_observation).days if last_observation else None
        days_since_live = (as_of - live_since).days
        if not use_case["kpis"]:
            if not sources.carries(use_case["source_format"], sources.KPI):
                continue  # the source has no KPI field: inventory_completeness says so once per unit
            problem = "no_kpi"
            days = days_since_live
        else:
            clock = max(live_since, last_observation) if last_observation else live_since
            days = (as_of - clock).days
            if days <= window:
                continue
            problem = "stale_observation" if last_observation else "no_observation"
        title = {
            "no_kpi": f"'{use_case['title']}' is in production with no KPI",
            "no_observation": (
                f"'{use_case['title']}' has been in production for {days_since_live} days "
                f"without a KPI observation (limit {window})"
            ),
            "stale_observation": (
                f"'{use_case['title']}' has had no KPI observation for {days_since_observation} days (limit {window})"
            ),
        }[problem]
        found.append(
            Detected(
                kind=KIND,
                identity=(pk,),
                substance=(problem,),
                # The days since going live or since the last observation grow by the day.
                facts=(use_case["title"], problem, sorted(use_case["kpis"]), last_observation, live_since, window),
                severity=_severity(problem, days=days, window=window,
                                   expected_annual_value=use_case["expected_annual_value"]),
                title=title[:300],
                use_case_ids=[pk],
                decision_ids=[use_case["decision_id"]],
                detail={
                    "problem": problem,
                    "kpis": sorted(use_case["kpis"]),
                    "last_observation": last_observation.isoformat() if last_observation else None,
                    "days_since_observation": days_since_observation,
                    "in_production_since": live_since.isoformat(),
                    "days_in_production": days_since_live,
                    "observation_limit_days": window,
                },
            )
        )
    found.sort(key=lambda d: d.identity)
    return found
