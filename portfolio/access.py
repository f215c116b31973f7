"""Who may run scans and answer findings: the portfolio's rules, on the registry's roles
(`registry/access.py` explains rules and access functions)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from core.errors import NotFound
from registry.access import is_business_owner, is_program_office, is_writer, person_for_user, require, require_role

from .models import Finding, FindingStatus, Policy
from .selectors.findings import about_what_they_own, findings_for


def can_run_scans(user) -> bool:
    return is_program_office(user)


def can_assign_findings(user) -> bool:
    return is_program_office(user)


def why_assignee_cannot_answer(person) -> str | None:
    """Why `person` could not answer a finding assigned to them, or None when they could: one
    who has left the company, or whose logins all lack a role that answers findings (an auditor
    changes nothing). A person with no login yet may be assigned: the email reaches them and the
    program office can give them one."""
    if not person.active:
        return f"{person.email} has left the company (inactive in the directory) and cannot answer findings."
    logins = list(get_user_model().objects.filter(email__iexact=person.email, is_active=True))
    if logins and not any(is_program_office(login) or is_business_owner(login) for login in logins):
        return (f"{person.email} signs in without a role that answers findings (an auditor or approver changes "
                "none); grant them the business owner role first.")
    return None


def can_change_policy(user) -> bool:
    return is_program_office(user)


# Moves that close a finding: about what an owner owns, the policy decides whether they may.
CLOSING = (FindingStatus.RESOLVED, FindingStatus.DISMISSED)


def answerable_findings(user, findings: QuerySet[Finding], to_status: str | None = None) -> QuerySet[Finding]:
    """Of `findings`, those `user` may move to `to_status` (None: answer at all). The program
    office answers any; a business owner those about what they own and those assigned to them.
    Closing one (resolving, dismissing) about what they own needs the policy's leave
    (`Policy.owners_close_own_findings`); an assignee closes what is assigned to them unless it is
    about what they own. One query however many: the bulk actions check a selection at once."""
    if is_program_office(user):
        return findings
    person = person_for_user(user)
    if not is_business_owner(user) or person is None:
        return findings.none()
    if to_status in CLOSING and not Policy.current().owners_close_own_findings:
        return findings.filter(assignee=person).exclude(about_what_they_own(person))
    return findings_for(person, everything=False, findings=findings)


def can_answer_finding(user, finding: Finding, to_status: str | None = None) -> bool:
    """Whether `user` may move `finding` to `to_status` (None: answer it at all)."""
    return answerable_findings(user, Finding.objects.filter(pk=finding.pk), to_status).exists()


@dataclass(frozen=True)
class FindingsOffer:
    """Which finding actions to show an actor: answering (acknowledge, resolve, dismiss,
    reopen: the service still checks each finding) and assigning; and whether to offer scans."""

    answer: bool
    assign: bool
    run_scans: bool


def offer_findings(actor) -> FindingsOffer:
    return FindingsOffer(answer=is_writer(actor), assign=can_assign_findings(actor), run_scans=can_run_scans(actor))


def offer_finding(actor, finding: Finding) -> FindingsOffer:
    """What to offer on one finding: answering it needs to own what it concerns (or the office)."""
    return FindingsOffer(answer=can_answer_finding(actor, finding), assign=can_assign_findings(actor),
                         run_scans=can_run_scans(actor))


def access_finding(actor, pk, *, to_answer: bool = False, to_assign: bool = False, queryset=None) -> Finding:
    """Load finding `pk` for `actor`: NotFound, or NotAllowed when they may not answer (or
    assign) it."""
    require_role(actor)
    try:
        finding = (queryset if queryset is not None else Finding.objects.all()).get(pk=pk)
    except (Finding.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No finding with id {pk}.") from None
    if to_assign:
        require(can_assign_findings(actor), "Only the program office assigns findings.")
    if to_answer:
        require(can_answer_finding(actor, finding),
                "Only the program office or an owner of what it concerns may answer this finding.")
    return finding
