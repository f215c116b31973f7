"""What every detector returns, and how its identity and substance are digested."""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Case, Exists, F, Max, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Least, TruncDate
from django.utils import timezone

from core.bulk import JSONText
from portfolio.models import SEVERITY_ORDER, Finding
from registry.models import VALUE_CHAIN_LAYERS, Stage, StageTransition, UseCase

# Stages in which a use case is alive: what the scans judge. A stage not reported is alive
# (nobody said it ended) but outside the pipeline: no rule of a stage applies to it.
LIVE_STAGES = (Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION, Stage.UNREPORTED)


def digest(*parts) -> str:
    """A stable SHA-256 of JSON-serialisable parts (order matters; sort sets first)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Detected:
    """One problem a detector found on the judged date.

    `identity` names *what* is wrong and stays the same while it stays wrong (e.g. the use
    case and the stage it is stuck in); `substance` names the facts that, when they change,
    make a dismissed finding worth raising again (e.g. the members of a duplicate group, an
    owner). Both are tuples of plain values; the reconcile step digests them.
    """

    kind: str
    identity: tuple
    severity: str
    title: str
    use_case_ids: list[int] = field(default_factory=list)
    decision_ids: list[int] = field(default_factory=list)
    detail: dict = field(default_factory=dict)
    substance: tuple = ()
    price: Decimal | None = None  # what it costs in money, where the data allow (portfolio/pricing.py)
    price_by_layer: dict[str, Decimal] | None = None  # the price put on the layers that cause it, adding up to it
    # The facts behind what it says, where its title, detail and price also count days to the
    # judged date (a stall's "212 days", its cost of delay so far): while these and the severity
    # hold, a later scan rewrites the counts without a history record. None: every word counts.
    facts: tuple | None = None

    # Each digested once, after pricing (the price is content): a scan compares tens of thousands.
    @cached_property
    def fingerprint(self) -> str:
        return digest(self.kind, *self.identity)

    @cached_property
    def substance_digest(self) -> str:
        return digest(*self.substance)

    @cached_property
    def content_digest(self) -> str:
        """Everything the finding says, as written, and what it concerns: unchanged, a scan only
        moves its last-seen date."""
        price = None if self.price is None else f"{self.price:.2f}"
        # The layers only where the price is put on some, so that an unpriced finding digests as before.
        on_layers = [self.price_by_layer_as_json] if self.price_by_layer is not None else []
        return digest(self.severity, self.substance, self.title[:300], self.detail, price, sorted(self.use_case_ids),
                      sorted(self.decision_ids), *on_layers)

    @cached_property
    def price_by_layer_as_json(self) -> dict[str, str] | None:
        """The layers' amounts as stored: decimal strings to the cent (read by the content digest
        and by digested(), so after pricing too)."""
        if self.price_by_layer is None:
            return None
        return {layer: f"{amount:.2f}" for layer, amount in self.price_by_layer.items()}

    @cached_property
    def facts_digest(self) -> str:
        """What, when it changes, the finding's history records: its content, or its severity,
        substance and `facts` where the rest is the clock moving."""
        if self.facts is None:
            return self.content_digest
        return digest(self.severity, self.substance, self.facts)

    def digested(self) -> Digested:
        """What the reconcile compares and writes of it, digested now, once priced: a scan digests
        each finding in the process that detected it, beside the other detectors."""
        return Digested(
            kind=self.kind, fingerprint=self.fingerprint, substance_digest=self.substance_digest,
            content_digest=self.content_digest, facts_digest=self.facts_digest, severity=self.severity,
            title=self.title[:300], detail=JSONText(json.dumps(self.detail, cls=_DETAIL_ENCODER)),
            price=None if self.price is None else str(self.price),
            price_by_layer=None if self.price_by_layer is None else JSONText(json.dumps(self.price_by_layer_as_json)),
            use_case_ids=self.use_case_ids, decision_ids=self.decision_ids,
        )


_DETAIL_ENCODER = Finding._meta.get_field("detail").encoder


class Digested(NamedTuple):
    """A detected finding as the reconcile compares and writes it: its digests, and its JSON
    already dumped. Plain values only, so that the tens of thousands a detector process sends
    the scan (or a part of a spread scan stores) cost little to carry and nothing to dump again;
    its own list is the part's stored row (scan_parts)."""

    kind: str
    fingerprint: str
    substance_digest: str
    content_digest: str
    facts_digest: str
    severity: str
    title: str  # as stored: its first 300 characters
    detail: JSONText
    price: str | None  # the decimal's text: the column rounds it as it would the Decimal
    price_by_layer: JSONText | None
    use_case_ids: list[int]
    decision_ids: list[int]

    @classmethod
    def from_row(cls, row: list) -> Digested:
        """Back from its stored row (a list of JSON values), its JSON texts marked as such again."""
        found = cls(*row)
        return found._replace(detail=JSONText(found.detail),
                              price_by_layer=None if found.price_by_layer is None else JSONText(found.price_by_layer))


