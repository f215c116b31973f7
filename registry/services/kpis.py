"""KPIs (the business metrics a use case is judged on) and their observations."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.actors import acting_user
from core.errors import InvalidInput, Refused
from core.text import collapse_whitespace
from core.validation import validated
from core.versioning import versioned_write

from .. import access
from ..models import KPI, KPIObservation, TransitionSource, UseCase

KPI_FIELDS = ["name", "unit", "direction", "baseline", "target", "value_per_unit", "value_period"]


def _use_case_write(kpi: KPI, *, actor, reason: str):
    """A KPI is part of its use case (a gate condition): changing one is a new version of it."""
    return versioned_write(UseCase.objects.select_related("decision"), kpi.use_case_id, actor=actor, reason=reason)


def _check_name(kpi: KPI, use_case: UseCase) -> None:
    if use_case.kpis.filter(name__iexact=kpi.name).exclude(pk=kpi.pk).exists():
        raise InvalidInput(f"This use case already has a KPI named '{kpi.name}'.", field="name")


def add_kpi(*, kpi: KPI, actor) -> KPI:
    """Give a use case a new KPI; the use case's version moves, so a stale edit of it is refused.

    Refuses with InvalidInput naming the field for a bad value, a blank name or one the use
    case already has (in any case); Refused for a KPI that already exists.
    """
    if kpi.pk is not None:
        raise Refused(f"KPI '{kpi.name}' exists already; add_kpi only adds new ones.")
    kpi.name = collapse_whitespace(kpi.name or "")
    validated(kpi, validate_unique=False, validate_constraints=False)
    with _use_case_write(kpi, actor=actor, reason=f"KPI added: {kpi.name}") as write:
        access.require(access.can_change_use_case(actor, write.current), "You may add KPIs only to use cases you own.")
        _check_name(kpi, write.current)
        kpi._history_user = acting_user(actor)
        kpi.save()
        write.save(fields=[])
    kpi.use_case.version, kpi.use_case.updated_at = write.current.version, write.current.updated_at
    return kpi


def edit_kpi(*, kpi: KPI, actor) -> KPI:
    """Save edits made to an existing KPI (never which use case it belongs to)."""
    stored = KPI.objects.filter(pk=kpi.pk).values_list("use_case_id", flat=True).first()
    if stored is None:
        raise Refused("That KPI does not exist (any more); add it instead.")
    if stored != kpi.use_case_id:
        raise InvalidInput("A KPI stays with its use case; add a new one to the other use case.", field="use_case")
    kpi.name = collapse_whitespace(kpi.name or "")
    validated(kpi, validate_unique=False, validate_constraints=False)
    with _use_case_write(kpi, actor=actor, reason=f"KPI changed: {kpi.name}") as write:
        access.require(access.can_change_use_case(actor, write.current), "You may change KPIs only on use cases you own.")
        _check_name(kpi, write.current)
        kpi._history_user = acting_user(actor)
        kpi.save(update_fields=KPI_FIELDS)
        write.save(fields=[])
    return kpi


def record_kpi_observation(
    *, kpi: KPI, observed_on: datetime.date, value: Decimal, actor, source: str = TransitionSource.PRODUCT
) -> KPIObservation:
    """Record (or correct) the KPI's value on a day: one observation per KPI per day, none in the future."""
    access.require(access.can_record_kpi(actor, kpi.use_case), "You may record observations only on use cases you own.")
    if observed_on > timezone.localdate():
        raise InvalidInput("An observation cannot be in the future.", field="observed_on")
    with transaction.atomic():
        observation = KPIObservation.objects.select_for_update().filter(kpi=kpi, observed_on=observed_on).first() \
            or KPIObservation(kpi=kpi, observed_on=observed_on)
        observation.value = value
        observation.recorded_by = acting_user(actor)
        observation.source = source
        observation._history_user = acting_user(actor)
        validated(observation, validate_unique=False, validate_constraints=False)
        observation.save()
    return observation
