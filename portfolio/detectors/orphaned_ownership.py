"""Orphaned ownership: decisions and use cases nobody is accountable for on the judged date.

One finding per (object, role): a decision's `owner`, a use case's `business_owner` and
`technical_owner`. The rules, first match wins:

1. **missing** — no owner. For a use case's business owner this counts from `pilot` on
   (pilot and production); for its technical owner only in `production`; for a decision's
   owner once one of its use cases is in `validating` or beyond. Earlier, a missing owner is
   fine: the stage gates ask for it before the move. A role the use case's source has no field
   for (`registry.sources`: the OMB inventories name no technical owner) is not missing on
   the row: `inventory_completeness` reports it once per unit.
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

Judging as of a date before today: the owners, their confirmation dates and the
directory's active flags are read from the history, as the latest record of each use case,
decision and person written by the end of `as_of` — an owner who changed or left later is
judged as they were then. An object with no history by then (rows written without the
services) is judged on its current values; there a confirmation date later than `as_of`
is not known to have happened, and the one before it is overwritten, so the owner is not
judged unconfirmed (the other rules still apply) and the detail shows no confirmation date.

Root causes, not row copies (`_roll_up`, `_concentrations`): a shared mailbox is one finding
per (mailbox, role) listing its use cases; imported use cases in production whose unit left the
owner blank are one critical finding per (source, unit, role); a unit of at least
`CONCENTRATION_MIN_USE_CASES` live use cases all owned by one person is one medium
concentration finding. Left, unconfirmed and missing owners of use cases registered here stay
one finding per record: each is one person's matter.

Severity: missing or left → high; generic mailbox → medium; unconfirmed → low; one level
up for a use case in production on `as_of`; for a decision, one level up when one of its
use cases is in production and one level up when its cost of error is at least
`HIGH_COST_OF_ERROR`; never above critical.

Identity: ("decision" | "use_case", id, role). Substance: (owner person id or None,
problem), so an owner change or a new problem reopens a dismissed finding.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from fnmatch import translate
from functools import lru_cache

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from portfolio.models import FindingKind, Severity
from registry import sources
from registry.gates import stages_requiring
from registry.models import BusinessUnit, Decision, Person, Stage, UseCase

from .base import LIVE_STAGES, Detected, end_of_day, severity_up, stage_on

KIND = FindingKind.ORPHANED_OWNERSHIP

HIGH_COST_OF_ERROR = Decimal("1000")
# A unit with at least this many live use cases, all owned by one person, is a concentration.
CONCENTRATION_MIN_USE_CASES = 20
BATCH_SIZE = 5000

BASE_SEVERITY = {
    "missing": Severity.HIGH,
    "left": Severity.HIGH,
    "generic_mailbox": Severity.MEDIUM,
    "unconfirmed": Severity.LOW,
}

ROLE_LABEL = {"owner": "owner", "business_owner": "business owner", "technical_owner": "technical owner"}


@lru_cache(maxsize=8)
def _mailbox_regex(patterns: tuple[str, ...]) -> re.Pattern | None:
    # One expression for all the patterns: tens of thousands of owners are matched per scan.
    return re.compile("|".join(translate(pattern) for pattern in patterns)) if patterns else None


def _is_mailbox(email: str | None, patterns: tuple[str, ...]) -> bool:
    regex = _mailbox_regex(patterns)
    return email is not None and regex is not None and regex.match(email.lower()) is not None


def _mailbox_person_ids(patterns: tuple[str, ...]) -> list[int]:
    if not patterns:
        return []
    return sorted(pk for pk, email in Person.objects.order_by().values_list("pk", "email") if _is_mailbox(email, patterns))


def _problem_filter(prefix: str, *, cutoff: datetime.date, mailboxes: list[int]) -> Q:
    """Rows where the role at `prefix` may have an ownership problem (missing is added by the caller)."""
    confirmed = f"{prefix}_confirmed_on"
    return (
        Q(**{f"{prefix}__active": False})
        | Q(**{f"{prefix}_id__in": mailboxes})
        | Q(**{f"{prefix}__isnull": False, f"{confirmed}__isnull": True})
        | Q(**{f"{confirmed}__lt": cutoff})
    )


def _judge(*, owner_id, email, active, confirmed_on, required: bool, as_of, policy):
    """(problem, known confirmation date, days since it) for one role, or None when all is well
    (or when the owner of a past day is no longer in the directory to be judged)."""
    known_confirmed_on = confirmed_on if confirmed_on is not None and confirmed_on <= as_of else None
    days = (as_of - known_confirmed_on).days if known_confirmed_on is not None else None
    if owner_id is None:
        return ("missing", None, None) if required else None
    if active is None:
        return None
    if not active:
        return "left", known_confirmed_on, days
    if _is_mailbox(email, policy.mailbox_patterns):
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


def _facts(subject: str, detail: dict) -> tuple:
    """What an ownership finding says bar the days since a confirmation, which grow by the day."""
    return subject, {key: value for key, value in detail.items() if key != "days_since_confirmation"}


# --- The facts as they were on a past day ----------------------------------------------------


def _history_then(model, as_of: datetime.date) -> Subquery:
    """The id of the outer row's latest history record written by the end of `as_of`."""
    return Subquery(
        model.history.filter(id=OuterRef("pk"), history_date__lt=end_of_day(as_of))
        .order_by("-history_date", "-history_id").values("history_id")[:1]
    )