# --- Judging as of a date ---------------------------------------------------------------


def end_of_day(as_of: datetime.date) -> datetime.datetime:
    """The first instant after `as_of` in the current time zone: 'by then' means before it."""
    return timezone.make_aware(datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time.min))


def latest_move_by(as_of: datetime.date):
    """The latest stage transition of the outer use case that occurred by the end of `as_of`."""
    return StageTransition.objects.filter(use_case=OuterRef("pk"), occurred_at__lt=end_of_day(as_of)).order_by(
        "-occurred_at", "-id"
    )


def _nothing_recorded_after(as_of: datetime.date) -> bool:
    after = end_of_day(as_of)
    return not (StageTransition.objects.filter(occurred_at__gte=after).exists()
                or UseCase.objects.filter(created_at__gte=after).exists())


def stage_on(as_of: datetime.date):
    """Expression: the stage a use case was in on `as_of`, NULL when it did not exist yet.

    The latest transition by then. Without one by then, if the row was created by then: the
    stage the first later transition moved it from (blank, so not judged, when that is its
    registration), else the current stage (rows written without the services have no
    registration transition).

    NULL also for an earlier report of a use case (the OMB 2024 row of a 2025 row) once the
    later report exists: the scans judge the later one, whose history includes it.
    """
    if _nothing_recorded_after(as_of):
        # Judged after every recorded move and registration (a scan of today): the stage then is
        # the current one, and three correlated subqueries a row would only say so slower.
        return Case(When(later_report__isnull=False, then=None), default=F("stage"))
    first_move_after = StageTransition.objects.filter(
        use_case=OuterRef("pk"), occurred_at__gte=end_of_day(as_of)
    ).order_by("occurred_at", "id")
    superseded = Exists(UseCase.objects.filter(earlier_report=OuterRef("pk"), created_at__lt=end_of_day(as_of)))
    return Case(
        When(superseded, then=None),
        default=Coalesce(
            Subquery(latest_move_by(as_of).values("to_stage")[:1]),
            Case(
                When(created_at__lt=end_of_day(as_of),
                     then=Coalesce(Subquery(first_move_after.values("from_stage")[:1]), F("stage"))),
                default=None,
            ),
        ),
    )


def readiness_on(as_of: datetime.date) -> dict:
    """Expressions by value-chain layer: the outer use case's readiness of that layer on `as_of`,
    as its history recorded it last by then. A use case with no history record by then (rows
    written around the services, such as the demo's bulk load) is taken as it is now."""
    fields = {layer: f"{layer}_readiness" for layer in VALUE_CHAIN_LAYERS}
    if not UseCase.history.filter(history_date__gte=end_of_day(as_of)).exists():
        # Nothing changed since (a scan of today): the history's last word is the row itself.
        return {layer: F(name) for layer, name in fields.items()}
    recorded = UseCase.history.filter(id=OuterRef("pk"), history_date__lt=end_of_day(as_of)).order_by(
        "-history_date", "-history_id")
    return {layer: Coalesce(Subquery(recorded.values(name)[:1]), F(name)) for layer, name in fields.items()}


def local_day_of(moment) -> TruncDate:
    """The registry's day of a moment the database holds, as timezone.localdate gives it to a
    scan (which activates no other zone), computed there: a scan loading tens of thousands of
    moments only to take their day would spend longer parsing them than judging."""
    return TruncDate(moment, tzinfo=timezone.get_default_timezone())


def entered_stage_by(as_of: datetime.date) -> Least:
    """For the rows of use_cases_on: the day the stage they hold on `as_of` was entered (their
    latest move's day, else their stage_entered_on), at the latest `as_of`."""
    return Least(Coalesce(local_day_of("moved_at"), "stage_entered_on"), Value(as_of))


def use_cases_on(as_of: datetime.date, stages):
    """Use cases in one of `stages` on `as_of`, annotated `stage_on` and `moved_at`; unordered."""
    return (
        UseCase.objects.order_by()
        .annotate(stage_on=stage_on(as_of))
        .filter(stage_on__in=list(stages))
        .annotate(moved_at=Subquery(latest_move_by(as_of).values("occurred_at")[:1]))
    )


def latest(queryset, group_by: str, field: str) -> Subquery:
    """Subquery: the greatest `field` of the (correlated) `queryset`, grouped by its `group_by`."""
    return Subquery(queryset.order_by().values(group_by).annotate(latest=Max(field)).values("latest")[:1])


def severity_up(severity: str, levels: int = 1) -> str:
    return SEVERITY_ORDER[min(SEVERITY_ORDER.index(severity) + levels, len(SEVERITY_ORDER) - 1)]
