"""Moving a use case through its stages: the only code that changes a stage in the product."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from core.actors import acting_user
from core.errors import StaleVersion

from ..gates import Condition, MoveRefused, unmet_conditions
from ..models import Stage, StageTransition, TransitionSource, UseCase


def move_use_case(
    *,
    use_case: UseCase,
    to_stage: str,
    actor,
    reason: str = "",
    source: str = TransitionSource.PRODUCT,
    expected_version: int | None = None,
    on: datetime.datetime | None = None,
) -> UseCase:
    """Move `use_case` to `to_stage` if allowed and its gate is met; record the transition.

    Locks the row so two concurrent moves cannot both pass the gate. With
    `expected_version`, refuses (StaleVersion) when the use case changed since it was read.
    """
    if to_stage not in Stage.values:
        raise MoveRefused(use_case, to_stage, [Condition("unknown_stage", f"'{to_stage}' is not a stage")])
    moved_at = on or timezone.now()
    with transaction.atomic():
        locked = (
            UseCase.objects.select_for_update(of=("self",))
            .select_related("decision", "business_owner", "technical_owner")
            .get(pk=use_case.pk)
        )
        if expected_version is not None and locked.version != expected_version:
            raise StaleVersion(locked, expected_version)
        unmet = unmet_conditions(locked, to_stage, reason=reason)
        if unmet:
            raise MoveRefused(locked, to_stage, unmet)
        from_stage = locked.stage
        locked.stage = to_stage
        locked.stage_entered_on = timezone.localdate(moved_at)
        locked.version += 1
        locked.updated_at = moved_at
        locked._history_user = acting_user(actor)
        locked._change_reason = f"stage {from_stage} → {to_stage}"
        locked._history_date = moved_at  # a move recorded after the fact is dated when it happened
        locked.save(update_fields=["stage", "stage_entered_on", "version", "updated_at"])
        StageTransition.objects.create(
            use_case=locked,
            from_stage=from_stage,
            to_stage=to_stage,
            occurred_at=moved_at,
            actor=acting_user(actor),
            source=source,
            reason=reason.strip(),
        )
    return locked
