"""High-impact practices: high-impact AI running without its minimum practices, and waivers
that lapsed or were not reported in time (OMB M-25-21).

Three problems:

- **practices_missing** — a use case determined high-impact, in pilot or production on
  `as_of`, with a minimum practice neither done nor waived: the rule of the gate into pilot and
  production (`registry.gates.practices_neither_done_nor_waived`: "not applicable" is not an
  exit, a waiver counts from its grant day to its expiry day, both included, unless revoked).
  One finding per use case, naming every such practice with its status.
- **waiver_expired** — the latest waiver of a practice, not revoked, whose expiry day is before
  `as_of` (on its expiry day a waiver still holds), for such a use case whose practice is
  still neither done nor waived: renew it or do the practice. A waiver whose practice has since
  been done, or waived again, or whose use case left pilot and production or is no longer
  high-impact, is history, not a finding.
- **waiver_unreported** / **waiver_reported_late** — a waiver not revoked by `as_of` that
  was not reported to OMB within 30 days of its grant (`WAIVER_REPORT_DAYS`, as the waiver
  register judges it): reported
  on day 30 (the grant day is day 0) is in time; unreported on day 31, or reported on day 31
  or later, is a finding. A revoked waiver has nothing left to report.

Judging as of a date: the stage on `as_of` comes from the stage transitions (as in the other
scans); the determination and each practice's status are taken as they are now (their
history is not reconstructed, as the missing-decision scan takes decisions); waivers are
judged by their dates against `as_of` (granted, expired, reported and revoked by then).

Severity:

- practices missing in production → critical: a high-impact system is deciding about people
  now without a safeguard M-25-21 requires (the memo asks agencies to stop using such AI until
  it complies);
- practices missing in pilot → high: affected people already meet it, on a smaller scale;
- a waiver expired → high: the practice it covered is missing where it is required (the use
  case's own finding says so too, critical in production);
- a waiver not reported in time → medium: a duty to OMB missed; the record is weak, nobody is
  harmed by it.

Identity: (problem group, use case or waiver id): the use case for practices missing, the
waiver for the others (an unreported waiver later reported late stays one finding).
Substance: the missing practices, so a dismissed finding reopens when another practice goes
missing; nothing for waivers.
"""

from __future__ import annotations

import datetime

from django.db.models import F, Prefetch, Q

from portfolio.models import FindingKind, Severity
from registry.gates import practices_neither_done_nor_waived
from registry.models import HighImpact, Practice, PracticeRecord, Stage, UseCase, Waiver
from registry.selectors.determinations import WAIVER_REPORT_DAYS

from .base import Detected, stage_on

KIND = FindingKind.HIGH_IMPACT_PRACTICES

REQUIRED_IN = (Stage.PILOT, Stage.PRODUCTION)
# What this scan reads of a waiver (Waiver.in_force and the findings).
WAIVER_FIELDS = ("use_case_id", "practice", "granted_on", "expires_on", "revoked_on")
SEVERITY_BY_STAGE = {Stage.PILOT: Severity.HIGH, Stage.PRODUCTION: Severity.CRITICAL}


def _label(practice: str) -> str:
    return Practice(practice).label


def _about(use_case: UseCase) -> dict:
    return {
        "use_case": use_case.key,
        "business_unit": use_case.business_unit.name,
        "owner": use_case.business_owner.email if use_case.business_owner else None,
    }


TITLE_MAX = 300


def _title(use_case: UseCase, stage: str, missing: list[str]) -> str:
    """"'X' is high-impact and in production with 2 minimum practices neither done nor waived:
    A, B" (commas only: the names have "and" in them); all eight are said so, and names that do
    not fit end "and N more"."""
    start = f"'{use_case.title}' is high-impact and in {Stage(stage).label.lower()} with "
    if len(missing) == len(Practice.values):
        return f"{start}none of the {len(missing)} minimum practices done or waived"[:TITLE_MAX]
    start += f"{len(missing)} minimum practice{'s' if len(missing) > 1 else ''} neither done nor waived: "
    names = [_label(p) for p in missing]
    for shown in range(len(names), 0, -1):
        listed = ", ".join(names[:shown])
        if shown < len(names):
            listed += f" and {len(names) - shown} more"
        if len(start + listed) <= TITLE_MAX:
            return start + listed
    return (start + names[0])[:TITLE_MAX]


def _missing_practices(use_case: UseCase, stage: str, as_of: datetime.date, missing: dict[str, str]) -> Detected:
    waived = sorted((w for w in use_case.waivers.all() if w.in_force(as_of)), key=lambda w: w.practice)
    return Detected(
        kind=KIND,
        identity=("practices", use_case.pk),
        substance=tuple(missing),
        severity=SEVERITY_BY_STAGE[stage],
        title=_title(use_case, stage, list(missing)),
        use_case_ids=[use_case.pk],
        decision_ids=[use_case.decision_id],
        detail={
            "problem": "practices_missing",
            **_about(use_case),
            "stage": stage,
            "missing": [{"practice": practice, "status": status} for practice, status in missing.items()],
            "waived": [{"practice": w.practice, "expires_on": w.expires_on.isoformat()} for w in waived],
        },
    )


