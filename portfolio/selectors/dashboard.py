"""The portfolio dashboard's figures: one GROUP BY scan of the use cases, one of the active
findings' units (ActiveFindingUnit, by kind and unit), one of the open findings' prices by kind,
one of the investment running totals and one of the open lopsided-investment findings, so the
page runs the same number of queries at 100 or 100,000 use cases."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When

from registry.gates import LIVE_STAGE_ORDER
from registry.models import READINESS_ORDER, VALUE_CHAIN_LAYERS, BusinessUnit, InvestmentTotal, Stage, UseCase

from ..models import ActiveFindingUnit, Finding, FindingKind
from .findings import filter_findings

STAGE_ORDER = [*LIVE_STAGE_ORDER, Stage.RETIRED, Stage.UNREPORTED]
ACTIVE_STAGES = list(LIVE_STAGE_ORDER)
# Days-in-stage buckets of the "time in stage" chart, newest first.
AGE_BUCKETS = [(0, 30, "under 30 days"), (30, 90, "30–90 days"), (90, 180, "90–180 days"), (180, None, "over 180 days")]
# A unit's stack is lopsided when its best and worst layers differ by this much (0–3 scale).
LOPSIDED_SPREAD = 1.0


@dataclass
class Dashboard:
    units: list[BusinessUnit]
    unit: BusinessUnit | None
    funnel: dict[str, int]
    funnel_by_unit: list[tuple[str, dict[str, int], int]]
    ages: dict[str, list[int]]
    readiness: list[tuple[str, dict[str, float], bool, int]]
    layer_totals: dict[str, float]
    findings_by_kind_unit: list[tuple[str, dict[str, int], int]]
    findings_kinds: list[tuple[str, str]]
    value_by_stage: dict[str, tuple[int, Decimal]]
    total: int
    # Open findings with a price (portfolio/pricing.py): (kind, label, findings, their summed price).
    priced_findings: list[tuple[str, str, int, Decimal]]
    # Investment balance: each unit's (and, under None, the portfolio's) share of its spending per
    # layer, to set against its readiness; units that recorded no spending are absent.
    spend_shares: dict[str | None, dict[str, float]]
    # Units with an open lopsided_investment finding: name → the finding's id.
    lopsided_investment: dict[str, int]

    @property
    def priced_total(self) -> Decimal:
        return sum((total for *_, total in self.priced_findings), Decimal(0))


def _readiness_score(layer: str):
    return Case(
        *[When(**{f"{layer}_readiness": level}, then=Value(i)) for i, level in enumerate(READINESS_ORDER)],
        output_field=IntegerField(),
    )


def dashboard(*, unit: BusinessUnit | None, today: datetime.date) -> Dashboard:
    """The portfolio's figures: one GROUP BY scan of the use cases, one of the active findings'
    units and one of the open findings."""
    use_cases = UseCase.objects.all()
    if unit is not None:
        use_cases = use_cases.filter(business_unit=unit)
    units = list(BusinessUnit.objects.order_by("name"))
    unit_names = {u.pk: u.name for u in units}

    # One pass over the use cases, grouped by (unit, stage): counts, days-in-stage buckets,
    # expected value, and readiness sums (averages are recombined below, retired left out).
    aggregates = {"n": Count("id"), "valued": Count("expected_annual_value"), "value": Sum("expected_annual_value")}
    for index, (low, high, _) in enumerate(AGE_BUCKETS):
        condition = Q(stage_entered_on__lte=today - datetime.timedelta(days=low))
        if high is not None:
            condition &= Q(stage_entered_on__gt=today - datetime.timedelta(days=high))
        aggregates[f"b{index}"] = Count("id", filter=condition)
    for layer in VALUE_CHAIN_LAYERS:
        aggregates[layer] = Sum(_readiness_score(layer))
    rows = list(use_cases.values("business_unit_id", "stage").annotate(**aggregates).order_by())

    funnel = {s: 0 for s in STAGE_ORDER}
    per_unit: dict[int, dict[str, int]] = defaultdict(lambda: {s: 0 for s in STAGE_ORDER})
    ages = {s: [0] * len(AGE_BUCKETS) for s in ACTIVE_STAGES}
    value_by_stage = {s: (0, Decimal(0)) for s in STAGE_ORDER}
    live: dict[int, dict[str, float]] = defaultdict(lambda: {"n": 0, **{layer: 0.0 for layer in VALUE_CHAIN_LAYERS}})
    for row in rows:
        stage, unit_id = row["stage"], row["business_unit_id"]
        per_unit[unit_id][stage] = row["n"]
        funnel[stage] += row["n"]
        if stage in ages:
            ages[stage] = [a + row[f"b{i}"] for i, a in enumerate(ages[stage])]
        count, total = value_by_stage[stage]
        value_by_stage[stage] = (count + row["valued"], total + (row["value"] or Decimal(0)))
        if stage != Stage.RETIRED:
            live[unit_id]["n"] += row["n"]
            for layer in VALUE_CHAIN_LAYERS:
                live[unit_id][layer] += float(row[layer] or 0)
    funnel_by_unit = sorted(
        ((unit_names.get(uid, "?"), stages, sum(stages.values())) for uid, stages in per_unit.items()),
        key=lambda row: row[0].lower(),
    )

    # Value-chain balance: mean readiness (0 none … 3 ready) per layer per unit, live use cases.
    readiness = []
    weighted = {layer: 0.0 for layer in VALUE_CHAIN_LAYERS}
    counted = 0
    for unit_id, sums in live.items():
        if not sums["n"]:
            continue
        layer_scores = {layer: sums[layer] / sums["n"] for layer in VALUE_CHAIN_LAYERS}
        lopsided = max(layer_scores.values()) - min(layer_scores.values()) >= LOPSIDED_SPREAD
        readiness.append((unit_names.get(unit_id, "?"), layer_scores, lopsided, int(sums["n"])))
        for layer in VALUE_CHAIN_LAYERS:
            weighted[layer] += sums[layer]
        counted += int(sums["n"])
    readiness.sort(key=lambda r: r[0].lower())
    layer_totals = {layer: (weighted[layer] / counted if counted else 0.0) for layer in VALUE_CHAIN_LAYERS}

    # Open findings by kind and unit: the units of its use cases; a finding on decisions only
    # counts in the units of those decisions (ActiveFindingUnit, kept by triggers).
    by_kind_unit: dict[str, dict[str, int]] = defaultdict(dict)
    active_units = ActiveFindingUnit.objects.all() if unit is None else ActiveFindingUnit.objects.filter(business_unit=unit)
    for kind, unit_id, n in active_units.values_list("kind", "business_unit_id").annotate(n=Count("id")).order_by():
        by_kind_unit[unit_names.get(unit_id, "no unit")][kind] = n
    findings_by_kind_unit = sorted(
        ((name, kinds, sum(kinds.values())) for name, kinds in by_kind_unit.items()), key=lambda r: r[0].lower()
    )

    open_findings = filter_findings(Finding.objects.all(), status="active", unit=unit)
    prices = dict((kind, (n, total)) for kind, n, total in open_findings.filter(price__isnull=False).order_by()
                  .values("kind").annotate(n=Count("id"), total=Sum("price")).values_list("kind", "n", "total"))
    priced_findings = [(kind, label, *prices[kind]) for kind, label in FindingKind.choices if kind in prices]

    spend_shares, lopsided_investment = _investment_balance(unit, unit_names)

    return Dashboard(
        spend_shares=spend_shares, lopsided_investment=lopsided_investment,
        priced_findings=priced_findings, units=units, unit=unit, funnel=funnel, funnel_by_unit=funnel_by_unit, ages=ages, readiness=readiness,
        layer_totals=layer_totals, findings_by_kind_unit=findings_by_kind_unit,
        findings_kinds=list(FindingKind.choices), value_by_stage=value_by_stage, total=sum(funnel.values()),
    )


def _investment_balance(unit: BusinessUnit | None, unit_names: dict[int, str]):
    """Each unit's share of its spending per layer (from the running totals: units × layers rows),
    the portfolio's under None, and the units an open lopsided_investment finding names."""
    totals = InvestmentTotal.objects.all() if unit is None else InvestmentTotal.objects.filter(business_unit=unit)
    spent: dict[str | None, dict[str, Decimal]] = defaultdict(lambda: {layer: Decimal(0) for layer in VALUE_CHAIN_LAYERS})
    for unit_id, layer, amount in totals.order_by().values_list("business_unit_id", "layer").annotate(spent=Sum("spent")):
        spent[unit_names.get(unit_id, "?")][layer] += amount
        spent[None][layer] += amount
    shares = {name: {layer: float(amount / sum(layers.values())) for layer, amount in layers.items()}
              for name, layers in spent.items() if sum(layers.values()) > 0}
    lopsided = filter_findings(Finding.objects.all(), kind=FindingKind.LOPSIDED_INVESTMENT, status="active", unit=unit)
    named = {name: pk for pk, name in lopsided.values_list("pk", "detail__business_unit")}
    return shares, named
