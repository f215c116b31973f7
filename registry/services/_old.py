"""Writes to the registry. Every caller (admin, API, pages, importers, commands) uses these."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.errors import StaleVersion
from ..models import (
    KPI,
    BusinessUnit,
    Decision,
    KPIObservation,
    Person,
    Stage,
    StageTransition,
    TransitionSource,
    UseCase,
)
from core.actors import acting_user
from core.text import normalise_email


def business_unit_named(*, name: str, actor=None) -> BusinessUnit:
    """The unit with this name (case-insensitive), created if new."""
    name = " ".join(name.split())
    unit = BusinessUnit.objects.filter(name__iexact=name).first()
    if unit is None:
        unit = BusinessUnit(name=name)
        unit._history_user = acting_user(actor)
        unit.save()
    return unit


def upsert_person(
    *, email: str, actor=None, name: str | None = None, business_unit: BusinessUnit | None = None, active: bool | None = None
) -> tuple[Person, bool]:
    """Create or update the directory person keyed by `email`; returns (person, changed)."""
    email = normalise_email(email)
    person = Person.objects.filter(email=email).first() or Person(email=email)
    updates = {"name": name, "business_unit": business_unit, "active": active}
    changed = person.pk is None
    for field, value in updates.items():
        if value is not None and getattr(person, field) != value:
            setattr(person, field, value)
            changed = True
    if changed:
        person._history_user = acting_user(actor)
        person.full_clean(validate_unique=False, validate_constraints=False)
        person.save()
    return person, changed


def save_decision(
    *, decision: Decision, actor, expected_version: int | None = None, on: datetime.date | None = None
) -> Decision:
    """Save a new or edited decision; a new owner starts the ownership clock.

    Refuses with StaleVersion when `expected_version` is given and someone saved in between.
    """
    today = on or timezone.localdate()
    with transaction.atomic():
        current = Decision.objects.select_for_update().filter(pk=decision.pk).first() if decision.pk else None
        if current and expected_version is not None and current.version != expected_version:
            raise StaleVersion(current, expected_version)
        previous_owner_id = current.owner_id if current else None
        if decision.owner_id != previous_owner_id:
            decision.owner_confirmed_on = today if decision.owner_id else None
        decision.version = current.version + 1 if current else 1
        decision.updated_at = timezone.now()
        decision._history_user = acting_user(actor)
        decision.save()
    return decision


def confirm_decision_ownership(*, decision: Decision, actor, on: datetime.date | None = None) -> Decision:
    with transaction.atomic():
        decision.version = Decision.objects.select_for_update().values_list("version", flat=True).get(pk=decision.pk) + 1
        decision.owner_confirmed_on = on or timezone.localdate()
        decision.updated_at = timezone.now()
        decision._history_user = acting_user(actor)
        decision._change_reason = "owner confirmed"
        decision.save(update_fields=["owner_confirmed_on", "version", "updated_at"])
    return decision


def register_use_case(
    *, use_case: UseCase, actor, source: str = TransitionSource.PRODUCT, reason: str = "", on: datetime.datetime | None = None
) -> UseCase:
    """Register a new use case in `proposed`, writing its first transition."""
    registered_at = on or timezone.now()
    with transaction.atomic():
        use_case.stage = Stage.PROPOSED
        use_case.stage_entered_on = timezone.localdate(registered_at)
        use_case.created_at = use_case.updated_at = registered_at
        use_case.version = 1
        for role in ("business", "technical"):
            if getattr(use_case, f"{role}_owner_id"):
                setattr(use_case, f"{role}_owner_confirmed_on", use_case.stage_entered_on)
        use_case._history_user = acting_user(actor)
        use_case._history_date = registered_at
        use_case.full_clean()
        use_case.save()
        StageTransition.objects.create(
            use_case=use_case,
            from_stage="",
            to_stage=Stage.PROPOSED,
            occurred_at=registered_at,
            actor=acting_user(actor),
            source=source,
            reason=reason,
        )
    return use_case


def edit_use_case(
    *, use_case: UseCase, actor, expected_version: int | None = None, on: datetime.date | None = None
) -> UseCase:
    """Save edits made to `use_case` (never its stage: see lifecycle.move_use_case).

    Refuses with StaleVersion when `expected_version` is given and someone saved in between.
    A changed owner starts that owner's confirmation clock.
    """
    today = on or timezone.localdate()
    with transaction.atomic():
        current = UseCase.objects.select_for_update(of=("self",)).get(pk=use_case.pk)
        if expected_version is not None and current.version != expected_version:
            raise StaleVersion(current, expected_version)
        use_case.stage, use_case.stage_entered_on = current.stage, current.stage_entered_on
        for role in ("business", "technical"):
            owner_id = getattr(use_case, f"{role}_owner_id")
            if owner_id != getattr(current, f"{role}_owner_id"):
                setattr(use_case, f"{role}_owner_confirmed_on", today if owner_id else None)
        use_case.version = current.version + 1
        use_case.updated_at = timezone.now()
        use_case._history_user = acting_user(actor)
        use_case.full_clean()
        use_case.save()
    return use_case


def confirm_use_case_ownership(*, use_case: UseCase, person: Person, actor, on: datetime.date | None = None) -> UseCase:
    """`person` confirms they still own `use_case` in whichever roles they hold."""
    today = on or timezone.localdate()
    fields = [
        f"{role}_owner_confirmed_on"
        for role in ("business", "technical")
        if getattr(use_case, f"{role}_owner_id") == person.pk
    ]
    if not fields:
        raise ValueError(f"{person.email} owns no role on '{use_case}'.")
    with transaction.atomic():
        use_case.version = UseCase.objects.select_for_update().values_list("version", flat=True).get(pk=use_case.pk) + 1
        for field in fields:
            setattr(use_case, field, today)
        use_case.updated_at = timezone.now()
        use_case._history_user = acting_user(actor)
        use_case._change_reason = "owner confirmed"
        use_case.save(update_fields=[*fields, "version", "updated_at"])
    return use_case


def add_kpi(*, kpi: KPI, actor) -> KPI:
    """Give a use case a new KPI: the business metric it is judged on (a gate condition), so
    the use case's version moves and a stale edit of it is refused.

    Raises ValidationError naming the field for a bad value, a blank name or one the use case
    already has (in any case), and ValueError for a KPI that already exists.
    """
    if kpi.pk is not None:
        raise ValueError(f"KPI '{kpi.name}' exists already; add_kpi only adds new ones.")
    kpi.name = " ".join((kpi.name or "").split())
    with transaction.atomic():
        kpi.full_clean(validate_unique=False, validate_constraints=False)
        use_case = UseCase.objects.select_for_update(of=("self",)).get(pk=kpi.use_case_id)
        if use_case.kpis.filter(name__iexact=kpi.name).exists():
            raise ValidationError({"name": f"This use case already has a KPI named '{kpi.name}'."})
        kpi._history_user = acting_user(actor)
        kpi.save()
        use_case.version += 1
        use_case.updated_at = timezone.now()
        use_case._history_user = acting_user(actor)
        use_case._change_reason = f"KPI added: {kpi.name}"
        use_case.save(update_fields=["version", "updated_at"])
    kpi.use_case.version, kpi.use_case.updated_at = use_case.version, use_case.updated_at
    return kpi


def record_kpi_observation(
    *, kpi: KPI, observed_on: datetime.date, value: Decimal, actor, source: str = TransitionSource.PRODUCT
) -> KPIObservation:
    """Record (or correct) the KPI's value on a day: one observation per KPI per day."""
    with transaction.atomic():
        observation = KPIObservation.objects.filter(kpi=kpi, observed_on=observed_on).first() or KPIObservation(
            kpi=kpi, observed_on=observed_on
        )
        observation.value = value
        observation.recorded_by = acting_user(actor)
        observation.source = source
        observation._history_user = acting_user(actor)
        observation.full_clean(validate_unique=False, validate_constraints=False)
        observation.save()
    return observation


