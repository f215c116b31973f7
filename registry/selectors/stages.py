"""Since when a use case has been in its stage, as far as the data can show it.

A stage transition is either **dated** (the stage was entered that day: a move in the product,
or a stage date the source gave) or not (an imported inventory reported the stage without the
day it began: the transition sits on the inventory's date, by which the stage was held). A use
case linked to its report in an earlier inventory (`UseCase.earlier_report`) has that report's
transitions as its past, so a 2025 row still in development shows the 2024 row's "in
development since 2021".
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from ..models import StageTransition


@dataclass(frozen=True)
class Step:
    stage: str
    day: datetime.date
    dated: bool


@dataclass(frozen=True)
class Since:
    """`day` the stage was entered (`exact`), or by which it was already held; None: unknown."""

    day: datetime.date | None
    exact: bool = False

    def days_by(self, judged_on: datetime.date) -> int | None:
        """Days in the stage on `judged_on` (at least that many when not exact); None when the data
        cannot tell (no date, or only the judged day itself, which shows no duration)."""
        if self.day is None or self.day > judged_on:
            return None
        days = (judged_on - self.day).days
        return days if self.exact or days > 0 else None


def stage_since(steps: Iterable[Step], stage: str) -> Since:
    """Since when `stage`, the stage after the last of `steps` (oldest first), has been held: the
    first step of the unbroken run of `stage` at the end. A run that begins with an undated step
    was held by that day and entered then or earlier."""
    run_start = None
    for step in steps:
        if step.stage != stage:
            run_start = None
        elif run_start is None:
            run_start = step
    if run_start is None:
        return Since(None)
    return Since(run_start.day, run_start.dated)


def steps_of(transitions: Iterable[StageTransition]) -> list[Step]:
    """Steps of transitions in any order, oldest first (ties in id order)."""
    ordered = sorted(transitions, key=lambda t: (t.occurred_at, t.pk or 0))
    return [Step(t.to_stage, timezone.localdate(t.occurred_at), t.dated) for t in ordered]

