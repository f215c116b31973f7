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
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from core.bulk import id_batches
from registry.models import Investment, Stage, UseCase
from registry.selectors.value import realised_values

from .detectors.base import Detected, use_cases_on
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


def _price_duplicates(groups: list[Detected]) -> None:
    members = {pk for group in groups for pk in group.use_case_ids}
    if not members:
        return
    spent = dict(Investment.objects.filter(use_case_id__in=members).order_by().values("use_case_id")
                 .annotate(spent=Sum("spent")).values_list("use_case_id", "spent"))
    registered = dict(UseCase.objects.filter(pk__in=members).values_list("pk", "created_at"))
    for group in groups:
        if not any(pk in spent for pk in group.use_case_ids):
            continue
        first = min(group.use_case_ids, key=lambda pk: (registered[pk], pk))
        group.price = sum((spent.get(pk, Decimal(0)) for pk in group.use_case_ids if pk != first), Decimal(0))


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