def _records(model, history_ids: list[int], fields: tuple[str, ...]) -> dict[int, dict]:
    """History records by their id, `fields` only, read in chunks."""
    records = {}
    for start in range(0, len(history_ids), BATCH_SIZE):
        chunk = history_ids[start:start + BATCH_SIZE]
        for record in model.history.filter(history_id__in=chunk).values("history_id", *fields):
            records[record.pop("history_id")] = record
    return records


def _people_on(as_of: datetime.date, person_ids: set[int]) -> dict[int, tuple[str, bool]]:
    """(email, active) of each person on `as_of`: their history then, else as they are now."""
    people = Person.objects.order_by().filter(pk__in=person_ids)
    return {row["pk"]: (row["email"], row["active"]) for row in _rows_on(people, Person, as_of, ("email", "active"))}


def _rows_on(queryset, model, as_of: datetime.date, fields: tuple[str, ...], roles: tuple[str, ...] = ()) -> list[dict]:
    """`queryset`'s rows (`pk`, `fields` and any annotations named) with the model's own
    `fields` as they were on `as_of` (history, else current), each role's owner completed
    with `<role>__email` and `<role>__active` as on that day."""
    current = list(queryset.annotate(then=_history_then(model, as_of)).values("pk", *fields, "then"))
    recorded = tuple(name for name in fields if name not in queryset.query.annotations)
    records = _records(model, [row["then"] for row in current if row["then"] is not None], recorded)
    rows = [{**row, **records.get(row["then"], {})} for row in current]
    if roles:
        people = _people_on(as_of, {row[f"{role}_id"] for row in rows for role in roles} - {None})
        for row in rows:
            for role in roles:
                email, active = people.get(row[f"{role}_id"], (None, None))
                row[f"{role}__email"], row[f"{role}__active"] = email, active
    return rows


