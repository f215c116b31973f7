"""Reads of findings for the inbox (pages and API): who sees which, filters, and one page of
rows with what each row shows."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Case, Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When, Window
from django.db.models.functions import Coalesce

from core.lookups import AnyOf
from registry import access
from registry.models import Decision, Person, UseCase
from registry.selectors.ownership import owned_by, owned_decision_ids

from ..models import ACTIVE_STATUSES, SEVERITY_ORDER, Finding, FindingKind, Severity

UseCaseLinks = Finding.use_cases.through
DecisionLinks = Finding.decisions.through


def _linked(*, use_cases: QuerySet, decisions: QuerySet | list[int]) -> Q:
    """Findings linked to any of these use cases or decisions (a query, or a list of their ids):
    one IN over the union of the link tables (PostgreSQL plans it as a semi-join, where an OR of
    two INs scans every finding)."""
    of_decisions = AnyOf("decision_id", decisions) if isinstance(decisions, list) else Q(decision_id__in=decisions)
    links = [
        UseCaseLinks.objects.filter(usecase_id__in=use_cases.values("pk")).values("finding_id"),
        DecisionLinks.objects.filter(of_decisions).values("finding_id"),
    ]
    return Q(pk__in=links[0].union(links[1]))


def about_what_they_own(person: Person) -> Q:
    """Findings about a use case or decision `person` owns."""
    return _linked(use_cases=UseCase.objects.filter(owned_by(person)), decisions=owned_decision_ids(person))


def findings_for(person: Person | None, *, everything: bool, findings: QuerySet[Finding] | None = None) -> QuerySet[Finding]:
    """`findings` (default: all) a user may see: everything for the program office and
    auditors, otherwise those on what `person` owns and those assigned to them (the reach of
    portfolio.access.answerable_findings)."""
    findings = Finding.objects.all() if findings is None else findings
    if everything:
        return findings
    if person is None:
        return findings.none()
    return findings.filter(Q(assignee=person) | about_what_they_own(person))


def needing(person: Person) -> QuerySet[Finding]:
    """What an owner's home puts first: the active findings assigned to them, and the critical
    ones and the stalls about what they own; most severe and oldest first."""
    return in_inbox_order(Finding.objects.filter(
        Q(assignee=person) | (about_what_they_own(person) & (Q(severity=Severity.CRITICAL) | Q(kind=FindingKind.STALLED_PILOT))),
        status__in=ACTIVE_STATUSES,
    ).select_related("assignee"), DEFAULT_INBOX_ORDER)


@dataclass(frozen=True)
class HomeFindings:
    """The findings an owner's home counts and lists."""

    on_what_they_own: int  # active findings about a use case or decision they own
    assigned: int  # active findings assigned to them
    needing: int  # as many as `needing(person)` holds
    needing_shown: list[Finding]  # the first `shown` of `needing(person)`


def home_findings(person: Person, shown: int) -> HomeFindings:
    """What an owner's home shows of findings, in three queries whatever the portfolio. The
    active findings about what they own, and those assigned to them: each set read once, from
    the active findings' index (not their wide rows), for its counts (window counts, taken
    before the limit) and the ids of its first `shown` in inbox order, urgent ones (critical
    and stalls) first; then those rows. "Needs you" (`needing`) is the union of the assigned
    and the urgent owned ones: its count is both counts less those in both, its first rows
    among the first rows of each."""
    urgent = Q(severity=Severity.CRITICAL) | Q(kind=FindingKind.STALLED_PILOT)
    inbox_order = INBOX_ORDERS[DEFAULT_INBOX_ORDER]
    active = Finding.objects.filter(status__in=ACTIVE_STATUSES).annotate(severity_rank=_severity_rank(),
                                                                        total=Window(Count("pk")))
    owned = list(active.filter(about_what_they_own(person)).annotate(
        urgent_rank=Case(When(urgent, then=Value(0)), default=Value(1), output_field=IntegerField()),
        urgent=Window(Count("pk", filter=urgent)), urgent_assigned=Window(Count("pk", filter=urgent & Q(assignee=person))),
    ).order_by("urgent_rank", *inbox_order).values("pk", "urgent_rank", "total", "urgent", "urgent_assigned")[:shown])
    assigned = list(active.filter(assignee=person).order_by(*inbox_order).values("pk", "total")[:shown])
    first_ids = [row["pk"] for row in owned if row["urgent_rank"] == 0] + [row["pk"] for row in assigned]
    owned_counts = owned[0] if owned else {"total": 0, "urgent": 0, "urgent_assigned": 0}
    assigned_count = assigned[0]["total"] if assigned else 0
    return HomeFindings(
        on_what_they_own=owned_counts["total"], assigned=assigned_count,
        needing=owned_counts["urgent"] + assigned_count - owned_counts["urgent_assigned"],
        needing_shown=list(in_inbox_order(Finding.objects.filter(pk__in=first_ids).only(
            "id", "title", "severity", "kind", "status", "assignee", "first_seen"))[:shown]) if first_ids else [],
    )