def _expired(use_case: UseCase, stage: str, as_of: datetime.date, missing: dict[str, str]) -> list[Detected]:
    latest: dict[str, Waiver] = {}
    for waiver in use_case.waivers.all():
        revoked = waiver.revoked_on is not None and waiver.revoked_on <= as_of
        if revoked or waiver.granted_on > as_of or waiver.practice not in missing:
            continue
        if waiver.practice not in latest or waiver.expires_on > latest[waiver.practice].expires_on:
            latest[waiver.practice] = waiver
    found = []
    for practice, waiver in sorted(latest.items()):
        if waiver.expires_on >= as_of:
            continue  # not expired: revoked after as_of, or another waiver of it is the latest
        found.append(Detected(
            kind=KIND,
            identity=("waiver_expired", waiver.pk),
            facts=(use_case.title, _about(use_case), stage, practice, missing[practice], waiver.expires_on.isoformat()),
            severity=Severity.HIGH,
            title=f"The waiver of '{_label(practice)}' for '{use_case.title}' expired on "
                  f"{waiver.expires_on.isoformat()}, and the practice is not done"[:300],
            use_case_ids=[use_case.pk],
            decision_ids=[use_case.decision_id],
            detail={
                "problem": "waiver_expired",
                **_about(use_case),
                "stage": stage,
                "waiver": waiver.pk,
                "practice": practice,
                "practice_status": missing[practice],
                "granted_on": waiver.granted_on.isoformat(),
                "expires_on": waiver.expires_on.isoformat(),
                "days_expired": (as_of - waiver.expires_on).days,
            },
        ))
    return found


def _reporting(as_of: datetime.date, limit: int) -> list[Detected]:
    due = as_of - datetime.timedelta(days=limit)  # granted before this day, it is due by as_of
    waivers = (
        Waiver.objects.order_by()
        .filter(Q(revoked_on__isnull=True) | Q(revoked_on__gt=as_of), granted_on__lte=as_of)
        .filter(Q(reported_on__isnull=True, granted_on__lt=due) | Q(reported_on__gt=as_of, granted_on__lt=due)
                | Q(reported_on__lte=as_of, reported_on__gt=F("granted_on") + datetime.timedelta(days=limit)))
        .select_related("use_case__business_unit", "use_case__business_owner")
    )
    found = []
    for waiver in waivers:
        use_case = waiver.use_case
        reported = waiver.reported_on if waiver.reported_on is not None and waiver.reported_on <= as_of else None
        days = ((reported or as_of) - waiver.granted_on).days
        what = (f"was reported to OMB {days} days after its grant" if reported
                else f"has not been reported to OMB {days} days after its grant")
        found.append(Detected(
            kind=KIND,
            identity=("waiver_report", waiver.pk),
            # Unreported, the days since the grant grow by the day; reported late, they are settled.
            facts=(use_case.title, _about(use_case), waiver.practice, waiver.expires_on.isoformat(),
                   reported.isoformat() if reported else None, days if reported else None),
            severity=Severity.MEDIUM,
            title=f"The waiver of '{_label(waiver.practice)}' for '{use_case.title}' {what} (limit {limit})"[:300],
            use_case_ids=[use_case.pk],
            decision_ids=[use_case.decision_id],
            detail={
                "problem": "waiver_reported_late" if reported else "waiver_unreported",
                **_about(use_case),
                "waiver": waiver.pk,
                "practice": waiver.practice,
                "granted_on": waiver.granted_on.isoformat(),
                "expires_on": waiver.expires_on.isoformat(),
                "reported_on": reported.isoformat() if reported else None,
                "days_to_report": days,
                "report_limit_days": limit,
            },
        ))
    return found


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    use_cases = (
        UseCase.objects.order_by()
        .filter(omb_determination__is_high_impact=HighImpact.HIGH_IMPACT)
        .annotate(stage_on=stage_on(as_of))
        .filter(stage_on__in=REQUIRED_IN)
        .select_related("business_unit", "business_owner")
        # Only what the findings say: thousands of use cases, and tens of thousands of records.
        .only("pk", "title", "external_id", "decision_id", "business_unit__name", "business_owner__email")
        .prefetch_related(Prefetch("practices", PracticeRecord.objects.only("use_case_id", "practice", "status")),
                          Prefetch("waivers", Waiver.objects.only(*WAIVER_FIELDS)))
    )
    found = []
    for use_case in use_cases:
        missing = practices_neither_done_nor_waived(use_case, as_of)
        if missing:
            found.append(_missing_practices(use_case, use_case.stage_on, as_of, missing))
            found.extend(_expired(use_case, use_case.stage_on, as_of, missing))
    found.extend(_reporting(as_of, WAIVER_REPORT_DAYS))
    found.sort(key=lambda d: d.identity)
    return found

