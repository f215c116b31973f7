"""Use cases: registering, editing, owners confirming, and stating the decision of an imported
one. Their stage moves are in `lifecycle.py`."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from core.actors import acting_user, is_system
from core.errors import InvalidInput, Refused
from core.text import collapse_whitespace
from core.validation import validated
from core.versioning import versioned_write

from .. import access
from ..models import Decision, FrictionPoint, Stage, StageTransition, TransitionSource, UseCase
from ..signals import texts_changed

REGISTER_OWN = ("You can only register a use case you own (as business or technical owner) "
                "or that serves a decision you own.")
OTHERS_DECISION = ("A use case serves another owner's decision only if you are its business owner and the decision "
                   "is of your own business unit; ask the decision's owner or the program office.")
KEEP_A_ROLE = "You cannot hand this use case to others and keep no role on it; ask the program office to reassign it."


def register_use_case(
    *, use_case: UseCase, actor, source: str = TransitionSource.PRODUCT, reason: str = "",
    friction_points: list[FrictionPoint] | None = None, on: datetime.datetime | None = None,
) -> UseCase:
    """Register a new use case in `proposed`, writing its first transition (and its friction points)."""
    access.require(access.can_change_use_case(actor, use_case), REGISTER_OWN)
    access.require(access.can_attach_to_decision(actor, use_case.decision, use_case), OTHERS_DECISION)
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
        validated(use_case)
        use_case.save()
        texts_changed.send(sender=UseCase, use_case_ids=[use_case.pk])
        if friction_points:
            use_case.friction_points.set(friction_points)
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
    *, use_case: UseCase, actor, expected_version: int | None = None,
    friction_points: list[FrictionPoint] | None = None, on: datetime.date | None = None,
) -> UseCase:
    """Save edits made to `use_case` (never its stage: see lifecycle.move_use_case), and its
    friction points when given, as one new version.

    The actor must be allowed to change the use case as it was and as it will be. Refuses with
    StaleVersion when `expected_version` is given and someone saved in between. A changed
    owner starts that owner's confirmation clock.
    """
    access.require(access.can_change_use_case(actor, use_case), KEEP_A_ROLE)
    today = on or timezone.localdate()
    queryset = UseCase.objects.select_related("decision")
    with versioned_write(queryset, use_case.pk, actor=actor, expected_version=expected_version) as write:
        current = write.current
        access.require(access.can_change_use_case(actor, current), "You may change only the use cases you own.")
        if use_case.decision_id != current.decision_id:
            access.require(access.can_attach_to_decision(actor, use_case.decision, use_case), OTHERS_DECISION)
        if use_case.business_unit_id != current.business_unit_id:
            access.require(access.can_move_between_units(actor), "Only the program office moves a use case to another business unit.")
        use_case.stage, use_case.stage_entered_on = current.stage, current.stage_entered_on
        for role in ("business", "technical"):
            owner_id = getattr(use_case, f"{role}_owner_id")
            if owner_id != getattr(current, f"{role}_owner_id"):
                setattr(use_case, f"{role}_owner_confirmed_on", today if owner_id else None)
        validated(use_case, stored=current)
        write.save(use_case)
        if (use_case.title, use_case.summary) != (current.title, current.summary):
            texts_changed.send(sender=UseCase, use_case_ids=[use_case.pk])
        if friction_points is not None:
            use_case.friction_points.set(friction_points)
    return use_case


def confirm_use_case_ownership(*, use_case: UseCase, actor, person=None, on: datetime.date | None = None) -> UseCase:
    """The acting owner confirms they still own `use_case`, in whichever roles they hold.

    A login confirms for themselves; the system (recording a confirmation made elsewhere)
    names the `person` who confirmed.
    """
    today = on or timezone.localdate()
    with versioned_write(UseCase.objects.all(), use_case.pk, actor=actor, reason="owner confirmed") as write:
        if is_system(actor) and person is not None:
            confirming = person
        else:
            access.require(access.can_confirm_use_case_ownership(actor, write.current),
                           "Only an owner of the use case confirms, for themselves.")
            confirming = access.person_for_user(actor)
            access.require(person is None or person.pk == confirming.pk, "Owners confirm for themselves only.")
        person = confirming
        if person.pk not in (write.current.business_owner_id, write.current.technical_owner_id):
            raise Refused(f"{person.email} owns no role on '{write.current}'.")
        fields = [f"{role}_owner_confirmed_on" for role in ("business", "technical")
                  if getattr(write.current, f"{role}_owner_id") == person.pk]
        for field in fields:
            setattr(write.current, field, today)
        write.save(fields=fields)
    for field in [*fields, "version", "updated_at"]:
        setattr(use_case, field, getattr(write.current, field))
    return use_case


def state_decision(
    *,
    use_case: UseCase,
    statement: str,
    actor,
    owner=None,
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
    Refuses (InvalidInput on `statement`) when the use case already has a defined decision, or
    the statement is blank, too long or the placeholder's; StaleVersion when
    `expected_version` is stale; NotAllowed when the actor may not change the use case.
    """
    statement = collapse_whitespace(statement)
    if not statement:
        raise InvalidInput("State the decision: the statement is blank.", field="statement")
    max_length = Decision._meta.get_field("statement").max_length
    if len(statement) > max_length:
        raise InvalidInput(f"The statement is {len(statement)} characters long; at most {max_length} are allowed.",
                           field="statement")
    today = on or timezone.localdate()
    queryset = UseCase.objects.select_related("decision", "business_owner")
    with versioned_write(queryset, use_case.pk, actor=actor, expected_version=expected_version,
                         reason="decision stated") as write:
        current = write.current
        access.require(access.can_change_use_case(actor, current), "You may change only the use cases you own.")
        if current.decision.is_defined:
            raise InvalidInput(f"'{current}' already serves the decision '{current.decision.statement}'.",
                               field="statement")
        decision = Decision.objects.filter(business_unit_id=current.business_unit_id, statement=statement).first()
        if decision is not None and not decision.is_defined:
            raise InvalidInput("That is the placeholder's wording; state the decision the use case changes.",
                               field="statement")
        if decision is None:
            owner = owner or current.business_owner
            decision = Decision(
                statement=statement, business_unit_id=current.business_unit_id, owner=owner,
                owner_confirmed_on=today if owner else None, frequency=frequency, is_defined=True,
            )
            decision._history_user = acting_user(actor)
            decision._change_reason = f"stated for '{current}'"
            validated(decision, validate_unique=False, validate_constraints=False)
            decision.save()
        current.decision = decision
        write.save(fields=["decision"])
    use_case.decision, use_case.version, use_case.updated_at = decision, current.version, current.updated_at
    return decision
