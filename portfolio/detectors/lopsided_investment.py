"""Lopsided investment: a business unit whose money goes to the visible layers while the ones
that decide whether AI reaches production starve.

A unit is flagged when, over its live use cases on `as_of` (proposed to production, stage
not reported included) that recorded investment:

- **spends mostly on the visible layers** — the money it spent on the model and
  infrastructure layers, in periods begun by `as_of`, is at least `policy.lopsided_spend_share`
  of all it spent; and
- **its data or orchestration readiness lags** — the mean readiness (0 none, 1 planned,
  2 partial, 3 ready) of its data layer, or of its orchestration layer, lies at least
  `policy.lopsided_readiness_gap` below the mean of its model and infrastructure readiness.

A unit that spent nothing is not judged. Readiness is as the use cases' history recorded it
last by `as_of`; spending counts in periods begun by `as_of`.

Severity: medium; high when the visible layers took at least `HIGH_SHARE` of the spending.

Identity: (unit,). Substance: (the lagging layers,). The finding lists the unit's use cases
that recorded investment. A fixed number of queries whatever the portfolio's size.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Case, Count, IntegerField, Sum, Value, When

from portfolio.models import FindingKind, Severity
from registry.models import READINESS_ORDER, VALUE_CHAIN_LAYERS, BusinessUnit, Investment

from .base import LIVE_STAGES, Detected, readiness_on, use_cases_on

KIND = FindingKind.LOPSIDED_INVESTMENT
VISIBLE = ("model", "infrastructure")
STARVED = ("data", "orchestration")
HIGH_SHARE = 0.8


def _score(readiness: str) -> Case:
    return Case(*[When(**{readiness: level}, then=Value(i)) for i, level in enumerate(READINESS_ORDER)],
                output_field=IntegerField())


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    live = use_cases_on(as_of, LIVE_STAGES)
    spent: dict[int, dict[str, Decimal]] = defaultdict(lambda: {layer: Decimal(0) for layer in VALUE_CHAIN_LAYERS})
    invested = (Investment.objects.filter(use_case__in=live.values("pk"), period_start__lte=as_of).order_by()
                .values_list("use_case__business_unit_id", "layer").annotate(total=Sum("spent")))
    for unit_id, layer, total in invested:
        spent[unit_id][layer] = total
    spent = {unit_id: layers for unit_id, layers in spent.items() if sum(layers.values()) > 0}
    if not spent:
        return []
    invested_live = live.filter(business_unit_id__in=list(spent),
                                pk__in=Investment.objects.filter(period_start__lte=as_of).values("use_case_id"))
    readiness = {
        row["business_unit_id"]: {layer: row[layer] / row["n"] for layer in VALUE_CHAIN_LAYERS}
        for row in invested_live.annotate(**{f"{layer}_on": expression for layer, expression
                                             in readiness_on(as_of).items()})
        .order_by().values("business_unit_id")
        .annotate(n=Count("id"), **{layer: Sum(_score(f"{layer}_on")) for layer in VALUE_CHAIN_LAYERS})
    }
    found = []
    lopsided = {}
    for unit_id, layers in spent.items():
        total = sum(layers.values())
        share = float(sum(layers[layer] for layer in VALUE_CHAIN_LAYERS if layer in VISIBLE) / total)
        scores = readiness.get(unit_id)
        if scores is None or share < policy.lopsided_spend_share:
            continue
        visible_readiness = sum(scores[layer] for layer in VISIBLE) / len(VISIBLE)
        lagging = [layer for layer in STARVED if visible_readiness - scores[layer] >= policy.lopsided_readiness_gap]
        if lagging:
            lopsided[unit_id] = (layers, total, share, scores, visible_readiness, lagging)
    if not lopsided:
        return []
    names = dict(BusinessUnit.objects.filter(pk__in=list(lopsided)).values_list("pk", "name"))
    members = defaultdict(set)
    for use_case_id, unit_id in (invested_live.filter(business_unit_id__in=list(lopsided)).order_by()
                                 .values_list("pk", "business_unit_id")):
        members[unit_id].add(use_case_id)
    for unit_id, (layers, total, share, scores, visible_readiness, lagging) in lopsided.items():
        name = names[unit_id]
        starved = " and ".join(lagging)
        found.append(Detected(
            kind=KIND,
            identity=(unit_id,),
            substance=tuple(lagging),
            severity=Severity.HIGH if share >= HIGH_SHARE else Severity.MEDIUM,
            title=f"{name} spends {share:.0%} on model and infrastructure while its {starved} readiness lags"[:300],
            use_case_ids=sorted(members[unit_id]),
            detail={
                "business_unit": name,
                "spent": {layer: f"{layers[layer]:.2f}" for layer in VALUE_CHAIN_LAYERS},
                "spent_total": f"{total:.2f}",
                "visible_share": round(share, 4),
                "readiness": {layer: round(scores[layer], 2) for layer in VALUE_CHAIN_LAYERS},
                "visible_readiness": round(visible_readiness, 2),
                "lagging": lagging,
                "spend_share_limit": policy.lopsided_spend_share,
                "readiness_gap_limit": policy.lopsided_readiness_gap,
            },
        ))
    found.sort(key=lambda d: d.identity)
    return found
