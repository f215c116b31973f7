"""After a scan: one email per owner listing what was newly flagged on what they own, and
one for the program office listing everything newly flagged.

Read with a few flat queries (values, not model instances): a first scan of a large
portfolio opens tens of thousands of findings at once.
"""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db.models import Q

from registry.roles import PROGRAM_OFFICE

from .models import Finding, FindingKind, Severity

BATCH_SIZE = 2000
KIND_LABELS = dict(FindingKind.choices)
SEVERITY_LABELS = dict(Severity.choices)


def _line(kind: str, severity: str, title: str) -> str:
    return f"- [{SEVERITY_LABELS[severity]}] {KIND_LABELS[kind]}: {title}"


def _program_office_addresses() -> list[str]:
    users = get_user_model().objects.filter(Q(groups__name=PROGRAM_OFFICE) | Q(is_superuser=True), is_active=True)
    return sorted({email for email in users.exclude(email="").values_list("email", flat=True)})


def _owners_by_finding(finding_ids: list[int]) -> dict[int, set[str]]:
    """The active owners (emails) of the use cases and decisions each finding concerns."""
    owners: dict[int, set[str]] = defaultdict(set)
    use_case_owner_paths = ["usecase__business_owner", "usecase__technical_owner", "usecase__decision__owner"]
    for start in range(0, len(finding_ids), BATCH_SIZE):
        chunk = finding_ids[start:start + BATCH_SIZE]
        for path in use_case_owner_paths:
            rows = Finding.use_cases.through.objects.filter(
                finding_id__in=chunk, **{f"{path}__active": True}
            ).values_list("finding_id", f"{path}__email")
            for finding_id, email in rows:
                owners[finding_id].add(email)
        rows = Finding.decisions.through.objects.filter(
            finding_id__in=chunk, decision__owner__active=True
        ).values_list("finding_id", "decision__owner__email")
        for finding_id, email in rows:
            owners[finding_id].add(email)
    return owners


def send_digests(finding_ids: list[int], *, scan_run) -> int:
    """Send the digests for the findings `finding_ids` (newly opened or reopened); returns emails sent."""
    findings = list(
        Finding.objects.filter(pk__in=finding_ids).order_by("kind", "title").values_list("pk", "kind", "severity", "title")
    )
    owners = _owners_by_finding([pk for pk, *_ in findings])
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
