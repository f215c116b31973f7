"""Decisions: registering, editing, and their owners confirming them."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from core.actors import acting_user
from core.errors import NotAllowed
from core.versioning import versioned_write

from .. import access
from ..models import Decision

MOVE_UNITS = "Only the program office moves a decision to another business unit."
HANDS_AWAY = "A business owner registers and keeps only decisions they own; ask the program office to hand one over."


def save_decision(
    *, decision: Decision, actor, expected_version: int | None = None, on: datetime.date | None = None
) -> Decision:
    """Save a new or edited decision; a new owner starts the ownership clock.

    The actor must be allowed to change the decision as it was and as it will be. Refuses with
    StaleVersion when `expected_version` is given and someone saved in between.
    """
    access.require(access.can_change_decision(actor, decision), HANDS_AWAY)
    today = on or timezone.localdate()
    if decision.pk is None:
        with transaction.atomic():
            decision.owner_confirmed_on = today if decision.owner_id else None
            decision.version, decision.updated_at = 1, timezone.now()
            decision._history_user = acting_user(actor)
            decision.save()
        return decision
    with versioned_write(Decision.objects.all(), decision.pk, actor=actor, expected_version=expected_version) as write:
        access.require(access.can_change_decision(actor, write.current), "You may change only the decisions you own.")
        if decision.business_unit_id != write.current.business_unit_id:
            access.require(access.can_move_between_units(actor), MOVE_UNITS)
        if decision.owner_id != write.current.owner_id:
            decision.owner_confirmed_on = today if decision.owner_id else None
        write.save(decision)
    return decision


def confirm_decision_ownership(*, decision: Decision, actor, on: datetime.date | None = None) -> Decision:
    """The decision's owner confirms they still own it (a placeholder has no owner to confirm)."""
    if not decision.is_defined:
        raise NotAllowed("A placeholder decision has no owner to confirm; state the use case's decision instead.")
    with versioned_write(Decision.objects.all(), decision.pk, actor=actor, reason="owner confirmed") as write:
        access.require(access.can_confirm_decision_ownership(actor, write.current),
                       "Only the decision's owner confirms they own it.")
        write.current.owner_confirmed_on = on or timezone.localdate()
        write.save(fields=["owner_confirmed_on"])
    decision.owner_confirmed_on, decision.version = write.current.owner_confirmed_on, write.current.version
    decision.updated_at = write.current.updated_at
    return decision
