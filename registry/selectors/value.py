"""Value realised: what the feedback loop says a use case earns, in money, as a yearly rate.

A KPI realises value when it is priced (`value_per_unit`), has a baseline and has been
observed: its latest observation's improvement over the baseline, in the KPI's direction,
times what one unit is worth per value period, times the periods in a year. Worse than the
baseline is value lost (negative). No observation, no baseline or no price: no value (None),
never 0 — nobody knows, which is not the same as nothing.

A use case realises the sum of its KPIs that realise a value; None when none does.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Subquery, Sum

from core.bulk import id_batches

from ..models import KPI, PERIODS_PER_YEAR, KPIDirection, KPIObservation

CENT = Decimal("0.01")


def kpi_realised_value(kpi: KPI, latest_value: Decimal | None) -> Decimal | None:
    """The yearly value `kpi` realises when its latest observed value is `latest_value`."""
    if latest_value is None or kpi.baseline is None or kpi.value_per_unit is None:
        return None
    improvement = latest_value - kpi.baseline
    if kpi.direction == KPIDirection.LOWER_IS_BETTER:
        improvement = -improvement
    return (improvement * kpi.value_per_unit * PERIODS_PER_YEAR[kpi.value_period]).quantize(CENT)


def why_no_value(kpi: KPI, latest_value: Decimal | None) -> str:
    """Why `kpi` realises no value, in words; "" when it does."""
    if kpi.value_per_unit is None:
        return "not priced (no value per unit)"
    if kpi.baseline is None:
        return "no baseline to measure against"
    if latest_value is None:
        return "no observation yet"
    return ""


def total(values: Iterable[Decimal | None]) -> Decimal | None:
    """The sum of the values known; None when none is."""
    known = [value for value in values if value is not None]
    return sum(known, Decimal(0)) if known else None


def latest_observed_value(as_of: datetime.date | None = None, *, kpi: str = "pk") -> Subquery:
    """For annotating KPIs (or rows joined to them: `kpi` names the outer KPI's id, e.g.
    "kpis__id"): the value of each one's latest observation (by `as_of`, when given)."""
    observations = KPIObservation.objects.filter(kpi=OuterRef(kpi))
    if as_of is not None:
        observations = observations.filter(observed_on__lte=as_of)
    return Subquery(observations.order_by("-observed_on").values("value")[:1])


def realised_total(use_cases) -> Decimal | None:
    """The realised yearly value of the use cases of queryset `use_cases`, summed; None when none
    of them realises a known value. kpi_realised_value's rule, summed in the database over each
    KPI's latest observation as KPILatestObservation keeps it, so that a portfolio of 100,000 use
    cases neither builds a KPI in Python nor seeks its observations. The sums come grouped by
    direction and value period, whose sign and periods a year then multiply each group once
    rather than each of 60,000 KPIs: exact, decimal arithmetic either way."""
    worth = ExpressionWrapper((F("latest_observation__value") - F("baseline")) * F("value_per_unit"),
                              output_field=DecimalField(max_digits=40, decimal_places=8))
    groups = (KPI.objects.filter(use_case__in=use_cases.values("pk"), value_per_unit__isnull=False,
                                 baseline__isnull=False, latest_observation__isnull=False)
              .order_by().values_list("direction", "value_period").annotate(worth=Sum(worth)))
    sums = [(-1 if direction == KPIDirection.LOWER_IS_BETTER else 1) * PERIODS_PER_YEAR[period] * worth
            for direction, period, worth in groups]
    return sum(sums, Decimal(0)).quantize(CENT) if sums else None


def realised_values(use_case_ids: Iterable[int], *, as_of: datetime.date | None = None) -> dict[int, Decimal | None]:
    """Each use case's realised yearly value (None when unknown), in one query whatever their number."""
    ids = list(use_case_ids)
    by_use_case: dict[int, list[Decimal | None]] = {pk: [] for pk in ids}
    for batch in id_batches(ids):  # on PostgreSQL one array, however many: a scan prices tens of thousands
        kpis = (KPI.objects.filter(use_case_id__in=batch, value_per_unit__isnull=False, baseline__isnull=False)
                .annotate(latest_value=latest_observed_value(as_of))
                .only("use_case_id", "direction", "baseline", "value_per_unit", "value_period"))
        for kpi in kpis:
            by_use_case[kpi.use_case_id].append(kpi_realised_value(kpi, kpi.latest_value))
    return {pk: total(values) for pk, values in by_use_case.items()}
