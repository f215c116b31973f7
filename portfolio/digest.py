"""After a scan: one email per owner listing what was newly flagged on what they own, and
one for the program office listing everything newly flagged."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db.models import Q

from registry.roles import PROGRAM_OFFICE


def _line(finding) -> str:
    return f"- [{finding.get_severity_display()}] {finding.get_kind_display()}: {finding.title}"


def _program_office_addresses() -> list[str]:
    users = get_user_model().objects.filter(Q(groups__name=PROGRAM_OFFICE) | Q(is_superuser=True), is_active=True)
    return sorted({email for email in users.exclude(email="").values_list("email", flat=True)})


def send_digests(findings, *, scan_run) -> int:
    """Send the digests for `findings` (newly opened or reopened); returns emails sent."""
    findings = list(
        findings.prefetch_related(
            "use_cases__business_owner", "use_cases__technical_owner", "use_cases__decision__owner", "decisions__owner"
        ).order_by("kind", "title")
    )
    per_owner: dict[str, list] = defaultdict(list)
    for finding in findings:
        owners = set()
        for use_case in finding.use_cases.all():
            owners.update((use_case.business_owner, use_case.technical_owner, use_case.decision.owner))
        owners.update(decision.owner for decision in finding.decisions.all())
        for person in owners:
            if person is not None and person.active:
                per_owner[person.email].append(finding)

    subject_tail = f"as of {scan_run.as_of.isoformat()}"
    messages = []
    for email in sorted(per_owner):
        items = per_owner[email]
        body = (
            f"The portfolio scan {subject_tail} flagged {len(items)} new finding(s) on what you own:\n\n"
            + "\n".join(_line(f) for f in items)
            + "\n\nAcknowledge, answer or dismiss them (with a reason) in Last Mile.\n"
        )
        messages.append((f"Last Mile: {len(items)} new finding(s) on what you own", body, settings.DEFAULT_FROM_EMAIL, [email]))
    office = _program_office_addresses()
    if office and findings:
        body = (
            f"The portfolio scan {subject_tail} opened {len(findings)} finding(s):\n\n"
            + "\n".join(_line(f) for f in findings)
            + "\n"
        )
        messages.append((f"Last Mile: {len(findings)} new finding(s) in the portfolio", body, settings.DEFAULT_FROM_EMAIL, office))
    return send_mass_mail(messages, fail_silently=False) if messages else 0