def visible_to(actor, findings: QuerySet[Finding] | None = None) -> QuerySet[Finding]:
    """`findings` (default: all) as far as `actor` may see them: the same reach on every
    surface (inbox, API, admin)."""
    reach = access.reach(actor)
    if not reach.read:
        return Finding.objects.none()
    return findings_for(access.person_for_user(actor), everything=reach.sees_everything, findings=findings)


def filter_findings(findings: QuerySet[Finding], *, kind="", severity="", unit=None, status="", layer="",
                    owner: Person | None = None, owner_unknown=False, assignee: Person | None = None,
                    assignee_unknown=False) -> QuerySet[Finding]:
    """Findings of `kind`, `severity`, `status` ("active": open or acknowledged), about `unit`,
    whose price is put (partly) on value-chain `layer`, about what `owner` owns (or assigned to
    them), assigned to `assignee`. An owner or assignee named by an email no one has
    (`…_unknown`) matches nothing."""
    if kind:
        findings = findings.filter(kind=kind)
    if layer:
        findings = findings.filter(price_by_layer__has_key=layer)
    if severity:
        findings = findings.filter(severity=severity)
    if status == "active":
        findings = findings.filter(status__in=ACTIVE_STATUSES)
    elif status:
        findings = findings.filter(status=status)
    if unit is not None:
        findings = findings.filter(_linked(use_cases=UseCase.objects.filter(business_unit=unit),
                                           decisions=Decision.objects.filter(business_unit=unit).values("pk")))
    if owner_unknown or assignee_unknown:
        return findings.none()
    if owner is not None:
        findings = findings.filter(Q(assignee=owner) | _linked(use_cases=UseCase.objects.filter(owned_by(owner)),
                                                              decisions=owned_decision_ids(owner)))
    if assignee is not None:
        findings = findings.filter(assignee=assignee)
    return findings


def _severity_rank() -> Case:
    return Case(*(When(severity=severity, then=Value(rank)) for rank, severity in enumerate(reversed(SEVERITY_ORDER))),
                default=Value(len(SEVERITY_ORDER)), output_field=IntegerField())


def _first_unit_name() -> Subquery:
    """The name of the first (alphabetically) business unit a finding's use cases belong to."""
    return Subquery(UseCaseLinks.objects.filter(finding_id=OuterRef("pk"))
                    .order_by("usecase__business_unit__name").values("usecase__business_unit__name")[:1])


# How the inbox can be ordered: most severe first (the default), oldest first (by when it was
# first seen), by unit, by kind, newest first, or costliest first (priced findings by their
# price, then the unpriced). Within a sort, the most severe and then the oldest come first.
INBOX_ORDERS = {
    "severity": ("severity_rank", "first_seen", "id"),
    "age": ("first_seen", "severity_rank", "id"),
    "unit": (F("first_unit").asc(nulls_last=True), "severity_rank", "first_seen", "id"),
    "kind": ("kind", "severity_rank", "first_seen", "id"),
    "newest": ("-last_seen", "-id"),
    "price": (F("price").desc(nulls_last=True), "-last_seen", "-id"),
}
DEFAULT_INBOX_ORDER = "severity"
INBOX_ORDER_LABELS = {"severity": "Most severe first", "age": "Oldest first", "unit": "Business unit",
                      "kind": "Kind", "newest": "Newest first", "price": "Costliest first"}


