"""Investment: money planned for and spent on each value-chain layer of a use case, per period.

One row per use case, layer and period start: recording the same again corrects it (the
history keeps what it said before, and who changed it).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.actors import acting_user
from core.bulk import bulk_update_with_history
from core.errors import InvalidInput, NotFound
from core.validation import validated

from .. import access
from ..models import Investment, UseCase

NOT_ALLOWED = "Investment is recorded by the program office and by the use case's own owners."
AMOUNT_FIELDS = ["period_end", "planned", "spent"]


def _check_period(investment: Investment) -> None:
    if investment.period_start and investment.period_end and investment.period_end < investment.period_start:
        raise InvalidInput(f"The period ends ({investment.period_end}) before it starts ({investment.period_start}).",
                           field="period_end")


def record_investment(*, use_case: UseCase, layer: str, period_start: datetime.date, period_end: datetime.date,
                      planned: Decimal, spent: Decimal, actor) -> Investment:
    """Record (or correct) what was planned and spent on one layer of `use_case` over a period.

    Refuses with NotAllowed unless the actor may record investment on this use case, and with
    InvalidInput naming the field for an unknown layer, a negative or malformed amount, or a
    period that ends before it starts.
    """
    access.require(access.can_record_investment(actor, use_case), NOT_ALLOWED)
    user = acting_user(actor)
    with transaction.atomic():
        investment = (Investment.objects.select_for_update()
                      .filter(use_case=use_case, layer=layer, period_start=period_start).first()
                      or Investment(use_case=use_case, layer=layer, period_start=period_start))
        investment.period_end, investment.planned, investment.spent = period_end, planned, spent
        investment.recorded_by, investment.recorded_at = user, timezone.now()
        validated(investment, validate_unique=False, validate_constraints=False)
        _check_period(investment)
        investment._history_user = user
        investment.save()
    return investment


def upsert_investments(rows: list[Investment], *, actor, dry_run: bool = False, reason: str = "") -> dict[str, int]:
    """Create or correct many investments at once, set-based and all or nothing: what an import
    writes. Each row is an unsaved Investment whose use case, layer and period start say which
    one it is; rows must already be checked (an import's reader does it, naming row and column).

    Refuses (NotAllowed) unless the actor may record investment on every use case the rows name.
    Returns the counts `{"created": n, "updated": n, "unchanged": n}`.
    """
    use_cases = {row.use_case.pk: row.use_case for row in rows}
    for use_case in use_cases.values():
        access.require(access.can_record_investment(actor, use_case), NOT_ALLOWED)
    user = acting_user(actor)
    now = timezone.now()
    with transaction.atomic():
        existing = {}
        if use_cases:
            stored = Investment.objects.filter(use_case_id__in=list(use_cases))
            if not dry_run:
                stored = stored.select_for_update()
            existing = {(i.use_case_id, i.layer, i.period_start): i for i in stored}
        to_create, to_update = [], []
        for row in rows:
            known = existing.get((row.use_case.pk, row.layer, row.period_start))
            if known is None:
                row.recorded_by, row.recorded_at = user, now
                to_create.append(row)
            elif any(getattr(known, field) != getattr(row, field) for field in AMOUNT_FIELDS):
                for field in AMOUNT_FIELDS:
                    setattr(known, field, getattr(row, field))
                known.recorded_by, known.recorded_at = user, now
                to_update.append(known)
        if not dry_run:
            bulk_create_with_history(to_create, Investment, default_user=user, default_change_reason=reason)
            bulk_update_with_history(to_update, [*AMOUNT_FIELDS, "recorded_by", "recorded_at"], default_user=user,
                                     default_change_reason=reason)
    return {"created": len(to_create), "updated": len(to_update),
            "unchanged": len(rows) - len(to_create) - len(to_update)}


def delete_investment(*, investment: Investment, actor, reason: str = "") -> None:
    """Delete a record of investment entered in error. The history keeps what it said, who deleted
    it and why; the running totals (InvestmentTotal) drop it in the same transaction.

    Refuses with NotAllowed unless the actor may record investment on its use case, and with
    NotFound when someone deleted it meanwhile.
    """
    access.require(access.can_record_investment(actor, investment.use_case), NOT_ALLOWED)
    user = acting_user(actor)
    with transaction.atomic():
        locked = Investment.objects.select_for_update().filter(pk=investment.pk).first()
        if locked is None:
            raise NotFound(f"Investment {investment.pk} no longer exists: someone deleted it meanwhile.")
        locked._history_user = user
        locked._change_reason = reason
        locked.delete()
