"""The program office's landing: the open findings by severity and what changed since the last
scan (what it opened and resolved, by kind and severity, and what people answered since), each
figure a link to the inbox filtered to it. A fixed number of grouped queries, whatever the size
of the portfolio."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count

from ..models import ACTIVE_STATUSES, SEVERITY_ORDER, Finding, FindingEvent, FindingKind, FindingStatus, ScanRun

SEVERITIES_MOST_FIRST = SEVERITY_ORDER[::-1]
KIND_LABELS = dict(FindingKind.choices)


@dataclass
class KindChange:
    """Findings of one kind a scan opened (or resolved), by severity, most severe first."""

    kind: str
    label: str
    by_severity: list[tuple[str, int]]
    total: int


@dataclass
class ScanChanges:
    scan: ScanRun | None
    previous: ScanRun | None
    opened: list[KindChange] = field(default_factory=list)
    reopened: int = 0
    resolved: list[KindChange] = field(default_factory=list)
    answered_since: dict[str, int] = field(default_factory=dict)  # status → findings people moved there since

    @property
    def opened_total(self) -> int:
        return sum(change.total for change in self.opened)

    @property
    def resolved_total(self) -> int:
        return sum(change.total for change in self.resolved)


def _by_kind(counts: dict[str, dict[str, int]]) -> list[KindChange]:
    """One line per kind, the kinds with the most severe findings first, then the most numerous."""
    changes = [KindChange(kind, KIND_LABELS.get(kind, kind),
                          [(s, by_severity[s]) for s in SEVERITIES_MOST_FIRST if by_severity.get(s)],
                          sum(by_severity.values()))
               for kind, by_severity in counts.items()]
    return sorted(changes, key=lambda c: (SEVERITIES_MOST_FIRST.index(c.by_severity[0][0]), -c.total, c.label))


def since_last_scan() -> ScanChanges:
    """What the latest succeeded scan changed against the one before it, and what people have
    answered since it ran."""
    runs = list(ScanRun.objects.filter(status=ScanRun.Status.SUCCEEDED).order_by("-finished_at", "-pk")[:2])
    if not runs:
        return ScanChanges(scan=None, previous=None)
    changes = ScanChanges(scan=runs[0], previous=runs[1] if len(runs) > 1 else None)
    opened, resolved = defaultdict(dict), defaultdict(dict)
    rows = (FindingEvent.objects.filter(scan_run=changes.scan).order_by()
            .values_list("to_status", "from_status", "finding__kind", "finding__severity").annotate(n=Count("id")))
    for to_status, from_status, kind, severity, n in rows:
        target = opened if to_status == FindingStatus.OPEN else resolved if to_status == FindingStatus.RESOLVED else None
        if target is None:
            continue
        target[kind][severity] = target[kind].get(severity, 0) + n
        if to_status == FindingStatus.OPEN and from_status:
            changes.reopened += n
    changes.opened, changes.resolved = _by_kind(opened), _by_kind(resolved)
    if changes.scan.finished_at:
        changes.answered_since = dict(
            FindingEvent.objects.filter(occurred_at__gt=changes.scan.finished_at, actor__isnull=False).order_by()
            .values_list("to_status").annotate(n=Count("finding", distinct=True)))
    return changes


def open_by_severity() -> list[tuple[str, int]]:
    """The active findings per severity, most severe first (zeros included)."""
    counts = dict(Finding.objects.filter(status__in=ACTIVE_STATUSES).order_by()
                  .values_list("severity").annotate(n=Count("id")))
    return [(severity, counts.get(severity, 0)) for severity in SEVERITIES_MOST_FIRST]

