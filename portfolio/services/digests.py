"""After a scan: one email per owner listing what was newly flagged on what they own, and
one for the program office listing everything newly flagged.

The digests of a run go out from their own task once the scan has committed, so a slow mail
server never holds a scan (a first scan of a large portfolio mails tens of thousands of
owners). They are read with a few flat queries (values, not model instances). Each email
that went out is recorded, so a retry or a replacement sender mails only those not reached.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import islice
from dataclasses import dataclass, replace

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Case, Count, F, IntegerField, Q, Value, When, Window
from django.db.models.functions import RowNumber
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.workers import task_named
from registry.access import PROGRAM_OFFICE

from ..evidence import Evidence, Member, Table, present
from ..models import ACTIVE_STATUSES, SEVERITY_ORDER, DigestDelivery, Finding, FindingEvent, FindingKind, FindingStatus, ScanRun, Severity

# How long a sender holds a run's digests without news before another may take over; renewed
# after every RECORD_EVERY emails.
DIGEST_LEASE = datetime.timedelta(minutes=10)
RECORD_EVERY = 100
# How far back the sweeper looks for runs whose digests did not all go out.
PENDING_WINDOW = datetime.timedelta(days=2)
# The task that sends a run's digests, by its registered name: portfolio/tasks.py imports
# this module, so this module never imports it (core.workers.task_named).
SEND_DIGESTS_TASK = "portfolio.tasks.send_scan_digests_task"
KIND_LABELS = dict(FindingKind.choices)
SEVERITY_LABELS = dict(Severity.choices)
# The rows of each evidence table a digest shows (a finding may have 400 use cases); the
# finding's page, linked below each, has them all. Wider cells are cut in the text part.
DIGEST_TABLE_ROWS = 5
# The findings an email writes out in full, most severe first; it counts the rest and links to
# the inbox.
DIGEST_FINDINGS_SHOWN = 20
SEVERITIES_MOST_FIRST = SEVERITY_ORDER[::-1]
TEXT_CELL_WIDTH = 48


def _line(kind: str, severity: str, title: str) -> str:
    return f"- [{SEVERITY_LABELS[severity]}] {KIND_LABELS[kind]}: {title}"


def _finding_url(pk: int) -> str:
    return settings.SITE_URL + reverse("web:finding", args=[pk])


def _members_shown(finding_ids) -> tuple[dict[int, list[Member]], dict[int, int]]:
    """The first DIGEST_TABLE_ROWS use cases of each finding (by title), and how many each has:
    two queries, whatever the findings' sizes."""
    links = Finding.use_cases.through.objects.filter(finding_id__in=finding_ids).order_by()
    counts = dict(links.values("finding_id").annotate(n=Count("id")).values_list("finding_id", "n"))
    ranked = links.annotate(rank=Window(RowNumber(), partition_by=F("finding_id"),
                                        order_by=[F("usecase__title").asc(), F("usecase_id").asc()]))
    shown: dict[int, list[tuple]] = defaultdict(list)
    for finding_id, rank, pk, external_id, title, stage, unit in ranked.filter(rank__lte=DIGEST_TABLE_ROWS).values_list(
        "finding_id", "rank", "usecase_id", "usecase__external_id", "usecase__title", "usecase__stage",
        "usecase__business_unit__name",
    ):
        shown[finding_id].append((rank, Member(pk, external_id or str(pk), title, stage, unit)))
    return {pk: [member for _, member in sorted(rows, key=lambda row: row[0])] for pk, rows in shown.items()}, counts