def state_decision(
    *,
    use_case: UseCase,
    statement: str,
    actor,
    owner: Person | None = None,
    frequency: str = "",
    expected_version: int | None = None,
    on: datetime.date | None = None,
) -> Decision:
    """Give a use case that sits under a placeholder decision the decision it really serves.

    An imported inventory (the US federal one) names no decision, so its use cases wait under
    their unit's placeholder (`Decision.is_defined` false) until their owner states theirs.
    Only this use case moves: the placeholder stays for the unit's other use cases, so stating
    one decision never rewrites another use case's. A decision of the unit with the same
    statement is the same decision, and the use case joins it; otherwise a new one is created,
    owned by `owner` (default: the use case's business owner), whose ownership clock starts.
    Refuses (ValueError) when the use case already has a defined decision, or the statement
    is blank, too long or the placeholder's; StaleVersion when `expected_version` is stale.
    """
    statement = " ".join(statement.split())
    if not statement:
        raise ValueError("State the decision: the statement is blank.")
    max_length = Decision._meta.get_field("statement").max_length
    if len(statement) > max_length:
        raise ValueError(f"The statement is {len(statement)} characters long; at most {max_length} are allowed.")
    today = on or timezone.localdate()
    with transaction.atomic():
        current = UseCase.objects.select_for_update(of=("self",)).select_related("decision").get(pk=use_case.pk)
        if expected_version is not None and current.version != expected_version:
            raise StaleVersion(current, expected_version)
        if current.decision.is_defined:
            raise ValueError(f"'{current}' already serves the decision '{current.decision.statement}'.")
        decision = Decision.objects.filter(business_unit_id=current.business_unit_id, statement=statement).first()
        if decision is not None and not decision.is_defined:
            raise ValueError("That is the placeholder's wording; state the decision the use case changes.")
        if decision is None:
            owner = owner or current.business_owner
            decision = Decision(
                statement=statement, business_unit_id=current.business_unit_id, owner=owner,
                owner_confirmed_on=today if owner else None, frequency=frequency, is_defined=True,
            )
            decision._history_user = acting_user(actor)
            decision._change_reason = f"stated for '{current}'"
            decision.full_clean(validate_unique=False, validate_constraints=False)
            decision.save()
        current.decision = decision
        current.version += 1
        current.updated_at = timezone.now()
        current._history_user = acting_user(actor)
        current._change_reason = "decision stated"
        current.save(update_fields=["decision", "version", "updated_at"])
        use_case.decision, use_case.version, use_case.updated_at = decision, current.version, current.updated_at
    return decision
