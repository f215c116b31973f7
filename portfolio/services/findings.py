"""The finding lifecycle: reconciling a scan's results, and people acknowledging, dismissing,
resolving and assigning findings.

open → acknowledged → resolved | dismissed (with a reason). A scan opens what is new,
refreshes what still holds, resolves what no longer holds and reopens a resolved finding
that holds again; a dismissed finding stays dismissed unless its substance changes.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from core.bulk import bulk_update_fields, bulk_update_with_history, copy_to_history, create_objects, id_batches, insert_rows
from core.actors import acting_user
from core.errors import InvalidInput, NotAllowed, Refused
from core.text import normalise_email
from core.versioning import versioned_write
from registry.models import Person
from registry.services.use_cases import state_decision as state_registry_decision

from ..access import CLOSING, answerable_findings, can_answer_finding, can_assign_findings, why_assignee_cannot_answer
from ..models import ACTIVE_STATUSES, SEVERITY_ORDER, Finding, FindingEvent, FindingKind, FindingStatus, ScanRun, Severity
from ..detectors.base import Detected, Digested
from ..selectors.findings import visible_to

logger = logging.getLogger(__name__)

# What a scan rewrites of a finding whose facts changed (with a history record), of one it
# reopens (the same and its status), and of one where only days counted to the judged date
# changed (without a record).
REWRITTEN_FIELDS = ["severity", "title", "detail", "price", "price_by_layer", "substance", "content_digest", "facts_digest",
                    "first_seen", "last_seen", "last_scan", "version"]
REOPENED_FIELDS = [*REWRITTEN_FIELDS, "status", "status_changed_at", "status_reason"]
RECOUNTED_FIELDS = ["title", "detail", "price", "price_by_layer", "content_digest", "last_seen", "last_scan", "version"]
# What reconcile reads of the findings it already holds: never their detail, which only a
# rewrite needs and the detector has just produced.
HELD_COLUMNS = ("pk", "fingerprint", "status", "substance", "content_digest", "facts_digest", "first_seen", "last_seen",
                "version")

class FindingChangeRefused(Refused):
    """A status change that the lifecycle does not allow; nothing was written."""


@dataclass
class ReconcileResult:
    opened: list[int] = field(default_factory=list)  # ids: a first scan opens tens of thousands
    reopened: list[int] = field(default_factory=list)
    still_open: int = 0
    resolved: int = 0

    def add(self, other: ReconcileResult) -> None:
        """Count `other` (another kind's reconcile in the same scan) in this one."""
        self.opened += other.opened
        self.reopened += other.reopened
        self.still_open += other.still_open
        self.resolved += other.resolved


def _links(through, column: str, finding_ids: list[int]) -> dict[int, set[int]]:
    linked: dict[int, set[int]] = defaultdict(set)
    for batch in id_batches(finding_ids):
        for finding_id, target_id in through.objects.filter(finding_id__in=batch).values_list("finding_id", column):
            linked[finding_id].add(target_id)
    return linked


def _sync_links(findings_with_targets: list[tuple[int, list[int], list[int]]], *, new_ids: set[int]) -> None:
    """Make each finding's use cases and decisions exactly those detected, set-based.
    Findings in `new_ids` were created by this scan and have no links yet."""
    for attribute, column, position in (("use_cases", "usecase_id", 1), ("decisions", "decision_id", 2)):
        through = getattr(Finding, attribute).through
        current = _links(through, column, [pk for pk, *_ in findings_with_targets if pk not in new_ids])
        stale, fresh = [], []
        for item in findings_with_targets:
            finding_id, wanted = item[0], set(item[position])
            if current.get(finding_id, set()) != wanted:
                if finding_id not in new_ids:
                    stale.append(finding_id)
                fresh.extend((finding_id, target) for target in sorted(wanted))
        for batch in id_batches(stale):
            through.objects.filter(finding_id__in=batch).delete()
        insert_rows(through, fresh, columns=("finding_id", column))


OPENED_COLUMNS = ("kind", "fingerprint", "substance", "content_digest", "facts_digest", "severity", "status", "title",
                  "detail", "price", "price_by_layer", "first_seen", "last_seen", "status_changed_at", "last_scan_id")
EVENT_COLUMNS = ("finding_id", "from_status", "to_status", "occurred_at", "scan_run_id", "reason")


def _open(found: list[tuple[str, Digested]], *, as_of: datetime.date, now: datetime.datetime, scan_run_id: int | None) -> list[int]:
    """Write the findings first detected now (with their fingerprints), their creation history
    and their "opened" events; returns their ids in the order of `found`.

    Rows straight to COPY and history copied in SQL, without a model instance each: a first
    scan of a large portfolio opens tens of thousands.
    """
    rows = [(d.kind, fingerprint, d.substance_digest, d.content_digest, d.facts_digest, d.severity, FindingStatus.OPEN,
             d.title, d.detail, d.price, d.price_by_layer, as_of, as_of, now, scan_run_id)
            for fingerprint, d in found]
    ids = insert_rows(Finding, rows, columns=OPENED_COLUMNS, returning_ids=True)
    copy_to_history(Finding, ids, reason="opened by a scan", date=now)
    insert_rows(FindingEvent, [(pk, "", FindingStatus.OPEN, now, scan_run_id, "Opened by the scan.") for pk in ids],
                columns=EVENT_COLUMNS)
    return ids


def _written(held, found: Digested, **values) -> SimpleNamespace:
    """What a bulk update writes to the held row, by attname: `found`'s content, the row's own
    first-seen date, overridden by `values`."""
    return SimpleNamespace(**{
        "pk": held.pk, "severity": found.severity, "title": found.title, "detail": found.detail,
        "price": found.price, "price_by_layer": found.price_by_layer, "substance": found.substance_digest,
        "content_digest": found.content_digest, "facts_digest": found.facts_digest, "first_seen": held.first_seen, **values})


def reconcile(*, kinds: list[str], detected: list[Digested | Detected], as_of: datetime.date,
              scan_run: ScanRun | None = None) -> ReconcileResult:
    """Write one scan's results for `kinds` in one transaction, keyed by fingerprint, set-based.

    A finding whose facts changed, or which is resolved or reopened, is rewritten with a history
    record; one where only days counted to the judged date changed (Detected.facts) gets its new
    counts without one; one that says the same (use cases included) moves its last-seen date, all
    in one statement, or is not written at all when seen already on `as_of`. Every finding a
    scan writes goes up a version. Only what it rewrites has its use cases and decisions
    compared and relinked. A scan hands it what its detectors found already digested; a Detected
    is digested here.
    """
    now = timezone.now()
    scan_run_id = scan_run.pk if scan_run is not None else None
    result = ReconcileResult()
    by_fingerprint = {d.fingerprint: d if isinstance(d, Digested) else d.digested() for d in detected}
    with transaction.atomic():
        held_rows = Finding.objects.select_for_update().filter(kind__in=kinds).order_by().values_list(
            *HELD_COLUMNS, named=True)
        held_by_fingerprint = {held.fingerprint: held for held in held_rows}
        new, rewritten, reopened, recounted, seen_again, events, linked = [], [], [], [], [], [], []
        for fingerprint, found in by_fingerprint.items():
            held = held_by_fingerprint.get(fingerprint)
            if held is None:
                new.append((fingerprint, found))
                continue
            if held.last_seen > as_of:
                continue  # a back-dated scan does not rewrite what a later scan saw
            reopen_reason = None
            if held.status == FindingStatus.RESOLVED:
                reopen_reason = "holds again"
            elif held.status == FindingStatus.DISMISSED and held.substance != found.substance_digest:
                reopen_reason = "what it concerns has changed since it was dismissed"
            first_seen = min(held.first_seen, as_of)
            written = {"last_seen": as_of, "last_scan_id": scan_run_id, "version": held.version + 1}
            if reopen_reason:
                events.append(FindingEvent(finding_id=held.pk, from_status=held.status, to_status=FindingStatus.OPEN,
                                           occurred_at=now, scan_run_id=scan_run_id,
                                           reason=f"Reopened by the scan: {reopen_reason}."))
                result.reopened.append(held.pk)
                reopened.append(_written(held, found, first_seen=first_seen, status=FindingStatus.OPEN,
                                         status_reason=reopen_reason, status_changed_at=now, **written))
            else:
                if held.status in ACTIVE_STATUSES:
                    result.still_open += 1
                if found.facts_digest != held.facts_digest or first_seen != held.first_seen:
                    rewritten.append(_written(held, found, first_seen=first_seen, **written))
                elif found.content_digest != held.content_digest:
                    recounted.append(_written(held, found, **written))
                else:
                    if held.last_seen < as_of:
                        seen_again.append(held.pk)
                    continue
            linked.append((held.pk, found.use_case_ids, found.decision_ids))

        resolved = [held for fingerprint, held in held_by_fingerprint.items()
                    if fingerprint not in by_fingerprint and held.status in ACTIVE_STATUSES and held.last_seen <= as_of]
        _resolve(resolved, as_of=as_of, now=now, scan_run_id=scan_run_id)
        result.resolved = len(resolved)
        events.extend(FindingEvent(finding_id=held.pk, from_status=held.status, to_status=FindingStatus.RESOLVED,
                                   occurred_at=now, scan_run_id=scan_run_id,
                                   reason=f"Resolved by the scan: no longer holds as of {as_of.isoformat()}.")
                      for held in resolved)

        result.opened = _open(new, as_of=as_of, now=now, scan_run_id=scan_run_id)
        linked.extend((pk, found.use_case_ids, found.decision_ids) for pk, (_, found) in zip(result.opened, new))
        bulk_update_fields(rewritten, REWRITTEN_FIELDS, model=Finding)
        bulk_update_fields(reopened, REOPENED_FIELDS, model=Finding)
        copy_to_history(Finding, [f.pk for f in rewritten + reopened], reason="updated by a scan", change="~", date=now)
        bulk_update_fields(recounted, RECOUNTED_FIELDS, model=Finding)
        for batch in id_batches(seen_again):
            Finding.objects.filter(pk__in=batch).update(last_seen=as_of, last_scan_id=scan_run_id,
                                                        version=F("version") + 1)
        create_objects(events)
        _sync_links(linked, new_ids=set(result.opened))
    return result


def _resolve(held: list, *, as_of: datetime.date, now: datetime.datetime, scan_run_id: int | None) -> None:
    """Resolve the held findings `held` (no longer detected), with a history record each."""
    ids = [finding.pk for finding in held]
    for batch in id_batches(ids):
        Finding.objects.filter(pk__in=batch).update(
            status=FindingStatus.RESOLVED, status_changed_at=now, last_scan_id=scan_run_id,
            status_reason=f"no longer holds as of {as_of.isoformat()}", version=F("version") + 1)
    copy_to_history(Finding, ids, reason="updated by a scan", change="~", date=now)


# People acting on findings -------------------------------------------------------------------


# Where a person may move a finding from each status, in the order the pages offer the moves.
ALLOWED_CHANGES: dict[str, tuple[str, ...]] = {
    FindingStatus.OPEN: (FindingStatus.ACKNOWLEDGED, FindingStatus.RESOLVED, FindingStatus.DISMISSED),
    FindingStatus.ACKNOWLEDGED: (FindingStatus.RESOLVED, FindingStatus.DISMISSED, FindingStatus.OPEN),
    FindingStatus.RESOLVED: (FindingStatus.OPEN,),
    FindingStatus.DISMISSED: (FindingStatus.OPEN,),
}
DISMISSAL_NEEDS_A_REASON = "Say why you dismiss this finding: dismissing a finding needs a reason."


def allowed_changes(status: str) -> tuple[str, ...]:
    """The statuses a person may move a finding in `status` to, in the order pages offer them."""
    return ALLOWED_CHANGES.get(status, ())


CLOSING_NEEDS_THE_OFFICE = ("Resolving or dismissing a finding about what you own needs the program office "
                            "(the policy says so); acknowledge it and ask them.")


def _not_yours(actor, findings: QuerySet[Finding], ids: list[int], to_status: str) -> NotAllowed:
    """Why `actor` may not move the findings `ids` (of `findings`) to `to_status`."""
    if to_status in CLOSING and answerable_findings(actor, findings.filter(pk__in=ids[:1])).exists():
        return NotAllowed(CLOSING_NEEDS_THE_OFFICE)
    return NotAllowed("Only the program office or an owner of what it concerns (or its assignee) may answer this finding.")


def change_finding_status(*, finding: Finding, to_status: str, actor, reason: str = "",
                          expected_version: int | None = None) -> Finding:
    """Move a finding along its lifecycle, as `actor` (the program office, an owner of what it
    concerns or its assignee: portfolio.access.answerable_findings); dismissing needs a reason.
    With `expected_version`, refuses (StaleVersion) when the finding changed since it was read."""
    if not can_answer_finding(actor, finding, to_status):
        raise _not_yours(actor, Finding.objects.all(), [finding.pk], to_status)
    reason = reason.strip()
    if to_status == FindingStatus.DISMISSED and not reason:
        raise FindingChangeRefused(DISMISSAL_NEEDS_A_REASON)
    with versioned_write(Finding.objects.all(), finding.pk, actor=actor, expected_version=expected_version,
                         reason=reason) as write:
        locked = write.current
        if to_status not in allowed_changes(locked.status):
            raise FindingChangeRefused(f"A finding that is {locked.status} cannot become {to_status}.")
        FindingEvent.objects.create(finding=locked, from_status=locked.status, to_status=to_status,
                                    actor=acting_user(actor), reason=reason)
        locked.status, locked.status_reason, locked.status_changed_at = to_status, reason, timezone.now()
        write.save(fields=["status", "status_reason", "status_changed_at"])
    return locked


# How many findings an assignment email names; the rest are a link to the assignee's inbox.
NAMED_IN_AN_ASSIGNMENT = 20


def _tell_assignee(person: Person, findings: list[Finding], actor) -> None:
    """Email `person` that `findings` are now theirs to answer, once the assignment is committed:
    each finding's severity, title and page, then their own inbox."""
    if not findings:
        return
    who = acting_user(actor)
    by = (who.get_full_name() or who.email or who.get_username()) if who else "Last Mile"
    inbox = f"{settings.SITE_URL}{reverse('web:findings')}?mine=on&status=active"
    lines = [f"- [{Severity(f.severity).label}] {f.title}\n  {settings.SITE_URL}{reverse('web:finding', args=[f.pk])}"
             for f in findings[:NAMED_IN_AN_ASSIGNMENT]]
    if len(findings) > NAMED_IN_AN_ASSIGNMENT:
        lines.append(f"… and {len(findings) - NAMED_IN_AN_ASSIGNMENT:,} more.")
    subject = (f"Assigned to you: {findings[0].title}" if len(findings) == 1
               else f"{len(findings):,} findings assigned to you")[:200]
    body = (f"{by} assigned you {'this finding' if len(findings) == 1 else f'{len(findings):,} findings'} to answer "
            "in Last Mile: acknowledge, resolve with a note, or say why it does not call for action.\n\n"
            + "\n".join(lines) + f"\n\nAll that is assigned to you: {inbox}\n")
    def send():
        # After the commit the assignment stands: a mail server that is down costs the email, not the answer.
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])
        except OSError:
            logger.exception("Could not email %s about the findings assigned to them", person.email)

    transaction.on_commit(send)