def in_inbox_order(findings: QuerySet[Finding], order: str = DEFAULT_INBOX_ORDER) -> QuerySet[Finding]:
    """`findings` in `order` (INBOX_ORDERS)."""
    findings = findings.annotate(severity_rank=_severity_rank())
    if order == "unit":
        findings = findings.annotate(first_unit=_first_unit_name())
    return findings.order_by(*INBOX_ORDERS[order])


# The members and decisions a finding shows in a list; its own page lists them all, a page at a time.
SHOWN_IN_LIST = 5


def _count(links, column: str) -> Coalesce:
    return Coalesce(Subquery(links.objects.filter(finding_id=OuterRef("pk")).order_by().values("finding_id")
                             .annotate(n=Count(column)).values("n")), 0)


def findings_page_rows(findings: QuerySet[Finding], order: str = DEFAULT_INBOX_ORDER) -> QuerySet[Finding]:
    """One page of findings with what each row shows: its first SHOWN_IN_LIST use cases
    (`members_shown`) and decisions (`decisions_shown`) and how many it has (`member_count`,
    `decision_count`), so a finding with 400 members costs what one with two does."""
    return (
        in_inbox_order(findings, order).select_related("assignee")
        .annotate(member_count=_count(UseCaseLinks, "usecase_id"), decision_count=_count(DecisionLinks, "decision_id"))
        .prefetch_related(
            Prefetch("use_cases", queryset=finding_members()[:SHOWN_IN_LIST], to_attr="members_shown"),
            Prefetch("decisions", queryset=Decision.objects.only("id", "statement").order_by("statement", "id")[:SHOWN_IN_LIST],
                     to_attr="decisions_shown"),
        )
    )


def finding_members(finding: Finding | None = None) -> QuerySet[UseCase]:
    """The use cases a finding concerns (of all findings, for a prefetch), as its evidence names them."""
    use_cases = UseCase.objects.select_related("business_unit").only(
        "id", "title", "external_id", "stage", "business_unit__name").order_by("title", "id")
    return use_cases.filter(findings=finding) if finding is not None else use_cases


# A finding's page shows this many entries of its history, newest first.
FINDING_HISTORY_SHOWN = 100
STATUS_CHANGE_WORDS = {"open": "reopened", "acknowledged": "acknowledged", "resolved": "resolved", "dismissed": "dismissed"}


@dataclass(frozen=True)
class FindingHistoryEntry:
    when: datetime.datetime
    who: str
    what: str
    why: str


def finding_history(finding: Finding, limit: int = FINDING_HISTORY_SHOWN) -> list[FindingHistoryEntry]:
    """Who opened, acknowledged, resolved, dismissed, reopened and assigned `finding`, and why,
    newest first: its status events and the assignee changes of its history rows (two queries)."""
    entries = []
    for event in finding.events.select_related("actor").order_by("-occurred_at", "-id")[:limit]:
        who = (event.actor.get_full_name() or event.actor.get_username()) if event.actor else (
            "the scan" if event.scan_run_id else "the system")
        what = "opened" if not event.from_status else STATUS_CHANGE_WORDS.get(event.to_status, event.to_status)
        entries.append(FindingHistoryEntry(event.occurred_at, who, what, event.reason))
    previous = None
    for record in finding.history.select_related("history_user", "assignee").order_by("history_date", "history_id"):
        if record.assignee_id != previous:
            user = record.history_user
            who = (user.get_full_name() or user.get_username()) if user else "the system"
            what = f"assigned to {record.assignee.email}" if record.assignee_id else "unassigned"
            entries.append(FindingHistoryEntry(record.history_date, who, what, ""))
        previous = record.assignee_id
    return sorted(entries, key=lambda entry: entry.when, reverse=True)[:limit]
