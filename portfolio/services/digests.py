"""After a scan: one email per owner listing what was newly flagged on what they own, and
one for the program office listing everything newly flagged.

The digests of a run go out from their own task once the scan has committed, so a slow mail
server never holds a scan (a first scan of a large portfolio mails tens of thousands of
owners). They are read with a few flat queries (values, not model instances). Each email
that went out is recorded, so a retry or a replacement sender mails only those not reached.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.utils import timezone

from core.workers import task_named
from registry.access import PROGRAM_OFFICE

from ..models import DigestDelivery, Finding, FindingEvent, FindingKind, FindingStatus, ScanRun, Severity

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


def _line(kind: str, severity: str, title: str) -> str:
    return f"- [{SEVERITY_LABELS[severity]}] {KIND_LABELS[kind]}: {title}"


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
    unsent = [digest for digest in compose_digests(newly_open, scan_run=scan_run)
              if (digest.audience, digest.email) not in delivered]
    sent = 0
    with get_connection() as connection:
        for start in range(0, len(unsent), RECORD_EVERY):
            batch = unsent[start:start + RECORD_EVERY]
            done = []
            try:
                for digest in batch:
                    EmailMessage(digest.subject, digest.body, settings.DEFAULT_FROM_EMAIL, [digest.email],
                                 connection=connection).send()
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
    body: str


def compose_digests(finding_ids, *, scan_run: ScanRun) -> list[Digest]:
    """The digests for the findings `finding_ids` (newly opened or reopened; a list or a
    subquery): one per active owner concerned, one per program office member."""
    findings = list(
        Finding.objects.filter(pk__in=finding_ids).order_by("kind", "title").values_list("pk", "kind", "severity", "title")
    )
    owners = _owners_by_finding(finding_ids)
    per_owner: dict[str, list[str]] = defaultdict(list)
    lines = []
    for pk, kind, severity, title in findings:
        line = _line(kind, severity, title)
        lines.append(line)
        for email in owners.get(pk, ()):
            per_owner[email].append(line)

    subject_tail = f"as of {scan_run.as_of.isoformat()}"
    digests = []
    for email in sorted(per_owner):
        items = per_owner[email]
        body = (
            f"The portfolio scan {subject_tail} flagged {len(items)} new finding(s) on what you own:\n\n"
            + "\n".join(items)
            + "\n\nAcknowledge, answer or dismiss them (with a reason) in Last Mile.\n"
        )
        digests.append(Digest(DigestDelivery.Audience.OWNER, email,
                              f"Last Mile: {len(items)} new finding(s) on what you own", body))
    if lines:
        body = f"The portfolio scan {subject_tail} opened {len(lines)} finding(s):\n\n" + "\n".join(lines) + "\n"
        digests.extend(
            Digest(DigestDelivery.Audience.PROGRAM_OFFICE, email, f"Last Mile: {len(lines)} new finding(s) in the portfolio", body)
            for email in _program_office_addresses()
        )
    return digests


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