def moves_offered(actor, finding: Finding) -> list[str]:
    """The statuses `actor` may move `finding` to now, in the order pages offer them."""
    return [to_status for to_status in allowed_changes(finding.status) if can_answer_finding(actor, finding, to_status)]


def assign_finding(*, finding: Finding, assignee: Person | None, actor, expected_version: int | None = None) -> Finding:
    """Give the finding to `assignee` to answer (None: to nobody), as `actor` (the program
    office). With `expected_version`, refuses (StaleVersion) when the finding changed since it
    was read."""
    if not can_assign_findings(actor):
        raise NotAllowed("Only the program office assigns findings.")
    _require_able_assignee(assignee)
    reason = f"assigned to {assignee.email}" if assignee else "unassigned"
    with versioned_write(Finding.objects.all(), finding.pk, actor=actor, expected_version=expected_version,
                         reason=reason) as write:
        newly_theirs = assignee is not None and write.current.assignee_id != assignee.pk
        write.current.assignee = assignee
        write.save(fields=["assignee"])
        if newly_theirs:
            _tell_assignee(assignee, [write.current], actor)
    return write.current


# Many findings at once ---------------------------------------------------------------------------


# What the inbox's bulk actions do: move each selected finding to a status, or assign it.
BULK_STATUS_ACTIONS = {"acknowledge": FindingStatus.ACKNOWLEDGED, "dismiss": FindingStatus.DISMISSED,
                       "reopen": FindingStatus.OPEN}