def _use_case_rows(*, as_of, cutoff, mailboxes: list[int]) -> list[dict]:
    live = UseCase.objects.order_by().annotate(stage_on=stage_on(as_of)).filter(stage_on__in=LIVE_STAGES)
    if as_of < timezone.localdate():
        fields = ("title", "decision_id", "stage_on", "source_format", "business_unit_id", "business_owner_id", "business_owner_confirmed_on",
                  "technical_owner_id", "technical_owner_confirmed_on")
        rows = _rows_on(live, UseCase, as_of, fields, ("business_owner", "technical_owner"))
        # A decision of that day may have been deleted since: the finding cannot point at it.
        existing = set(Decision.objects.filter(pk__in={row["decision_id"] for row in rows}).values_list("pk", flat=True))
        for row in rows:
            if row["decision_id"] not in existing:
                row["decision_id"] = None
        return rows
    may_have_problem = (
        Q(business_owner__isnull=True, stage_on__in=stages_requiring("business_owner"))
        | Q(technical_owner__isnull=True, stage_on__in=stages_requiring("technical_owner"))
        | _problem_filter("business_owner", cutoff=cutoff, mailboxes=mailboxes)
        | _problem_filter("technical_owner", cutoff=cutoff, mailboxes=mailboxes)
    )
    return list(live.filter(may_have_problem).values(
        "pk", "title", "decision_id", "stage_on", "source_format", "business_unit_id",
        "business_owner_id", "business_owner__email", "business_owner__active", "business_owner_confirmed_on",
        "technical_owner_id", "technical_owner__email", "technical_owner__active", "technical_owner_confirmed_on",
    ))


# --- Judging -------------------------------------------------------------------------------


def _use_case_findings(*, rows: list[dict], policy, as_of) -> list[tuple[Detected, dict]]:
    """Each finding on one use case's role, with its row (for the roll-ups of `_roll_up`)."""
    required_in = {role: stages_requiring(role) for role in ("business_owner", "technical_owner")}
    found = []
    for row in rows:
        stage = row["stage_on"]
        for role in ("business_owner", "technical_owner"):
            owner_id, email = row[f"{role}_id"], row[f"{role}__email"]
            judged = _judge(
                owner_id=owner_id, email=email, active=row[f"{role}__active"],
                confirmed_on=row[f"{role}_confirmed_on"], required=stage in required_in[role],
                as_of=as_of, policy=policy,
            )
            if judged is None:
                continue
            problem, confirmed_on, days = judged
            if problem == "missing" and not sources.carries(row["source_format"], role):
                continue  # the source has no such field: inventory_completeness says so once per unit
            level = BASE_SEVERITY[problem]
            if stage == Stage.PRODUCTION:
                level = severity_up(level)
            subject = f"'{row['title']}'"
            detail = _detail(obj="use_case", role=role, problem=problem, email=email, confirmed_on=confirmed_on,
                             days=days, policy=policy, stage=stage)
            found.append((
                Detected(
                    kind=KIND,
                    identity=("use_case", row["pk"], role),
                    substance=(owner_id, problem),
                    facts=_facts(subject, detail),
                    severity=level,
                    title=_title(subject=subject, role=role, problem=problem, email=email, days=days, policy=policy),
                    use_case_ids=[row["pk"]],
                    decision_ids=[row["decision_id"]] if row["decision_id"] else [],
                    detail=detail,
                ),
                row,
            ))
    return found


