"""Orphaned ownership: decisions and use cases nobody is accountable for on the judged date.

One finding per (object, role): a decision's `owner`, a use case's `business_owner` and
`technical_owner`. The rules, first match wins:

1. **missing** — no owner. For a use case's business owner this counts from `pilot` on
   (pilot and production); for its technical owner only in `production`; for a decision's
   owner once one of its use cases is in `validating` or beyond. Earlier, a missing owner is
   fine: the stage gates ask for it before the move.
2. **left** — the owner is inactive in the directory (has left the company).
3. **generic_mailbox** — the owner's address matches one of `policy.mailbox_patterns`
   (shell-style, lower-case, e.g. `info@*`, `*-team@*`): a mailbox is nobody.
4. **unconfirmed** — the owner has not confirmed within `policy.ownership_confirmation_days`:
   more than that many days lie between the confirmation date and `as_of` (exactly at the
   window is fine). The clock starts the day a person becomes owner, an import included
   (the services and the importer set `*_confirmed_on` on assignment). An owner with no
   confirmation date at all has never confirmed and counts as unconfirmed.

Which objects: use cases that exist and are not retired on `as_of` (their stage comes from
the stage transitions, as in the stalled-pilot scan), in any stage from proposed to
production; decisions with at least one such use case. Retired use cases, and decisions
whose use cases are all retired, are ignored, and so are placeholder decisions
(`is_defined` false): the missing-decision scan reports their use cases instead.

Judging as of a date: the owners and the directory's active flags are taken as they are
now — owner changes and departures after `as_of` are not reconstructed. A confirmation
date is only known to have happened if it is on or before `as_of`; when the recorded
confirmation is later than `as_of`, the confirmation before it is not known (it is
overwritten), so the owner is not judged unconfirmed on `as_of` (the other rules still
apply) and the detail shows no confirmation date. For `as_of` today this never arises.

Severity: missing or left → high; generic mailbox → medium; unconfirmed → low; one level
up for a use case in production on `as_of`; for a decision, one level up when one of its
use cases is in production and one level up when its cost of error is at least
`HIGH_COST_OF_ERROR`; never above critical.

Identity: ("decision" | "use_case", id, role). Substance: (owner person id or None,
problem), so an owner change or a new problem reopens a dismissed finding.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from fnmatch import fnmatchcase

from django.db.models import Q, Subquery

from portfolio.models import FindingKind, Severity
from registry.models import Decision, Person, Stage, UseCase

from .base import LIVE_STAGES, Detected, severity_up, stage_on

KIND = FindingKind.ORPHANED_OWNERSHIP

# Where a missing owner is a finding (earlier, the gate into the next stage asks for it).
BUSINESS_OWNER_REQUIRED_IN = (Stage.PILOT, Stage.PRODUCTION)
TECHNICAL_OWNER_REQUIRED_IN = (Stage.PRODUCTION,)
DECISION_OWNER_REQUIRED_IN = (Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION)

HIGH_COST_OF_ERROR = Decimal("1000")

BASE_SEVERITY = {
    "missing": Severity.HIGH,
    "left": Severity.HIGH,
    "generic_mailbox": Severity.MEDIUM,
    "unconfirmed": Severity.LOW,
}

ROLE_LABEL = {"owner": "owner", "business_owner": "business owner", "technical_owner": "technical owner"}


def _mailbox_person_ids(patterns: list[str]) -> list[int]:
    if not patterns:
        return []
    return sorted(
        pk
        for pk, email in Person.objects.order_by().values_list("pk", "email")
        if any(fnmatchcase(email.lower(), pattern) for pattern in patterns)
    )


def _problem_filter(prefix: str, *, cutoff: datetime.date, mailboxes: list[int]) -> Q:
    """Rows where the role at `prefix` may have an ownership problem (missing is added by the caller)."""
    confirmed = f"{prefix}_confirmed_on"
    return (
        Q(**{f"{prefix}__active": False})
        | Q(**{f"{prefix}_id__in": mailboxes})
        | Q(**{f"{prefix}__isnull": False, f"{confirmed}__isnull": True})
        | Q(**{f"{confirmed}__lt": cutoff})
    )


def _judge(*, owner_id, email, active, confirmed_on, required: bool, as_of, policy, mailboxes: set[int]):
    """(problem, known confirmation date, days since it) for one role, or None when all is well."""
    known_confirmed_on = confirmed_on if confirmed_on is not None and confirmed_on <= as_of else None
    days = (as_of - known_confirmed_on).days if known_confirmed_on is not None else None
    if owner_id is None:
        return ("missing", None, None) if required else None
    if not active:
        return "left", known_confirmed_on, days
    if owner_id in mailboxes:
        return "generic_mailbox", known_confirmed_on, days
    if confirmed_on is None or (days is not None and days > policy.ownership_confirmation_days):
        return "unconfirmed", known_confirmed_on, days
    return None


def _title(*, subject: str, role: str, problem: str, email: str | None, days: int | None, policy) -> str:
    title = _sentence(subject=subject, role=role, problem=problem, email=email, days=days, policy=policy)
    return (title[:1].upper() + title[1:])[:300]


def _sentence(*, subject: str, role: str, problem: str, email: str | None, days: int | None, policy) -> str:
    label = ROLE_LABEL[role]
    if problem == "missing":
        return f"{subject} has no {label}"
    if problem == "left":
        return f"The {label} of {subject}, {email}, has left the company"
    if problem == "generic_mailbox":
        return f"The {label} of {subject} is a shared mailbox ({email}), not a person"
    if days is None:
        return f"The {label} of {subject}, {email}, has never confirmed ownership"
    return (
        f"The {label} of {subject}, {email}, has not confirmed ownership for {days} days "
        f"(limit {policy.ownership_confirmation_days})"
    )


def _detail(*, obj: str, role: str, problem: str, email, confirmed_on, days, policy, **extra) -> dict:
    return {
        "object": obj,
        "role": role,
        "owner": email,
        "problem": problem,
        "confirmed_on": confirmed_on.isoformat() if confirmed_on else None,
        "days_since_confirmation": days,
        "confirmation_limit_days": policy.ownership_confirmation_days,
        **extra,
    }


def _use_case_findings(*, as_of, policy, cutoff, mailboxes: list[int]) -> list[Detected]:
    mailbox_set = set(mailboxes)
    may_have_problem = (
        Q(business_owner__isnull=True, stage_on__in=BUSINESS_OWNER_REQUIRED_IN)
        | Q(technical_owner__isnull=True, stage_on__in=TECHNICAL_OWNER_REQUIRED_IN)
        | _problem_filter("business_owner", cutoff=cutoff, mailboxes=mailboxes)
        | _problem_filter("technical_owner", cutoff=cutoff, mailboxes=mailboxes)
    )
    rows = (
        UseCase.objects.order_by()
        .annotate(stage_on=stage_on(as_of))
        .filter(stage_on__in=LIVE_STAGES)
        .filter(may_have_problem)
        .values(
            "pk", "title", "decision_id", "stage_on",
            "business_owner_id", "business_owner__email", "business_owner__active", "business_owner_confirmed_on",
            "technical_owner_id", "technical_owner__email", "technical_owner__active", "technical_owner_confirmed_on",
        )
    )
    found = []
    for row in rows:
        stage = row["stage_on"]
        for role, required_in in (
            ("business_owner", BUSINESS_OWNER_REQUIRED_IN),
            ("technical_owner", TECHNICAL_OWNER_REQUIRED_IN),
        ):
            owner_id, email = row[f"{role}_id"], row[f"{role}__email"]
            judged = _judge(
                owner_id=owner_id, email=email, active=row[f"{role}__active"],
                confirmed_on=row[f"{role}_confirmed_on"], required=stage in required_in,
                as_of=as_of, policy=policy, mailboxes=mailbox_set,
            )
            if judged is None:
                continue
            problem, confirmed_on, days = judged
            level = BASE_SEVERITY[problem]
            if stage == Stage.PRODUCTION:
                level = severity_up(level)
            found.append(
                Detected(
                    kind=KIND,
                    identity=("use_case", row["pk"], role),
                    substance=(owner_id, problem),
                    severity=level,
                    title=_title(subject=f"'{row['title']}'", role=role, problem=problem, email=email, days=days,
                                 policy=policy),
                    use_case_ids=[row["pk"]],
                    decision_ids=[row["decision_id"]],
                    detail=_detail(obj="use_case", role=role, problem=problem, email=email, confirmed_on=confirmed_on,
                                   days=days, policy=policy, stage=stage),
                )
            )
    return found


def _decision_findings(*, as_of, policy, cutoff, mailboxes: list[int]) -> list[Detected]:
    mailbox_set = set(mailboxes)
    # A placeholder decision (an imported inventory named none) is nobody's to own: the
    # missing_decision scan asks each of its use cases' owners to state the real one.
    suspects = Decision.objects.order_by().filter(is_defined=True).filter(
        Q(owner__isnull=True) | _problem_filter("owner", cutoff=cutoff, mailboxes=mailboxes)
    )
    decisions = {
        row["pk"]: row
        for row in suspects.values(
            "pk", "statement", "owner_id", "owner__email", "owner__active", "owner_confirmed_on", "cost_of_error"
        )
    }
    # The live use cases of those decisions on as_of: which decisions matter, in which stages.
    use_cases: dict[int, list[tuple[int, str]]] = {}
    live = (
        UseCase.objects.order_by()
        .annotate(stage_on=stage_on(as_of))
        .filter(stage_on__in=LIVE_STAGES, decision_id__in=Subquery(suspects.values("pk")))
        .values_list("pk", "decision_id", "stage_on")
    )
    for pk, decision_id, stage in live:
        use_cases.setdefault(decision_id, []).append((pk, stage))

    found = []
    for decision_id, served in use_cases.items():
        row = decisions[decision_id]
        stages = {stage for _, stage in served}
        judged = _judge(
            owner_id=row["owner_id"], email=row["owner__email"], active=row["owner__active"],
            confirmed_on=row["owner_confirmed_on"], required=bool(stages & set(DECISION_OWNER_REQUIRED_IN)),
            as_of=as_of, policy=policy, mailboxes=mailbox_set,
        )
        if judged is None:
            continue
        problem, confirmed_on, days = judged
        level = BASE_SEVERITY[problem]
        if Stage.PRODUCTION in stages:
            level = severity_up(level)
        if row["cost_of_error"] is not None and row["cost_of_error"] >= HIGH_COST_OF_ERROR:
            level = severity_up(level)
        found.append(
            Detected(
                kind=KIND,
                identity=("decision", decision_id, "owner"),
                substance=(row["owner_id"], problem),
                severity=level,
                title=_title(subject=f"the decision '{row['statement']}'", role="owner", problem=problem,
                             email=row["owner__email"], days=days, policy=policy),
                use_case_ids=sorted(pk for pk, _ in served),
                decision_ids=[decision_id],
                detail=_detail(
                    obj="decision", role="owner", problem=problem, email=row["owner__email"],
                    confirmed_on=confirmed_on, days=days, policy=policy,
                    cost_of_error=float(row["cost_of_error"]) if row["cost_of_error"] is not None else None,
                ),
            )
        )
    return found


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    cutoff = as_of - datetime.timedelta(days=policy.ownership_confirmation_days)
    mailboxes = _mailbox_person_ids(policy.mailbox_patterns)
    found = _decision_findings(as_of=as_of, policy=policy, cutoff=cutoff, mailboxes=mailboxes)
    found += _use_case_findings(as_of=as_of, policy=policy, cutoff=cutoff, mailboxes=mailboxes)
    found.sort(key=lambda d: d.identity)
    return found