BULK_ACTIONS = (*BULK_STATUS_ACTIONS, "assign")
# How many refused findings an error names before it says "and N more".
NAMED_IN_A_REFUSAL = 20


def _named(ids: list[int]) -> str:
    shown = ", ".join(str(pk) for pk in ids[:NAMED_IN_A_REFUSAL])
    more = len(ids) - NAMED_IN_A_REFUSAL
    return f"{shown} and {more} more" if more > 0 else shown


def _selected(actor, *, ids: list[int] | None, matching: QuerySet[Finding] | None) -> list[Finding]:
    """The selected findings, locked in id order (two bulk actions on overlapping selections
    queue rather than deadlock). Ids the actor cannot see are named as unknown: an id of a
    finding out of their reach tells them no more than one that never existed."""
    if (ids is None) == (matching is None):
        raise InvalidInput("Select findings by their ids or by a filter, not both and not neither.", field="ids")
    selection = visible_to(actor, matching if matching is not None else Finding.objects.all())
    if ids is not None:
        wanted = sorted(set(ids))
        locked = [f for batch in id_batches(wanted)
                  for f in selection.filter(pk__in=batch).select_for_update(of=("self",)).order_by("pk")]
        unknown = sorted(set(wanted) - {f.pk for f in locked})
        if unknown:
            raise InvalidInput(f"No finding you can see has the id {_named(unknown)}.", field="ids")
        return locked
    # Locked by id: a filter may make its query DISTINCT (by use case), which cannot lock rows.
    return list(Finding.objects.filter(pk__in=selection.values("pk")).select_for_update(of=("self",)).order_by("pk"))


