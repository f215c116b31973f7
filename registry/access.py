"""Who may see and change what in the registry: CONTRACT.md's roles, written once.

Two kinds of function live here and nowhere else:

- rules, `can_*(actor, record)`: may this actor do that to this record (in the state it is
  in, or the state a write would leave it in)? Services call them on the final state of every
  write; pages call them only to decide what to offer.
- access functions, `access_*(actor, pk, ...)`: load a record by id and check, in one call,
  that the actor may see it (and, with `to_change=True`, change it): raise NotFound or
  NotAllowed. Views, the API, the admin and commands load what they act on through them.

An actor is a login (Django user) or a `core.actors.SystemActor`, which has the program
office's rights. Portfolio's rules (findings, scans) are in `portfolio/access.py`, on the same
role predicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth.models import Group
from django.db.models import F, OuterRef, QuerySet

from core.actors import is_system
from core.errors import NotAllowed, NotFound
from core.subqueries import ListedValues
from core.text import normalise_email

from .models import Decision, Person, UseCase

PROGRAM_OFFICE = "program_office"
BUSINESS_OWNER = "business_owner"
AUDITOR = "auditor"
# Granted by the program office beside the three roles above: the Chief AI Officer waives minimum
# practices; an approver signs off gates for the use cases of their own business unit.
CHIEF_AI_OFFICER = "chief_ai_officer"
APPROVER = "approver"
ROLE_GROUPS = (PROGRAM_OFFICE, BUSINESS_OWNER, AUDITOR, CHIEF_AI_OFFICER, APPROVER)


def require(allowed: bool, message: str) -> None:
    """Refuse with NotAllowed unless `allowed`."""
    if not allowed:
        raise NotAllowed(message)


# Roles -------------------------------------------------------------------------------------------


def with_group_names(rows: QuerySet, user_path: str = "user") -> QuerySet:
    """`rows` (each holding a login at `user_path`) with that login's group names read in the
    same query, as `group_names`: an API call reads its caller's roles without a query of its own."""
    groups = Group.objects.filter(user=OuterRef(user_path)).order_by("name").values(listed_value=F("name"))
    return rows.annotate(group_names=ListedValues(groups))


def remember_group_names(user, names) -> None:
    """The roles of `user`, read with it (see with_group_names)."""
    user._last_mile_groups = set(names)


def _group_names(user) -> set[str]:
    if not hasattr(user, "_last_mile_groups"):
        user._last_mile_groups = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
    return user._last_mile_groups


def is_auditor(user) -> bool:
    """Auditors change nothing, even if someone also granted them another role."""
    if user is None or is_system(user):
        return False
    return user.is_authenticated and not user.is_superuser and AUDITOR in _group_names(user)


def is_program_office(user) -> bool:
    if is_system(user):
        return True
    if user is None or is_auditor(user):
        return False
    return user.is_authenticated and (user.is_superuser or PROGRAM_OFFICE in _group_names(user))


def is_business_owner(user) -> bool:
    if user is None or is_system(user):
        return False
    return not is_auditor(user) and user.is_authenticated and BUSINESS_OWNER in _group_names(user)


def is_chief_ai_officer(user) -> bool:
    if user is None or is_system(user):
        return False
    return not is_auditor(user) and user.is_authenticated and (
        user.is_superuser or CHIEF_AI_OFFICER in _group_names(user))


def is_approver(user) -> bool:
    if user is None or is_system(user):
        return False
    return not is_auditor(user) and user.is_authenticated and APPROVER in _group_names(user)


def has_role(user) -> bool:
    """Signed in with one of the roles (a superuser counts as program office): who may read the
    registry at all."""
    return (is_auditor(user) or is_program_office(user) or is_business_owner(user) or is_chief_ai_officer(user)
            or is_approver(user))


def is_writer(user) -> bool:
    """May write anything at all (what exactly, the rules below decide)."""
    return is_program_office(user) or is_business_owner(user)


