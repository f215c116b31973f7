"""The price of each finding, in the registry's currency, where the data allow it.

A scan prices what its detectors found before it writes them (`price_findings`), set-based:
a fixed number of queries whatever the number of findings. A finding the data cannot price
keeps no price (None), never 0.

- `stalled_pilot`: its cost of delay so far: the days over the limit × the decision's cost of
  delay per day (the detector's `estimated_cost_of_delay`).
- `duplicate_capability`: the duplicated investment: what the group's members spent beyond
  the first member (the first registered); none when no member recorded any spending.
- `orphaned_ownership` (nobody owns: a missing owner, one who left, a shared mailbox) and
  `broken_feedback_loop` (nobody measures): the realised value at risk: what the use cases it
  concerns that are in production realise a year, when that is known and positive.
- `value_not_realised`: the value not realised: the expected annual value less what is
  realised (at least 0); none without an expected value.

Each price is also put on the value-chain layers that cause it (`price_by_layer`, to the cent,
adding up to the price), for "Where value leaks" by layer:

- a stall's cost of delay and a value not realised on the least-ready layer of each use case it
  concerns, as its history recorded readiness by the scan's date (what holds a pilot back from
  production, or a live system back from moving its KPI); layers tied for least ready share it;
- a duplicate group's duplicated investment on the layers that money was spent on;
- the value at risk of what nobody owns or nobody measures on orchestration: the workflow
  around the model, where a decision is executed, owned and its KPI measured, is what is missing.

A finding over several use cases splits its price evenly among them first.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import ROUND_DOWN, Decimal

from django.db.models import Sum

from core.bulk import id_batches
from registry.models import READINESS_ORDER, VALUE_CHAIN_LAYERS, Investment, Stage, UseCase
from registry.selectors.value import realised_values

from .detectors.base import Detected, readiness_on, use_cases_on
from .models import FindingKind

CENT = Decimal("0.01")
# What the price of each kind counts, as the pages say it beside the amount.
BASIS = {
    FindingKind.STALLED_PILOT: "cost of delay so far: days over the limit × the decision's cost of delay a day",
    FindingKind.DUPLICATE_CAPABILITY: "duplicated investment: spent beyond the first member",
    FindingKind.ORPHANED_OWNERSHIP: "realised value a year at risk with nobody owning it",
    FindingKind.BROKEN_FEEDBACK_LOOP: "realised value a year at risk with nobody measuring it",
    FindingKind.VALUE_NOT_REALISED: "expected value a year not realised",
}
# Orphaned-ownership problems where nobody owns the use case (an unconfirmed owner still does).
NOBODY_OWNS = ("missing", "left", "generic_mailbox")
# The layer that should own and measure a use case: the workflow the decision is executed in.
ACCOUNTABLE_LAYER = "orchestration"
# How each kind's price is put on layers, as the pages say it.
LAYER_BASIS = {
    FindingKind.STALLED_PILOT: "on the least-ready layer of each use case",
    FindingKind.VALUE_NOT_REALISED: "on the least-ready layer of each use case",
    FindingKind.DUPLICATE_CAPABILITY: "on the layers the duplicated money was spent on",
    FindingKind.ORPHANED_OWNERSHIP: "on orchestration, the workflow that should own it",
    FindingKind.BROKEN_FEEDBACK_LOOP: "on orchestration, the workflow that should measure it",
}


def price_findings(detected: list[Detected], *, as_of: datetime.date) -> None:
    """Set `price` on each of `detected` the data allow to price."""
    by_kind = defaultdict(list)
    for found in detected:
        by_kind[found.kind].append(found)
    for found in by_kind[FindingKind.STALLED_PILOT]:
        cost = found.detail.get("estimated_cost_of_delay")
        found.price = None if cost is None else Decimal(str(cost)).quantize(CENT)
    _price_duplicates(by_kind[FindingKind.DUPLICATE_CAPABILITY])
    at_risk = [found for found in by_kind[FindingKind.ORPHANED_OWNERSHIP]
               if found.detail.get("problem") in NOBODY_OWNS] + by_kind[FindingKind.BROKEN_FEEDBACK_LOOP]
    _price_value_at_risk(at_risk, as_of=as_of)
    _price_value_not_realised(by_kind[FindingKind.VALUE_NOT_REALISED])
    _put_on_least_ready_layers(by_kind[FindingKind.STALLED_PILOT] + by_kind[FindingKind.VALUE_NOT_REALISED],
                               as_of=as_of)
    for found in at_risk:
        if found.price is not None:
            found.price_by_layer = {ACCOUNTABLE_LAYER: found.price}


def split_to_the_cent(amount: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """`amount` split in proportion to `weights` (not all zero), to the cent, adding up to it
    exactly: each part rounded down, the cents left over to the largest remainders."""
    whole = sum(weights.values())
    exact = {key: amount * weight / whole for key, weight in weights.items()}
    parts = {key: share.quantize(CENT, rounding=ROUND_DOWN) for key, share in exact.items()}
    left = int((amount - sum(parts.values())) / CENT)
    for key in sorted(exact, key=lambda key: (parts[key] - exact[key], key))[:left]:
        parts[key] += CENT
    return parts


def _put_on_least_ready_layers(findings: list[Detected], *, as_of: datetime.date) -> None:
    priced = [found for found in findings if found.price is not None and found.use_case_ids]
    concerned = {pk for found in priced for pk in found.use_case_ids}
    if not concerned:
        return
    score = {level: i for i, level in enumerate(READINESS_ORDER)}
    least_ready = {}
    readiness = readiness_on(as_of)
    for batch in id_batches(sorted(concerned)):
        for pk, *levels in (UseCase.objects.filter(pk__in=batch).annotate(**readiness)
                            .values_list("pk", *VALUE_CHAIN_LAYERS)):
            lowest = min(score[level] for level in levels)
            least_ready[pk] = [layer for layer, level in zip(VALUE_CHAIN_LAYERS, levels) if score[level] == lowest]
    for found in priced:
        weights = defaultdict(Decimal)
        for pk in found.use_case_ids:
            for layer in least_ready[pk]:
                weights[layer] += Decimal(1) / len(least_ready[pk])
        found.price_by_layer = split_to_the_cent(found.price, weights)


def _price_duplicates(groups: list[Detected]) -> None:
    members = {pk for group in groups for pk in group.use_case_ids}
    if not members:
        return
    spent = defaultdict(dict)
    for use_case_id, layer, total in (Investment.objects.filter(use_case_id__in=members).order_by()
                                      .values_list("use_case_id", "layer").annotate(spent=Sum("spent"))):
        spent[use_case_id][layer] = total
    registered = dict(UseCase.objects.filter(pk__in=members).values_list("pk", "created_at"))
    for group in groups:
        if not any(pk in spent for pk in group.use_case_ids):
            continue
        first = min(group.use_case_ids, key=lambda pk: (registered[pk], pk))
        by_layer = defaultdict(Decimal)
        for pk in group.use_case_ids:
            if pk != first:
                for layer, total in spent.get(pk, {}).items():
                    by_layer[layer] += total
        group.price = sum(by_layer.values(), Decimal(0))
        group.price_by_layer = {layer: by_layer[layer] for layer in VALUE_CHAIN_LAYERS if by_layer[layer]}


def _price_value_at_risk(findings: list[Detected], *, as_of: datetime.date) -> None:
    concerned = {pk for found in findings for pk in found.use_case_ids}
    if not concerned:
        return
    in_production = {pk for batch in id_batches(sorted(concerned))
                     for pk in use_cases_on(as_of, [Stage.PRODUCTION]).filter(pk__in=batch).values_list("pk", flat=True)}
    realised = realised_values(in_production, as_of=as_of)
    for found in findings:
        at_risk = [realised[pk] for pk in found.use_case_ids if realised.get(pk) is not None and realised[pk] > 0]
        found.price = sum(at_risk, Decimal(0)) if at_risk else None


def _price_value_not_realised(findings: list[Detected]) -> None:
    for found in findings:
        expected = found.detail.get("expected_annual_value")
        if expected is None:
            continue
        realised = Decimal(found.detail.get("realised_annual_value") or 0)
        found.price = max(Decimal(expected) - max(realised, Decimal(0)), Decimal(0)).quantize(CENT)