def _require_able_assignee(person: Person | None) -> None:
    if person is not None and (why := why_assignee_cannot_answer(person)):
        raise InvalidInput(f"Not assigned: {why}", field="assignee")


def _assignee_named(email: str) -> Person:
    if not (email or "").strip():
        raise InvalidInput("Say whom to assign the findings to (an email).", field="assignee")
    person = Person.objects.filter(email=normalise_email(email)).first()
    if person is None:
        raise InvalidInput(f"No person with email '{email.strip()}' in the directory.", field="assignee")
    _require_able_assignee(person)
    return person


@dataclass(frozen=True)
class BulkOutcome:
    """What one bulk action did: how many findings it changed, and how many of the selection it
    left as they were because they already were where it would put them."""

    changed: int
    skipped: int


def act_on_findings(*, actor, action: str, ids: list[int] | None = None, matching: QuerySet[Finding] | None = None,
                    assignee: str = "", reason: str = "") -> BulkOutcome:
    """Acknowledge, dismiss (with `reason`), reopen or assign (to the person with email
    `assignee`) the findings with `ids`, or all `matching` a filter, that `actor` can see; returns
    how many changed and how many were skipped. All or nothing, under the rules of one finding at a time: when `actor` may
    not answer (or assign) any of them, or the lifecycle refuses one its move, the error names
    them and nothing is written. Findings already where the action would put them are left as
    they are and counted as skipped. A constant number of queries however many are selected."""
    if action not in BULK_ACTIONS:
        raise InvalidInput(f"Unknown action '{action}': one of {', '.join(BULK_ACTIONS)}.", field="action")
    reason = (reason or "").strip()
    if action == "assign":
        if not can_assign_findings(actor):
            raise NotAllowed("Only the program office assigns findings.")
        person = _assignee_named(assignee)
    elif action == "dismiss" and not reason:
        raise InvalidInput(DISMISSAL_NEEDS_A_REASON, field="reason")
    now = timezone.now()
    with transaction.atomic():
        selected = _selected(actor, ids=ids, matching=matching)
        if action == "assign":
            changed = [f for f in selected if f.assignee_id != person.pk]
            for finding in changed:
                finding.assignee, finding.version = person, finding.version + 1
            bulk_update_with_history(changed, ["assignee", "version"], default_user=acting_user(actor),
                                     default_change_reason=f"assigned to {person.email}")
            _tell_assignee(person, sorted(changed, key=lambda f: (-SEVERITY_ORDER.index(f.severity), f.pk)), actor)
            return BulkOutcome(changed=len(changed), skipped=len(selected) - len(changed))
        to_status = BULK_STATUS_ACTIONS[action]
        changed = [f for f in selected if f.status != to_status]
        answerable = {pk for batch in id_batches([f.pk for f in changed]) for pk in answerable_findings(
            actor, Finding.objects.filter(pk__in=batch), to_status).values_list("pk", flat=True)}
        not_theirs = [f.pk for f in changed if f.pk not in answerable]
        if not_theirs:
            why = _not_yours(actor, Finding.objects.all(), not_theirs, to_status)
            raise NotAllowed(f"You may not {action} findings {_named(not_theirs)}. {why.message} Nothing was changed.")
        stuck = [f for f in changed if to_status not in allowed_changes(f.status)]
        if stuck:
            raise FindingChangeRefused(
                f"These findings cannot become {to_status}: "
                + "; ".join(f"{f.pk} is {f.status}" for f in stuck[:NAMED_IN_A_REFUSAL])
                + (f" and {len(stuck) - NAMED_IN_A_REFUSAL} more" if len(stuck) > NAMED_IN_A_REFUSAL else "")
                + ". Nothing was changed.")
        events = [FindingEvent(finding=f, from_status=f.status, to_status=to_status, occurred_at=now,
                               actor=acting_user(actor), reason=reason) for f in changed]
        for finding in changed:
            finding.status, finding.status_reason, finding.status_changed_at = to_status, reason, now
            finding.version += 1
        bulk_update_with_history(changed, ["status", "status_reason", "status_changed_at", "version"],
                                 default_user=acting_user(actor), default_change_reason=reason)
        create_objects(events)
        return BulkOutcome(changed=len(changed), skipped=len(selected) - len(changed))