def person_for_user(user) -> Person | None:
    """The directory person with the login's email: that is who a user is in the registry."""
    if user is None or is_system(user) or not user.is_authenticated or not user.email:
        return None
    if not hasattr(user, "_last_mile_person"):
        user._last_mile_person = Person.objects.filter(email=normalise_email(user.email)).first()
    return user._last_mile_person


# Rules -------------------------------------------------------------------------------------------


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


def can_attach_to_decision(user, decision: Decision, use_case: UseCase | None = None) -> bool:
    """May `use_case` serve `decision` (be registered under it, or moved to it) by this actor?
    The program office attaches anything anywhere. A business owner attaches use cases to the
    decisions she owns, and a use case she is the business owner of (she stays answerable for
    it) to another decision of her own business unit; never a use case she does not answer
    for to someone else's decision, nor to another unit's."""
    if is_program_office(user):
        return True
    person = person_for_user(user)
    if not is_business_owner(user) or person is None:
        return False
    if decision.owner_id == person.pk:
        return True
    return (use_case is not None and use_case.business_owner_id == person.pk
            and person.business_unit_id is not None and decision.business_unit_id == person.business_unit_id)


def can_move_between_units(user) -> bool:
    """Units are the directory's: only the program office moves a decision or a use case to
    another unit."""
    return is_program_office(user)


def can_see_all_findings(user) -> bool:
    """The program office and auditors see every finding; a business owner those on what she owns."""
    return is_program_office(user) or is_auditor(user)


def can_change_directory(user) -> bool:
    """People and business units come from the directory; the program office keeps them."""
    return is_program_office(user)


def can_record_kpi(user, use_case: UseCase | None) -> bool:
    """Recording a KPI observation is a change to the use case: whoever may change it
    (monitoring systems use a program office token)."""
    return can_change_use_case(user, use_case)


def can_record_investment(user, use_case: UseCase | None) -> bool:
    """Money planned and spent is the program office's to keep, and the use case's own owners'
    (business and technical), who know what they spend; not a decision owner's, never an auditor's."""
    if is_program_office(user):
        return True
    if not is_business_owner(user):
        return False
    return use_case is None or is_use_case_owner(user, use_case)


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


def can_determine(user) -> bool:
    """OMB high-impact determinations and EU AI Act classifications are the program office's
    and the Chief AI Officer's: an owner does not classify their own use case out of the rules."""
    return is_program_office(user) or is_chief_ai_officer(user)


def can_record_practice(user, use_case: UseCase) -> bool:
    """The minimum practices are work on the use case: whoever may change it records them."""
    return can_change_use_case(user, use_case)


def can_waive(user) -> bool:
    """Only a Chief AI Officer waives a minimum practice (or the system recording one an
    inventory reports)."""
    return is_system(user) or is_chief_ai_officer(user)


def can_keep_eu_dates(user) -> bool:
    return is_program_office(user)


def is_use_case_owner(user, use_case: UseCase) -> bool:
    person = person_for_user(user)
    return person is not None and person.pk in (use_case.business_owner_id, use_case.technical_owner_id)


def may_approve(user, use_case: UseCase) -> bool:
    """Holds a role that signs off this use case's gates: the program office anywhere, an
    approver in their own business unit. A sign-off is a person's judgement: never the system's."""
    if is_system(user) or user is None or not user.is_authenticated:
        return False
    if is_program_office(user):
        return True
    person = person_for_user(user)
    return (is_approver(user) and person is not None and person.business_unit_id is not None
            and person.business_unit_id == use_case.business_unit_id)


def can_sign_off(user, use_case: UseCase) -> bool:
    """Separation of duties: an approver who is neither the business nor the technical owner."""
    return may_approve(user, use_case) and not is_use_case_owner(user, use_case)


def can_see_portfolio(user) -> bool:
    """The dashboard is the program office's; auditors see everything."""
    return is_program_office(user) or is_auditor(user)


def can_see_audit_log(user) -> bool:
    """The log across the portfolio is for auditors and the program office."""
    return is_program_office(user) or is_auditor(user)


