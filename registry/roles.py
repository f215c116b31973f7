"""Who may see and change what: CONTRACT.md's roles, written once for admin, API and pages."""

from __future__ import annotations

from .models import Decision, Person, UseCase

PROGRAM_OFFICE = "program_office"
BUSINESS_OWNER = "business_owner"
AUDITOR = "auditor"
ROLE_GROUPS = (PROGRAM_OFFICE, BUSINESS_OWNER, AUDITOR)


def acting_user(actor):
    """The login to record as having made a change: None for commands, tasks and anonymous callers."""
    return actor if getattr(actor, "is_authenticated", False) else None


def _group_names(user) -> set[str]:
    if not hasattr(user, "_last_mile_groups"):
        user._last_mile_groups = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
    return user._last_mile_groups


def is_auditor(user) -> bool:
    """Auditors change nothing, even if someone also granted them another role."""
    return user.is_authenticated and not user.is_superuser and AUDITOR in _group_names(user)


def is_program_office(user) -> bool:
    if is_auditor(user):
        return False
    return user.is_authenticated and (user.is_superuser or PROGRAM_OFFICE in _group_names(user))


def is_business_owner(user) -> bool:
    return not is_auditor(user) and user.is_authenticated and BUSINESS_OWNER in _group_names(user)


def person_for_user(user) -> Person | None:
    """The directory person with the login's email: that is who a user is in the registry."""
    if not user.is_authenticated or not user.email:
        return None
    if not hasattr(user, "_last_mile_person"):
        user._last_mile_person = Person.objects.filter(email=user.email.strip().lower()).first()
    return user._last_mile_person


def can_change_decision(user, decision: Decision | None) -> bool:
    """Program office changes any decision; a business owner only those they own."""
    if is_program_office(user):
        return True
    if not is_business_owner(user):
        return False
    if decision is None:
        return True
    person = person_for_user(user)
    return person is not None and decision.owner_id == person.pk


def can_change_use_case(user, use_case: UseCase | None) -> bool:
    """Program office changes any use case; a business owner those they own or whose decision they own."""
    if is_program_office(user):
        return True
    if not is_business_owner(user):
        return False
    if use_case is None:
        return True
    person = person_for_user(user)
    if person is None:
        return False
    return person.pk in (use_case.business_owner_id, use_case.technical_owner_id) or (
        use_case.decision.owner_id == person.pk
    )


# The same rules, named for what the pages, the API and the admin offer. ---------------------


def has_role(user) -> bool:
    """Signed in with one of CONTRACT.md's roles (a superuser counts as program office): who
    may read the registry at all."""
    return is_auditor(user) or is_program_office(user) or is_business_owner(user)


def can_change_directory(user) -> bool:
    """People and business units come from the directory; the program office keeps them."""
    return is_program_office(user)


def can_record_kpi(user, use_case: UseCase | None) -> bool:
    """Recording a KPI observation is a change to the use case: whoever may change it
    (monitoring systems use a program office token)."""
    return can_change_use_case(user, use_case)


def can_confirm_use_case_ownership(user, use_case: UseCase) -> bool:
    """Only an owner confirms, for themselves; auditors confirm nothing."""
    if is_auditor(user):
        return False
    person = person_for_user(user)
    return person is not None and person.pk in (use_case.business_owner_id, use_case.technical_owner_id)


def can_confirm_decision_ownership(user, decision: Decision) -> bool:
    if is_auditor(user):
        return False
    person = person_for_user(user)
    return person is not None and decision.owner_id == person.pk


def can_see_portfolio(user) -> bool:
    """The dashboard is the program office's; auditors see everything."""
    return is_program_office(user) or is_auditor(user)


def can_import(user) -> bool:
    """Bulk imports rewrite anyone's use cases: the program office only."""
    return is_program_office(user)


def can_run_scans(user) -> bool:
    return is_program_office(user)


def can_assign_findings(user) -> bool:
    return is_program_office(user)
