"""Value not realised: production use cases whose business metric has not moved.

A use case in `production` on `as_of` is flagged when it has had its chance to show value and
none of its measured KPIs has moved toward its target:

- **measured KPI** — a KPI with a baseline and at least one observation observed on or before
  `as_of` (a KPI never observed is the broken-feedback-loop scan's, not this one's);
- **moved toward its target** — its latest observation by `as_of` is strictly better than its
  baseline: toward the target when the target differs from the baseline, else in the KPI's
  direction (higher or lower is better);
- **had its chance** — at least `policy.value_min_observations` observations of its measured
  KPIs observed since it entered production (on or after that day, by `as_of`), or more than
  `policy.value_min_production_days` days in production (exactly that many is not yet over).

The finding asks for a decision: scale (the metric moves elsewhere, or the target is wrong),
fix (integration, adoption) or stop.

Judging as of a date: the stage and the day production was entered come from the stage
transitions (as in the other scans); an observation counts when observed on or before `as_of`.

Severity: medium when the KPIs stayed where they were; high when one moved away from its
target (value is being lost); one level up when the expected annual value is at least
`HIGH_ANNUAL_VALUE`.

Identity: (use case,). Substance: (worse,) — a flat metric turning worse raises a dismissed
finding again.

One query whatever the portfolio's size: the production use cases with their measured KPIs
and the number of those KPIs' observations since production.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from portfolio.models import FindingKind, Severity
from registry.models import KPIDirection, KPIObservation, Stage
from registry.selectors.value import kpi_realised_value, latest_observed_value, total

from .base import Detected, entered_stage_by, severity_up, use_cases_on

KIND = FindingKind.VALUE_NOT_REALISED
HIGH_ANNUAL_VALUE = Decimal("1000000")
# An observation's value as stored: SQLite hands a subquery's decimal back as a float's 15 digits.
OBSERVED_PLACES = Decimal(1).scaleb(-KPIObservation._meta.get_field("value").decimal_places)
DECISION_ASKED = ["scale", "fix", "stop"]


class _KPI:
    """The facts of one measured KPI the rule reads (and kpi_realised_value, for its price)."""

    def __init__(self, row: dict):
        self.pk, self.name = row["kpis__id"], row["kpis__name"]
        self.baseline, self.target = row["kpis__baseline"], row["kpis__target"]
        self.direction = row["kpis__direction"]
        self.value_per_unit, self.value_period = row["kpis__value_per_unit"], row["kpis__value_period"]
        self.latest = Decimal(row["latest_value"]).quantize(OBSERVED_PLACES)

    def progress(self) -> int:
        """+1 moved toward its target, 0 stayed, -1 moved away."""
        if self.target is not None and self.target != self.baseline:
            toward = 1 if self.target > self.baseline else -1
        else:
            toward = 1 if self.direction == KPIDirection.HIGHER_IS_BETTER else -1
        change = (self.latest - self.baseline) * toward
        return (change > 0) - (change < 0)


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    # Its measured KPIs' observations since it entered production, counted in the database: a
    # large portfolio holds hundreds of thousands.
    observed_since = (KPIObservation.objects.filter(kpi__use_case=OuterRef("pk"), kpi__baseline__isnull=False,
                                                    observed_on__gte=OuterRef("live_since"), observed_on__lte=as_of)
                      .order_by().values("kpi__use_case").annotate(n=Count("pk")).values("n"))
    rows = (
        use_cases_on(as_of, [Stage.PRODUCTION])
        .filter(kpis__baseline__isnull=False)
        .annotate(latest_value=latest_observed_value(as_of, kpi="kpis__id"))
        .filter(latest_value__isnull=False)
        .annotate(live_since=entered_stage_by(as_of), observed_live=Coalesce(Subquery(observed_since), 0))
        .values("pk", "title", "live_since", "observed_live", "decision_id", "expected_annual_value",
                "kpis__id", "kpis__name", "kpis__baseline", "kpis__target", "kpis__direction",
                "kpis__value_per_unit", "kpis__value_period", "latest_value")
    )
    use_cases: dict[int, dict] = {}
    for row in rows:
        use_case = use_cases.setdefault(row["pk"], {**row, "kpis": []})
        use_case["kpis"].append(_KPI(row))

    found = []
    for pk, use_case in use_cases.items():
        live_since = use_case["live_since"]
        days_live = (as_of - live_since).days
        kpis = use_case["kpis"]
        if any(kpi.progress() > 0 for kpi in kpis):
            continue
        observed_live = use_case["observed_live"]
        if observed_live < policy.value_min_observations and days_live <= policy.value_min_production_days:
            continue
        worse = any(kpi.progress() < 0 for kpi in kpis)
        found.append(_detected(pk, use_case, worse=worse, live_since=live_since, days_live=days_live,
                               observed_live=observed_live, policy=policy))
    found.sort(key=lambda d: d.identity)
    return found


def _detected(pk: int, use_case: dict, *, worse: bool, live_since: datetime.date, days_live: int,
              observed_live: int, policy) -> Detected:
    level = Severity.HIGH if worse else Severity.MEDIUM
    expected = use_case["expected_annual_value"]
    if expected is not None and expected >= HIGH_ANNUAL_VALUE:
        level = severity_up(level)
    kpis = sorted(use_case["kpis"], key=lambda kpi: kpi.name)
    realised = total(kpi_realised_value(kpi, kpi.latest) for kpi in kpis)
    how = "moved away from its target" if worse else "not moved toward its target"
    subject = "its KPI has" if len(kpis) == 1 else "its KPIs have"
    if worse and len(kpis) > 1:
        how = "not moved toward their targets, and one moved away"
    elif len(kpis) > 1:
        how = "not moved toward their targets"
    title = f"'{use_case['title']}' is in production but {subject} {how}: scale, fix or stop?"[:300]
    detail = {
        "kpis": [{"name": kpi.name, "baseline": str(kpi.baseline), "target": None if kpi.target is None
                  else str(kpi.target), "latest": str(kpi.latest),
                  "moved": {1: "toward target", 0: "not at all", -1: "away from target"}[kpi.progress()]}
                 for kpi in kpis],
        "worse": worse,
        "in_production_since": live_since.isoformat(),
        "days_in_production": days_live,
        "observations_in_production": observed_live,
        "observation_limit": policy.value_min_observations,
        "production_days_limit": policy.value_min_production_days,
        "expected_annual_value": None if expected is None else str(expected),
        "realised_annual_value": None if realised is None else str(realised),
        "decision_asked": DECISION_ASKED,
    }
    return Detected(
        kind=KIND,
        identity=(pk,),
        substance=(worse,),
        # The days in production grow by the day; the rest holds until a KPI or the policy moves.
        facts=(title, {key: value for key, value in detail.items() if key != "days_in_production"}),
        severity=level,
        title=title,
        use_case_ids=[pk],
        decision_ids=[use_case["decision_id"]],
        detail=detail,
    )