def _decision_findings(*, as_of, policy, cutoff, mailboxes: list[int], use_cases_then: list[dict] | None) -> list[Detected]:
    """`use_cases_then`: for a past day, the live use cases of that day with their decision then."""
    # A placeholder decision (an imported inventory named none) is nobody's to own: the
    # missing_decision scan asks each of its use cases' owners to state the real one.
    if as_of < timezone.localdate():
        suspects = Decision.objects.order_by().filter(is_defined=True)
        fields = ("statement", "owner_id", "owner_confirmed_on", "cost_of_error")
        decisions = {row["pk"]: row for row in _rows_on(suspects, Decision, as_of, fields, ("owner",))}
    else:
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
    if use_cases_then is not None:
        live = [(row["pk"], row["decision_id"], row["stage_on"]) for row in use_cases_then if row["decision_id"] in decisions]
    else:
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
            confirmed_on=row["owner_confirmed_on"], required=bool(stages & set(stages_requiring("decision_owner"))),
            as_of=as_of, policy=policy,
        )
        if judged is None:
            continue
        problem, confirmed_on, days = judged
        level = BASE_SEVERITY[problem]
        if Stage.PRODUCTION in stages:
            level = severity_up(level)
        if row["cost_of_error"] is not None and row["cost_of_error"] >= HIGH_COST_OF_ERROR:
            level = severity_up(level)
        subject = f"the decision '{row['statement']}'"
        detail = _detail(
            obj="decision", role="owner", problem=problem, email=row["owner__email"],
            confirmed_on=confirmed_on, days=days, policy=policy,
            cost_of_error=float(row["cost_of_error"]) if row["cost_of_error"] is not None else None,
        )
        found.append(
            Detected(
                kind=KIND,
                identity=("decision", decision_id, "owner"),
                substance=(row["owner_id"], problem),
                facts=_facts(subject, detail),
                severity=level,
                title=_title(subject=subject, role="owner", problem=problem, email=row["owner__email"], days=days,
                             policy=policy),
                use_case_ids=sorted(pk for pk, _ in served),
                decision_ids=[decision_id],
                detail=detail,
            )
        )
    return found


# --- Root causes, not row copies -------------------------------------------------------------


def _plural(count: int, noun: str = "use case") -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _unit_names(unit_ids) -> dict[int, str]:
    return dict(BusinessUnit.objects.filter(pk__in=set(unit_ids)).values_list("pk", "name"))


def _roll_up(found: list[tuple[Detected, dict]], *, policy) -> list[Detected]:
    """Per-record findings that share one cause become one finding listing their use cases:

    - a **shared mailbox** owning use cases: one finding per (mailbox, role), medium, high when
      one of them is in production;
    - a missing owner on **imported** rows (the source has the field; the unit left it blank):
      one finding per (source, unit, role) for the rows in production, critical (a running
      system nobody owns); the blanks before production are `inventory_completeness`'s.

    Everything else stays per record: a named person who left or has not confirmed is one
    person's matter.
    """
    kept, mailboxes, unreported = [], {}, {}
    for detected, row in found:
        problem, role = detected.detail["problem"], detected.detail["role"]
        if problem == "generic_mailbox":
            mailboxes.setdefault((row[f"{role}_id"], role), []).append((detected, row))
        elif problem == "missing" and row["source_format"]:
            if row["stage_on"] == Stage.PRODUCTION:
                unreported.setdefault((row["source_format"], row["business_unit_id"], role), []).append((detected, row))
        else:
            kept.append(detected)
    units = _unit_names(row["business_unit_id"] for group in (*mailboxes.values(), *unreported.values())
                        for _, row in group)

    for (person_id, role), members in mailboxes.items():
        email = members[0][0].detail["owner"]
        rows = [row for _, row in members]
        in_production = sum(row["stage_on"] == Stage.PRODUCTION for row in rows)
        member_units = sorted({units.get(row["business_unit_id"], "") for row in rows})
        where = f" of {member_units[0]}" if len(member_units) == 1 else f" in {len(member_units)} units"
        title = (f"The shared mailbox {email} is the {ROLE_LABEL[role]} of {_plural(len(rows))}{where}"
                 f"{f' ({in_production:,} in production)' if in_production else ''}: a mailbox is nobody")
        kept.append(Detected(
            kind=KIND,
            identity=("mailbox", person_id, role),
            substance=(person_id, "generic_mailbox"),
            severity=severity_up(BASE_SEVERITY["generic_mailbox"]) if in_production else BASE_SEVERITY["generic_mailbox"],
            title=title[:300],
            use_case_ids=sorted(row["pk"] for row in rows),
            decision_ids=sorted({row["decision_id"] for row in rows if row["decision_id"]}),
            detail={"object": "use_cases", "role": role, "owner": email, "problem": "generic_mailbox",
                    "count": len(rows), "in_production": in_production, "business_units": member_units},
        ))

    for (source, unit_id, role), members in unreported.items():
        rows = [row for _, row in members]
        label = sources.source_of(source).label
        title = (f"{_plural(len(rows))} of {units.get(unit_id, '')} in production from {label} "
                 f"{'has' if len(rows) == 1 else 'have'} no {ROLE_LABEL[role]}: nobody owns a running system")
        kept.append(Detected(
            kind=KIND,
            identity=("unit", unit_id, role, "missing", source),
            substance=("missing",),
            severity=Severity.CRITICAL,
            title=title[:300],
            use_case_ids=sorted(row["pk"] for row in rows),
            decision_ids=sorted({row["decision_id"] for row in rows if row["decision_id"]}),
            detail={"object": "use_cases", "role": role, "owner": None, "problem": "missing", "source": source,
                    "business_unit": units.get(unit_id, ""), "count": len(rows), "stage": Stage.PRODUCTION},
        ))
    return kept


