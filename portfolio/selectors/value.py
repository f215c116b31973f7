"""Where value leaks, in money: for the portfolio or one business unit, the expected against
the realised annual value, the open findings' prices by cause (and by unit), and the
investment per value-chain layer. Read by the "Where value leaks" page, its CSV and
`GET /api/value/`, in a fixed number of queries whatever the portfolio's size.

Causes are finding kinds: stalled (stalled pilots), duplicated (duplicated capabilities), not
realised (value not realised), unowned (orphaned ownership), unmeasured (broken feedback
loops); each is the sum of its open findings' prices (portfolio/pricing.py), None when none
of them has a price. By unit, a finding's price is split evenly among the units of the use
cases it concerns (kept by FindingUnitShare), so the units add up to the whole. By layer, each
finding's price as the scan put it on the layers that cause it (portfolio/pricing.py,
`Finding.price_by_layer`); a finding priced before layers were is "not yet on a layer" until
the next scan, so the layers and that remainder add up to the whole too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from registry.models import VALUE_CHAIN_LAYERS, BusinessUnit, InvestmentTotal, Stage, UseCase
from registry.selectors.value import realised_total

from ..models import ACTIVE_STATUSES, Finding, FindingKind, FindingUnitShare
from .findings import filter_findings

CAUSES = {
    "stalled": FindingKind.STALLED_PILOT,
    "duplicated": FindingKind.DUPLICATE_CAPABILITY,
    "not_realised": FindingKind.VALUE_NOT_REALISED,
    "unowned": FindingKind.ORPHANED_OWNERSHIP,
    "unmeasured": FindingKind.BROKEN_FEEDBACK_LOOP,
}
# Where a leak's findings were priced before the scans put prices on layers.
NOT_ON_A_LAYER = "not_on_a_layer"
CENT = Decimal("0.01")
CAUSE_LABELS = {"stalled": "Stalled", "duplicated": "Duplicated", "not_realised": "Not realised",
                "unowned": "Unowned", "unmeasured": "Unmeasured"}


@dataclass
class ValueLeaks:
    currency: str
    unit: BusinessUnit | None
    expected: Decimal | None  # the expected annual value of the live use cases
    realised: Decimal | None  # what their KPIs realise a year
    leaks: dict[str, Decimal | None]  # by cause
    priced_findings: dict[str, int]  # by cause: how many open findings carry a price
    by_unit: list[tuple[BusinessUnit, dict[str, Decimal]]]  # each unit's leaks by cause
    investment: dict[str, tuple[Decimal, Decimal]]  # by layer: (planned, spent)
    by_layer: dict[str, dict[str, Decimal]]  # each cause's leak by layer, NOT_ON_A_LAYER for the remainder

    @property
    def has_money(self) -> bool:
        """Whether the registry holds anything to count in money here: a realised value, investment,
        an expected value or a priced finding (an imported federal inventory has none)."""
        return bool(self.realised is not None or any(spent or planned for planned, spent in self.investment.values())
                    or self.expected is not None or any(v is not None for v in self.leaks.values()))

    @property
    def leaked(self) -> Decimal:
        return sum((value for value in self.leaks.values() if value is not None), Decimal(0))


def value_leaks(*, unit: BusinessUnit | None = None) -> ValueLeaks:
    live = UseCase.objects.exclude(stage=Stage.RETIRED)
    if unit is not None:
        live = live.filter(business_unit=unit)
    summary = live.aggregate(expected=Sum("expected_annual_value"), valued=Count("expected_annual_value"))

    realised = realised_total(live)

    open_findings = filter_findings(Finding.objects.all(), status="active", unit=unit).filter(price__isnull=False)
    on_layers = {f"on_{layer}": Sum(Cast(KT(f"price_by_layer__{layer}"), DecimalField(max_digits=16, decimal_places=2)))
                 for layer in VALUE_CHAIN_LAYERS}
    by_kind = {row["kind"]: row for row in open_findings.order_by().values("kind")
               .annotate(n=Count("id"), total=Sum("price"), **on_layers)}
    leaks = {cause: by_kind[kind]["total"] if kind in by_kind else None for cause, kind in CAUSES.items()}
    priced = {cause: by_kind[kind]["n"] if kind in by_kind else 0 for cause, kind in CAUSES.items()}
    by_layer = {cause: _on_layers(by_kind.get(kind)) for cause, kind in CAUSES.items()}

    # All money recorded, a retired use case's included: it was spent.
    totals = InvestmentTotal.objects.all() if unit is None else InvestmentTotal.objects.filter(business_unit=unit)
    investment_rows = totals.order_by().values("layer").annotate(planned=Sum("planned"), spent=Sum("spent"))
    investment = {layer: (Decimal(0), Decimal(0)) for layer in VALUE_CHAIN_LAYERS}
    for row in investment_rows:
        investment[row["layer"]] = (row["planned"], row["spent"])

    return ValueLeaks(
        currency=settings.LAST_MILE_CURRENCY, unit=unit,
        expected=summary["expected"] if summary["valued"] else None, realised=realised,
        leaks=leaks, priced_findings=priced, by_unit=_by_unit(unit), investment=investment, by_layer=by_layer,
    )


def _on_layers(row: dict | None) -> dict[str, Decimal]:
    """One cause's leak by layer from its row of sums, and what its findings priced before layers
    were leave on none (NOT_ON_A_LAYER)."""
    if row is None:
        return {layer: Decimal(0) for layer in [*VALUE_CHAIN_LAYERS, NOT_ON_A_LAYER]}
    # SQLite sums the cast amounts as floats: back to cents.
    amounts = {layer: Decimal(str(row[f"on_{layer}"] or 0)).quantize(CENT) for layer in VALUE_CHAIN_LAYERS}
    return {**amounts, NOT_ON_A_LAYER: row["total"] - sum(amounts.values())}


def _by_unit(unit: BusinessUnit | None) -> list[tuple[BusinessUnit, dict[str, Decimal]]]:
    shares = FindingUnitShare.objects.filter(finding__status__in=ACTIVE_STATUSES, finding__price__isnull=False,
                                             finding__kind__in=list(CAUSES.values()))
    if unit is not None:
        shares = shares.filter(business_unit=unit)
    cause_of = {kind: cause for cause, kind in CAUSES.items()}
    totals: dict[int, dict[str, Decimal]] = defaultdict(lambda: {cause: Decimal(0) for cause in CAUSES})
    for unit_id, kind, total in (shares.order_by().values_list("business_unit_id", "finding__kind")
                                 .annotate(total=Sum("share"))):
        totals[unit_id][cause_of[kind]] = total
    units = BusinessUnit.objects.in_bulk(list(totals))
    return sorted(((units[pk], causes) for pk, causes in totals.items()), key=lambda row: row[0].name.lower())
