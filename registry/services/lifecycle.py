"""Moving a use case through its stages: the only code that changes a stage in the product."""

from __future__ import annotations

import datetime

from django.utils import timezone

from core.actors import acting_user
from core.versioning import versioned_write

from .. import access
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
    queryset = UseCase.objects.select_related("decision", "business_owner", "technical_owner")
    with versioned_write(queryset, use_case.pk, actor=actor, expected_version=expected_version) as write:
        locked = write.current
        access.require(access.can_change_use_case(actor, locked), "You may move only the use cases you own.")
        unmet = unmet_conditions(locked, to_stage, reason=reason, on=timezone.localdate(moved_at))
        if unmet:
            raise MoveRefused(locked, to_stage, unmet)
        from_stage = locked.stage
        locked.stage = to_stage
        locked.stage_entered_on = timezone.localdate(moved_at)
        locked._history_date = moved_at  # a move recorded after the fact is dated when it happened
        write.save(fields=["stage", "stage_entered_on"], reason=f"stage {from_stage} → {to_stage}", at=moved_at)
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