def _concentrations(*, as_of, policy) -> list[Detected]:
    """One person owning a whole unit's portfolio: a unit of at least CONCENTRATION_MIN_USE_CASES
    live use cases whose owned ones all have the same business owner, a person (a mailbox is
    reported as one). Medium: one departure orphans the unit. Judged on the current owners."""
    owners: dict[int, dict[int | None, list[int]]] = {}
    live = UseCase.objects.order_by().annotate(stage_on=stage_on(as_of)).filter(stage_on__in=LIVE_STAGES)
    for pk, unit_id, owner_id in live.values_list("pk", "business_unit_id", "business_owner_id"):
        owners.setdefault(unit_id, {}).setdefault(owner_id, []).append(pk)
    candidates = {unit_id: by_owner for unit_id, by_owner in owners.items()
                  if len(set(by_owner) - {None}) == 1
                  and len(next(v for k, v in by_owner.items() if k is not None)) >= CONCENTRATION_MIN_USE_CASES}
    if not candidates:
        return []
    people = {pk: (email, active) for pk, email, active in Person.objects.filter(
        pk__in={next(k for k in by_owner if k is not None) for by_owner in candidates.values()}
    ).values_list("pk", "email", "active")}
    units = _unit_names(candidates)
    found = []
    for unit_id, by_owner in candidates.items():
        owner_id = next(k for k in by_owner if k is not None)
        email, active = people[owner_id]
        if not active or _is_mailbox(email, policy.mailbox_patterns):
            continue  # reported per use case (left) or as a mailbox
        owned = sorted(by_owner[owner_id])
        found.append(Detected(
            kind=KIND,
            identity=("concentration", unit_id, "business_owner"),
            substance=(owner_id, "concentration"),
            severity=Severity.MEDIUM,
            title=(f"{email} is the business owner of every use case of {units[unit_id]} ({len(owned):,}): "
                   "one departure orphans the unit's portfolio")[:300],
            use_case_ids=owned,
            detail={"object": "business_unit", "role": "business_owner", "owner": email, "problem": "concentration",
                    "business_unit": units[unit_id], "count": len(owned),
                    "without_owner": len(by_owner.get(None, []))},
        ))
    return found


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    cutoff = as_of - datetime.timedelta(days=policy.ownership_confirmation_days)
    mailboxes = _mailbox_person_ids(policy.mailbox_patterns)
    use_case_rows = _use_case_rows(as_of=as_of, cutoff=cutoff, mailboxes=mailboxes)
    use_cases_then = use_case_rows if as_of < timezone.localdate() else None
    found = _decision_findings(as_of=as_of, policy=policy, cutoff=cutoff, mailboxes=mailboxes, use_cases_then=use_cases_then)
    found += _roll_up(_use_case_findings(rows=use_case_rows, policy=policy, as_of=as_of), policy=policy)
    found += _concentrations(as_of=as_of, policy=policy)
    found.sort(key=lambda d: d.identity)
    return found