def can_import(user) -> bool:
    """Bulk imports rewrite anyone's use cases: the program office only."""
    return is_program_office(user)


# What to offer: the rules above, for pages and the admin deciding which actions to show ---------


@dataclass(frozen=True)
class Offer:
    """What an actor may do with one decision (or, for `None`, with a new one)."""

    change: bool = False
    confirm: bool = False
    attach: bool = False


class UseCaseOffer:
    """What an actor may do with one use case (or, for `None`, with a new one), each action
    judged when first read: asking only whether the program office may change it (every API
    write) does not look up who the login is in the directory, as whether they confirm would."""

    def __init__(self, actor, use_case: UseCase | None):
        self.actor, self.use_case = actor, use_case

    @cached_property
    def change(self) -> bool:
        return can_change_use_case(self.actor, self.use_case)

    @cached_property
    def confirm(self) -> bool:
        return self.use_case is not None and can_confirm_use_case_ownership(self.actor, self.use_case)

    @cached_property
    def record_kpi(self) -> bool:
        return can_record_kpi(self.actor, self.use_case)

    @cached_property
    def sign_off(self) -> bool:
        return self.use_case is not None and can_sign_off(self.actor, self.use_case)

    @cached_property
    def determine(self) -> bool:
        return self.use_case is not None and can_determine(self.actor)

    @cached_property
    def waive(self) -> bool:
        return self.use_case is not None and can_waive(self.actor)

    @cached_property
    def record_investment(self) -> bool:
        return can_record_investment(self.actor, self.use_case)


def offer_use_case(actor, use_case: UseCase | None) -> UseCaseOffer:
    return UseCaseOffer(actor, use_case)


def offer_decision(actor, decision: Decision | None) -> Offer:
    return Offer(
        change=can_change_decision(actor, decision),
        confirm=decision is not None and can_confirm_decision_ownership(actor, decision),
        # registering under it: a new use case she would answer for herself
        attach=decision is not None and can_attach_to_decision(
            actor, decision, UseCase(business_owner=person_for_user(actor))),
    )


@dataclass(frozen=True)
class Reach:
    """What an actor may do across the registry: which pages and forms to offer."""

    read: bool
    sees_everything: bool
    write: bool
    register: bool
    see_portfolio: bool
    import_files: bool
    keep_directory: bool
    see_audit_log: bool


def reach(actor) -> Reach:
    return Reach(
        read=has_role(actor), sees_everything=can_see_all_findings(actor), write=is_writer(actor), register=can_change_decision(actor, None),
        see_portfolio=can_see_portfolio(actor), import_files=can_import(actor),
        keep_directory=can_change_directory(actor), see_audit_log=can_see_audit_log(actor),
    )


# Access: load and check in one call --------------------------------------------------------------


def access_audit_log(actor) -> None:
    """Raise NotAllowed unless `actor` reads the audit log across the portfolio."""
    require(can_see_audit_log(actor), "The audit log is for auditors and the program office.")


def _load(queryset, pk, what: str):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"No {what} with id {pk}.") from None


def require_role(actor) -> None:
    require(has_role(actor), "Your login has no Last Mile role (program office, business owner, auditor, "
                             "Chief AI Officer or approver).")


def access_decision(actor, pk, *, to_change: bool = False, queryset=None) -> Decision:
    require_role(actor)
    decision = _load(queryset if queryset is not None else Decision.objects.select_related("owner", "business_unit"),
                     pk, "decision")
    if to_change:
        require(can_change_decision(actor, decision), "You may change only the decisions you own.")
    return decision


def access_use_case(actor, pk, *, to_change: bool = False, queryset=None) -> UseCase:
    require_role(actor)
    use_case = _load(queryset if queryset is not None else UseCase.objects.select_related("decision"), pk, "use case")
    if to_change:
        require(can_change_use_case(actor, use_case), "You may change only the use cases you own.")
    return use_case
