"""Reads of the determinations and sign-offs: the EU AI Act obligations of a classification, the
waiver register, who may sign a gate off, and what waits for a sign-off."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.db.models.functions import JSONObject

from core.subqueries import ListedValues
from core.text import normalise_email

from .. import access
from ..gates import NEXT_STAGE, standing_sign_off, unmet_conditions
from ..models import (
    SIGN_OFF_STAGES, EUClassification, EUObligation, EURiskClass, Person, Readiness, Stage, UseCase, Waiver,
)
from .gates import with_gate_facts

# OMB asks for a waiver to be reported within this many days of its grant.
WAIVER_REPORT_DAYS = 30
# How many candidates an approver's list judges at most: the gates run in Python.
WAITING_LIMIT = 200


def obligations_for(classification: EUClassification, every: list[dict] | None = None) -> list[EUObligation]:
    """The obligations that bind this role and class (the Art. 50 ones too when it is subject to
    them), earliest first, with the dates the program office keeps. `every`: the obligations as
    `every_obligation()` read them with the use case; else they are read now."""
    classes = {classification.risk_class}
    if classification.transparency_art50:
        classes.add(EURiskClass.TRANSPARENCY)
    obligations = EUObligation.objects.all() if every is None else [_obligation(row) for row in every]
    return [o for o in obligations if classification.role in o.roles and classes & set(o.risk_classes)]


def _obligation(row) -> EUObligation:
    """An obligation from its JSON (on SQLite, a row's JSON and its lists arrive as text)."""
    row = json.loads(row) if isinstance(row, str) else row
    lists = {name: json.loads(row[name]) if isinstance(row[name], str) else row[name] for name in ("roles", "risk_classes")}
    return EUObligation(**{**row, **lists, "applies_from": datetime.date.fromisoformat(row["applies_from"])})


def every_obligation() -> ListedValues:
    """Every EU obligation, earliest first, as one column of a use case's row (a dozen rows, read
    once per query): its detail then shows its classification's obligations without a query."""
    fields = [field.name for field in EUObligation._meta.concrete_fields]
    return ListedValues(EUObligation.objects.order_by("applies_from", "code").values(
        listed_value=JSONObject(**{name: name for name in fields})))


@dataclass(frozen=True)
class WaiverState:
    label: str  # in force, expired, revoked, not yet in force
    report_due: datetime.date
    reported_late: bool  # reported after the due date, or still unreported past it


def waiver_state(waiver: Waiver, on: datetime.date) -> WaiverState:
    due = waiver.granted_on + datetime.timedelta(days=WAIVER_REPORT_DAYS)
    if waiver.revoked_on is not None:
        label = "revoked"
    elif waiver.expires_on < on:
        label = "expired"
    elif waiver.granted_on > on:
        label = "not yet in force"
    else:
        label = "in force"
    late = (waiver.reported_on or on) > due
    return WaiverState(label, due, late)


def waiver_register() -> QuerySet[Waiver]:
    """Every waiver, soonest expiry first, with what the register shows of its use case."""
    return Waiver.objects.select_related("use_case", "use_case__business_unit", "granted_by").order_by("expires_on", "pk")


def _approver_logins() -> list:
    """The active logins of the approver and program office groups, with their groups and
    directory people read in two queries (what the rules look up per login)."""
    User = get_user_model()
    users = list(User.objects.filter(groups__name__in=[access.APPROVER, access.PROGRAM_OFFICE], is_active=True)
                 .distinct().prefetch_related("groups").order_by("username"))
    people = {p.email: p for p in Person.objects.filter(email__in=[normalise_email(u.email) for u in users if u.email])}
    for user in users:
        user._last_mile_groups = {group.name for group in user.groups.all()}
        user._last_mile_person = people.get(normalise_email(user.email)) if user.email else None
    # A unit's own approvers first, then the program office.
    return sorted(users, key=lambda u: not access.is_approver(u))


def approvers_for(use_case: UseCase, logins: list | None = None) -> list:
    """The logins who may sign off `use_case`'s gates, by name: its unit's approvers, then the
    program office. Pass `logins` (from one `_approver_logins()`) when judging many use cases."""
    return [user for user in (logins if logins is not None else _approver_logins())
            if access.offer_use_case(user, use_case).sign_off]


def with_approvers(use_cases: list[UseCase]) -> list[UseCase]:
    """Each of `use_cases` with `approvers`, in a fixed number of queries."""
    logins = _approver_logins() if use_cases else []
    for use_case in use_cases:
        use_case.approvers = approvers_for(use_case, logins)
    return use_cases


def needs_sign_off(use_case: UseCase) -> str | None:
    """The stage whose sign-off `use_case` waits for, if its next stage takes one and it has no
    standing approval; reads the prefetched gate facts."""
    stage = NEXT_STAGE.get(use_case.stage)
    if stage not in SIGN_OFF_STAGES:
        return None
    return stage if any(c.code == "sign_off" for c in unmet_conditions(use_case, stage)) else None


def waiting_for(user) -> list[UseCase]:
    """Use cases `user` may sign off whose next gate is met but for the sign-off: what waits for
    them. Judges at most WAITING_LIMIT candidates, most recently changed first."""
    if not (access.is_program_office(user) or access.is_approver(user)):
        return []
    ready_for_pilot = Q(stage=Stage.VALIDATING, business_owner__isnull=False,
                        data_readiness__in=[Readiness.PARTIAL, Readiness.READY])
    ready_for_production = Q(stage=Stage.PILOT, business_owner__isnull=False, technical_owner__isnull=False,
                             orchestration_readiness__in=[Readiness.PARTIAL, Readiness.READY],
                             inference_readiness__in=[Readiness.PARTIAL, Readiness.READY]) & ~Q(monitoring_plan="")
    candidates = UseCase.objects.filter(ready_for_pilot | ready_for_production)
    person = access.person_for_user(user)
    if not access.is_program_office(user):
        candidates = candidates.filter(business_unit_id=person.business_unit_id if person else None)
    if person is not None:
        candidates = candidates.exclude(business_owner=person).exclude(technical_owner=person)
    candidates = with_gate_facts(candidates.select_related(
        "decision", "business_unit", "business_owner", "technical_owner").prefetch_related("kpis"))
    waiting = []
    for use_case in candidates.order_by("-updated_at", "-pk")[:WAITING_LIMIT]:
        stage = NEXT_STAGE[use_case.stage]
        if ([c.code for c in unmet_conditions(use_case, stage)] == ["sign_off"]
                and standing_sign_off(use_case, stage) is None and access.offer_use_case(user, use_case).sign_off):
            use_case.sign_off_stage = stage
            waiting.append(use_case)
    return waiting
