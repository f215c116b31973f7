"""After a scan: one email per owner listing what was newly flagged on what they own, and
one for the program office listing everything newly flagged.

The digests of a run go out from their own task once the scan has committed, so a slow mail
server never holds a scan (a first scan of a large portfolio mails tens of thousands of
owners). They are read with a few flat queries (values, not model instances), and a run's
digests are sent once: the run is marked before sending and unmarked if sending fails.
"""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db.models import Q
from django.utils import timezone

from registry.roles import PROGRAM_OFFICE

from .models import Finding, FindingEvent, FindingKind, FindingStatus, ScanRun, Severity
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
    """Send the digests of a succeeded run, once; returns the number of emails sent.

    A mail failure unmarks the run and says so on it, then raises, so a retry sends them.
    """
    claimed = ScanRun.objects.filter(
        pk=scan_run.pk, status=ScanRun.Status.SUCCEEDED, digests_sent_at__isnull=True
    ).update(digests_sent_at=timezone.now())
    if not claimed:
        return 0
    newly_open = FindingEvent.objects.filter(scan_run=scan_run, to_status=FindingStatus.OPEN).values("finding_id")
    try:
        sent = send_digests(newly_open, scan_run=scan_run)
    except Exception as exc:
        ScanRun.objects.filter(pk=scan_run.pk).update(
            digests_sent_at=None, error=f"Findings written, but the digest emails could not be sent: {exc}"
        )
        raise
    ScanRun.objects.filter(pk=scan_run.pk).update(error="")
    return sent


def send_digests(finding_ids, *, scan_run: ScanRun) -> int:
    """Send the digests for the findings `finding_ids` (newly opened or reopened; a list or a
    subquery); returns emails sent."""
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
    messages = []
    for email in sorted(per_owner):
        items = per_owner[email]
        body = (
            f"The portfolio scan {subject_tail} flagged {len(items)} new finding(s) on what you own:\n\n"
            + "\n".join(items)
            + "\n\nAcknowledge, answer or dismiss them (with a reason) in Last Mile.\n"
        )
        messages.append((f"Last Mile: {len(items)} new finding(s) on what you own", body, settings.DEFAULT_FROM_EMAIL, [email]))
    office = _program_office_addresses()
    if office and lines:
        body = f"The portfolio scan {subject_tail} opened {len(lines)} finding(s):\n\n" + "\n".join(lines) + "\n"
        messages.append((f"Last Mile: {len(lines)} new finding(s) in the portfolio", body, settings.DEFAULT_FROM_EMAIL, office))
    return send_mass_mail(messages, fail_silently=False) if messages else 0