# Findings a write settles at once ----------------------------------------------------------------


def state_decision(*, use_case, statement: str, actor, frequency: str = "", expected_version: int | None = None):
    """State the decision of a use case under a placeholder (`registry.services.state_decision`)
    and, in the same transaction, resolve its missing-decision finding: it is about that use case
    alone and no longer holds once the decision is stated, so the owner's card and inbox do not
    keep it until the next scan. (A unit-wide inventory-completeness finding of an OMB import
    stays: the rest of the unit still lacks what it counts.)"""
    with transaction.atomic():
        decision = state_registry_decision(use_case=use_case, statement=statement, frequency=frequency, actor=actor,
                                           expected_version=expected_version)
        _resolve_settled(Finding.objects.filter(kind=FindingKind.MISSING_DECISION, use_cases=use_case),
                         actor=actor, reason=f"The decision was stated: {decision.statement}")
    return decision


def _resolve_settled(findings: QuerySet[Finding], *, actor, reason: str) -> None:
    """Resolve the active `findings`, each with its event and history, as `actor`'s write settled them."""
    now = timezone.now()
    settled = list(findings.filter(status__in=ACTIVE_STATUSES).select_for_update(of=("self",)).order_by("pk"))
    events = [FindingEvent(finding=f, from_status=f.status, to_status=FindingStatus.RESOLVED, occurred_at=now,
                           actor=acting_user(actor), reason=reason) for f in settled]
    for finding in settled:
        finding.status, finding.status_reason, finding.status_changed_at = FindingStatus.RESOLVED, reason, now
        finding.version += 1
    bulk_update_with_history(settled, ["status", "status_reason", "status_changed_at", "version"],
                             default_user=acting_user(actor), default_change_reason=reason)
    create_objects(events)