def _cut(text: str, width: int = TEXT_CELL_WIDTH) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _text_table(table: Table, url: str) -> list[str]:
    rows = [[_cut(cell.text) for cell in row] for row in table.rows]
    headings = [_cut(heading) for heading in table.headings] if any(table.headings) else None
    widths = [max(len(row[i]) for row in rows + ([headings] if headings else [])) for i in range(len(rows[0]))] if rows else []
    lines = [f"  {table.caption}" + (f" ({table.total:,} in all)" if table.more else "") + ":"]
    for row in ([headings] if headings else []) + rows:
        lines.append("    " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if table.more:
        lines.append(f"    … and {table.more:,} more: {url}")
    return lines


def _text_block(line: str, evidence: Evidence, url: str) -> str:
    """A finding in the text part: its line, its evidence indented under it, and its link."""
    lines = [line, *(f"  {sentence}" for sentence in evidence.sentences)]
    for table in evidence.tables:
        lines += _text_table(table, url)
    lines.append(f"  See it: {url}")
    return "\n".join(lines)


def _program_office_addresses() -> list[str]:
    users = get_user_model().objects.filter(Q(groups__name=PROGRAM_OFFICE) | Q(is_superuser=True), is_active=True)
    return sorted({email for email in users.exclude(email="").values_list("email", flat=True)})


def _owners_by_finding(finding_ids) -> dict[int, set[str]]:
    """The active owners (emails) of the use cases and decisions each finding concerns;
    `finding_ids` may be a subquery."""
    owners: dict[int, set[str]] = defaultdict(set)
    use_case_links = Finding.use_cases.through.objects.filter(finding_id__in=finding_ids)
    decision_links = Finding.decisions.through.objects.filter(finding_id__in=finding_ids)
    owner_paths = [(use_case_links, path) for path in
                   ("usecase__business_owner", "usecase__technical_owner", "usecase__decision__owner")]
    owner_paths.append((decision_links, "decision__owner"))
    for links, path in owner_paths:
        rows = links.filter(**{f"{path}__active": True}).values_list("finding_id", f"{path}__email")
        # Fetched whole, not with iterator(): PostgreSQL plans a cursor for its first rows,
        # and that plan took minutes here where this one takes a second.
        for finding_id, email in rows:
            owners[finding_id].add(email)
    return owners


def send_scan_digests(scan_run: ScanRun) -> int:
    """Send the digests of a succeeded run that are not sent yet; returns the emails sent now.

    The sender holds a lease on the run, renewed as it goes, so two deliveries of the task
    never send at once, and a sender that died is replaced once its lease has run out (see
    send_pending_digests). Each email sent is recorded, so a retry after a failure half way
    mails only those not reached. A failure says so on the run, then raises for the retry.
    """
    if not _renew_lease(scan_run, claim=True):
        return 0
    try:
        sent = _send_unsent(scan_run)
    except Exception as exc:
        ScanRun.objects.filter(pk=scan_run.pk).update(
            digests_claimed_until=None, error=f"Findings written, but the digest emails could not be sent: {exc}"
        )
        raise
    ScanRun.objects.filter(pk=scan_run.pk).update(digests_sent_at=timezone.now(), digests_claimed_until=None, error="")
    return sent


def _renew_lease(scan_run: ScanRun, *, claim: bool = False) -> bool:
    now = timezone.now()
    runs = ScanRun.objects.filter(pk=scan_run.pk, status=ScanRun.Status.SUCCEEDED, digests_sent_at__isnull=True)
    if claim:
        runs = runs.filter(Q(digests_claimed_until__isnull=True) | Q(digests_claimed_until__lt=now))
    return bool(runs.update(digests_claimed_until=now + DIGEST_LEASE))


def _send_unsent(scan_run: ScanRun) -> int:
    newly_open = FindingEvent.objects.filter(scan_run=scan_run, to_status=FindingStatus.OPEN).values("finding_id")
    delivered = set(DigestDelivery.objects.filter(scan_run=scan_run).values_list("audience", "email"))
    unsent = compose_digests(newly_open, scan_run=scan_run, skipping=delivered)
    sent = 0
    with get_connection() as connection:
        while batch := list(islice(unsent, RECORD_EVERY)):
            done = []
            try:
                for digest in batch:
                    message = EmailMultiAlternatives(digest.subject, digest.body, settings.DEFAULT_FROM_EMAIL,
                                                     [digest.email], connection=connection)
                    message.attach_alternative(digest.html, "text/html")
                    message.send()
                    done.append(digest)
            finally:
                DigestDelivery.objects.bulk_create(
                    [DigestDelivery(scan_run=scan_run, audience=d.audience, email=d.email) for d in done],
                    ignore_conflicts=True,
                )
            sent += len(done)
            _renew_lease(scan_run)
    return sent


@dataclass(frozen=True)
class Digest:
    audience: str  # DigestDelivery.Audience
    email: str
    subject: str
    body: str  # the text part
    html: str  # the same, with the evidence's tables as tables


def _findings(count: int) -> str:
    return f"{count:,} new finding" + ("" if count == 1 else "s")


def _tally(kinds_and_severities: list[tuple[str, str]]) -> list[str]:
    """Lines counting findings per kind, most first, with their severities, most severe first:
    "Stalled pilot: 12 (2 high, 10 medium)"."""
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for kind, severity in kinds_and_severities:
        by_kind[kind][severity] += 1
    lines = []
    for kind, severities in sorted(by_kind.items(), key=lambda item: (-item[1].total(), KIND_LABELS[item[0]])):
        parts = ", ".join(f"{severities[s]:,} {SEVERITY_LABELS[s].lower()}" for s in SEVERITIES_MOST_FIRST if severities[s])
        lines.append(f"{KIND_LABELS[kind]}: {severities.total():,} ({parts})")
    return lines


def _shown_somewhere(findings: list[tuple], per_owner: dict[str, list[int]]) -> list[int]:
    """The findings some digest writes out: the first DIGEST_FINDINGS_SHOWN of each list."""
    shown = {pk for pk, *_ in findings[:DIGEST_FINDINGS_SHOWN]}
    for listed in per_owner.values():
        shown.update(listed[:DIGEST_FINDINGS_SHOWN])
    return sorted(shown)


@dataclass(frozen=True)
class Assigned:
    """The open findings assigned to one person: the most severe few, and how many in all."""

    shown: list[tuple[int, str, str, str]]  # (pk, kind, severity, title), most severe first
    count: int


def _assigned_by_email() -> dict[str, Assigned]:
    """Each active person's open assigned findings, the DIGEST_FINDINGS_SHOWN most severe of each
    with their count: two queries, however many are assigned."""
    assigned = Finding.objects.filter(status__in=ACTIVE_STATUSES, assignee__active=True).order_by()
    counts = dict(assigned.values("assignee__email").annotate(n=Count("id")).values_list("assignee__email", "n"))
    severity_rank = Case(*[When(severity=s, then=Value(i)) for i, s in enumerate(SEVERITIES_MOST_FIRST)],
                         output_field=IntegerField())
    ranked = assigned.annotate(rank=Window(RowNumber(), partition_by=F("assignee_id"),
                                           order_by=[severity_rank.asc(), F("title").asc(), F("pk").asc()]))
    shown: dict[str, list[tuple]] = defaultdict(list)
    for email, rank, pk, kind, severity, title in ranked.filter(rank__lte=DIGEST_FINDINGS_SHOWN).values_list(
            "assignee__email", "rank", "pk", "kind", "severity", "title"):
        shown[email].append((rank, (pk, kind, severity, title)))
    return {email: Assigned([row for _, row in sorted(shown[email])], count) for email, count in counts.items()}


def compose_digests(finding_ids, *, scan_run: ScanRun, skipping: set[tuple[str, str]] = frozenset()) -> Iterator[Digest]:
    """The digests for the findings `finding_ids` (newly opened or reopened; a list or a
    subquery), one at a time: one per active owner concerned or person with findings assigned
    to them, then one per program office member; none for the (audience, email) pairs in
    `skipping` (those already sent). A person's email also lists the open findings assigned to
    them (the DIGEST_FINDINGS_SHOWN most severe, a line each, then a link to the rest).

    Each email counts its findings by kind and severity and writes out the
    DIGEST_FINDINGS_SHOWN most severe with their evidence, then links to the inbox for the
    rest: a first scan of a large portfolio opens tens of thousands, and nobody reads an email
    of tens of thousands. A finding is written out once, when a digest first shows it.
    """
    findings = sorted(
        Finding.objects.filter(pk__in=finding_ids).values_list("pk", "kind", "severity", "title", "detail"),
        key=lambda row: (SEVERITIES_MOST_FIRST.index(row[2]), KIND_LABELS[row[1]], row[3], row[0]),
    )
    by_pk = {row[0]: row for row in findings}
    owners = _owners_by_finding(finding_ids)
    per_owner: dict[str, list[int]] = defaultdict(list)
    for pk, *_ in findings:
        for email in owners.get(pk, ()):
            per_owner[email].append(pk)
    members, member_counts = _members_shown(_shown_somewhere(findings, per_owner))
    written: dict[int, tuple[str, str]] = {}

    def write_out(pk: int) -> tuple[str, str]:
        if pk not in written:
            _, kind, severity, title, detail = by_pk[pk]
            evidence = present(kind, detail, members=members.get(pk, ()), member_count=member_counts.get(pk, 0)).capped(DIGEST_TABLE_ROWS)
            url = _finding_url(pk)
            written[pk] = (_text_block(_line(kind, severity, title), evidence, url), render_to_string(
                "portfolio/digest_finding.html", {
                    "severity": severity, "severity_label": SEVERITY_LABELS[severity], "kind_label": KIND_LABELS[kind],
                    "title": title, "evidence": evidence, "url": url, "site_url": settings.SITE_URL,
                }))
        return written[pk]

    def digest(audience: str, email: str, subject: str, intro: str, listed: list[int], closing: str = "",
               assigned: Assigned | None = None) -> Digest:
        tally = _tally([(by_pk[pk][1], by_pk[pk][2]) for pk in listed]) if len(listed) > 1 else []
        parts = [write_out(pk) for pk in listed[:DIGEST_FINDINGS_SHOWN]]
        more = len(listed) - len(parts)
        inbox = settings.SITE_URL + reverse("web:findings")
        more_line = f"… and {more:,} more, less severe: {inbox}" if more else ""
        assigned_section = _assigned_section(assigned) if assigned else None
        body = "\n\n".join(
            ([f"{intro}:"] if listed else []) + (["\n".join(f"- {line}" for line in tally)] if tally else [])
            + [text for text, _ in parts] + ([more_line] if more_line else [])
            + ([assigned_section.text] if assigned_section else [])
        ) + "\n" + (f"\n{closing}\n" if closing else "")
        html = render_to_string("portfolio/digest_email.html", {
            "subject": subject, "intro": intro if listed else "", "tally": tally, "findings": [html for _, html in parts],
            "more": f"{more:,}" if more else "", "inbox": inbox, "closing": closing, "site_url": settings.SITE_URL,
            "assigned": assigned_section,
        })
        return Digest(audience, email, subject, body, html)

    subject_tail = f"as of {scan_run.as_of.isoformat()}"
    assigned = _assigned_by_email()
    for email in sorted(per_owner.keys() | assigned.keys()):
        if (DigestDelivery.Audience.OWNER, email) in skipping:
            continue
        listed = per_owner.get(email, [])
        theirs = assigned.get(email)
        subject = (f"Last Mile: {_findings(len(listed))} on what you own" if listed
                   else f"Last Mile: {theirs.count:,} finding{'' if theirs.count == 1 else 's'} assigned to you")
        yield digest(
            DigestDelivery.Audience.OWNER, email, subject,
            f"The portfolio scan {subject_tail} flagged {_findings(len(listed))} on what you own", listed,
            "Acknowledge, answer or dismiss them (with a reason) in Last Mile.", assigned=theirs,
        )
    office = [email for email in _program_office_addresses()
              if (DigestDelivery.Audience.PROGRAM_OFFICE, email) not in skipping]
    if findings and office:
        listed = [pk for pk, *_ in findings]
        everything = digest(DigestDelivery.Audience.PROGRAM_OFFICE, office[0],
                             f"Last Mile: {_findings(len(listed))} in the portfolio",
                             f"The portfolio scan {subject_tail} opened {_findings(len(listed))}", listed)
        for email in office:
            yield replace(everything, email=email)


@dataclass(frozen=True)
class AssignedSection:
    text: str
    heading: str
    lines: list[tuple[str, str]]  # (line, url)
    more: str
    inbox: str


def _assigned_section(assigned: Assigned) -> AssignedSection:
    heading = f"Assigned to you, still open: {assigned.count:,} finding{'' if assigned.count == 1 else 's'}"
    lines = [(_line(kind, severity, title), _finding_url(pk)) for pk, kind, severity, title in assigned.shown]
    more = assigned.count - len(lines)
    inbox = f"{settings.SITE_URL}{reverse('web:findings')}?mine=on&status=active"
    text = "\n".join([f"{heading}:", *(f"{line}\n  {url}" for line, url in lines),
                      *([f"… and {more:,} more: {inbox}"] if more > 0 else [])])
    return AssignedSection(text, heading, lines, f"{more:,}" if more > 0 else "", inbox)


def send_pending_digests(*, within: datetime.timedelta = PENDING_WINDOW) -> list[int]:
    """The recent succeeded runs whose digests are not (all) sent and whose sender, if any,
    has let its lease run out: a worker that died sending, or a run whose retries ran out."""
    now = timezone.now()
    return list(
        ScanRun.objects.filter(
            status=ScanRun.Status.SUCCEEDED, opened__gt=0, digests_sent_at__isnull=True, finished_at__gte=now - within,
        ).filter(Q(digests_claimed_until__isnull=True) | Q(digests_claimed_until__lt=now)).values_list("pk", flat=True)
    )


def hand_pending_digests_to_workers() -> list[int]:
    """Queue the digests of every run send_pending_digests names for a worker again; returns
    those runs."""
    pending = send_pending_digests()
    for scan_run_id in pending:
        task_named(SEND_DIGESTS_TASK).apply_async(args=[scan_run_id], ignore_result=True)
    return pending
