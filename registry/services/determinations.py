"""Regulatory determinations of a use case: its OMB M-25-21 high-impact determination, its
minimum practices and their waivers, its EU AI Act classification, and the dates the Act's
obligations apply from.

Each is part of the use case's gate conditions (registry/gates.py), so each write is a new
version of the use case: a stale edit of it is refused and a standing sign-off stops counting.
Who, when and why are in the history of the record written (the reason is its change reason).
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from core.actors import acting_user
from core.errors import InvalidInput, Refused
from core.validation import validated
from core.versioning import versioned_write

from .. import access
from ..models import (
    ANNEX_III_CLASSES, AnnexIIIArea, DerogationCondition, EUClassification, EUObligation, EURiskClass, EURole,
    HighImpact, OMBDetermination, Practice, PracticeRecord, PracticeStatus, UseCase, Waiver,
)


def _choice(value, choices, field: str) -> str:
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise InvalidInput(f"'{value}' is not one of: {allowed}.", field=field)
    return value


def _text(value, field: str, *, required: str = "") -> str:
    if not isinstance(value, str):
        raise InvalidInput("Give text.", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(required, field=field)
    return value


def _date(value, field: str) -> datetime.date:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise InvalidInput("Give a date (YYYY-MM-DD).", field=field)
    return value


def _use_case_write(use_case: UseCase, *, actor, reason: str, expected_version: int | None = None):
    return versioned_write(UseCase.objects.select_related("decision"), use_case.pk, actor=actor,
                           expected_version=expected_version, reason=reason)


def _save(record, *, actor, reason: str) -> None:
    record._history_user = acting_user(actor)
    record._change_reason = reason
    validated(record, validate_unique=False)
    record.save()


def _refresh_version(use_case: UseCase, write) -> None:
    use_case.version, use_case.updated_at = write.current.version, write.current.updated_at


def determine_high_impact(
    *, use_case: UseCase, is_high_impact: str, actor, hi_justification: str = "", hi_potential_impacts: str = "",
    expected_version: int | None = None, on: datetime.date | None = None,
) -> OMBDetermination:
    """Record (or change) whether `use_case` is high-impact AI under OMB M-25-21.

    "Presumed high-impact, but not high-impact" needs the written justification. Only the
    program office or a Chief AI Officer determines.
    """
    _choice(is_high_impact, HighImpact, "is_high_impact")
    hi_justification = _text(hi_justification, "hi_justification", required=(
        "A use case presumed high-impact is determined not high-impact only with a written justification."
        if is_high_impact == HighImpact.PRESUMED_NOT_HIGH_IMPACT else ""))
    hi_potential_impacts = _text(hi_potential_impacts, "hi_potential_impacts")
    access.require(access.can_determine(actor),
                   "Only the program office or a Chief AI Officer determines whether a use case is high-impact.")
    label = HighImpact(is_high_impact).label
    with _use_case_write(use_case, actor=actor, reason=f"OMB determination: {label}",
                         expected_version=expected_version) as write:
        determination = OMBDetermination.objects.filter(use_case=write.current).first() or OMBDetermination(
            use_case=write.current)
        determination.is_high_impact = is_high_impact
        determination.hi_justification = hi_justification
        determination.hi_potential_impacts = hi_potential_impacts
        determination.determined_on = on or timezone.localdate()
        determination.determined_by = acting_user(actor)
        _save(determination, actor=actor, reason=hi_justification or f"determined {label}")
        write.save(fields=[])
    _refresh_version(use_case, write)
    return determination


def record_practice(
    *, use_case: UseCase, practice: str, status: str, actor, evidence_link: str = "", evidence_note: str = "",
    expected_version: int | None = None, on: datetime.date | None = None,
) -> PracticeRecord:
    """Record where a minimum practice stands. Done needs evidence (a link or a note); not
    applicable needs a note saying why. Any status may follow any other: work is reopened."""
    _choice(practice, Practice, "practice")
    _choice(status, PracticeStatus, "status")
    evidence_link = _text(evidence_link, "evidence_link")
    evidence_note = _text(evidence_note, "evidence_note", required=(
        "Say why the practice does not apply." if status == PracticeStatus.NOT_APPLICABLE else ""))
    if status == PracticeStatus.DONE and not (evidence_link or evidence_note):
        raise InvalidInput("A practice is done with evidence: give a link or a note.", field="evidence_link")
    label = f"{Practice(practice).label}: {PracticeStatus(status).label.lower()}"
    with _use_case_write(use_case, actor=actor, reason=f"minimum practice {label}",
                         expected_version=expected_version) as write:
        access.require(access.can_record_practice(actor, write.current),
                       "You may record the practices only of the use cases you own.")
        record = PracticeRecord.objects.filter(use_case=write.current, practice=practice).first() or PracticeRecord(
            use_case=write.current, practice=practice)
        record.status, record.evidence_link, record.evidence_note = status, evidence_link, evidence_note
        record.updated_on = on or timezone.localdate()
        _save(record, actor=actor, reason=label)
        write.save(fields=[])
    _refresh_version(use_case, write)
    return record


def grant_waiver(
    *, use_case: UseCase, practice: str, justification: str, expires_on: datetime.date, actor,
    granted_on: datetime.date | None = None, reported_on: datetime.date | None = None,
) -> Waiver:
    """A Chief AI Officer waives a minimum practice for `use_case` until `expires_on`.

    Refuses (Refused) while another waiver of the same practice is in force on the grant day.
    """
    _choice(practice, Practice, "practice")
    justification = _text(justification, "justification", required="A waiver needs a written justification.")
    granted_on = _date(granted_on or timezone.localdate(), "granted_on")
    expires_on = _date(expires_on, "expires_on")
    if expires_on <= granted_on:
        raise InvalidInput("A waiver expires after the day it is granted.", field="expires_on")
    if reported_on is not None and _date(reported_on, "reported_on") < granted_on:
        raise InvalidInput("A waiver is reported on or after the day it is granted.", field="reported_on")
    access.require(access.can_waive(actor), "Only a Chief AI Officer waives a minimum practice.")
    with _use_case_write(use_case, actor=actor, reason=f"waiver granted: {Practice(practice).label}") as write:
        if any(w.in_force(granted_on) for w in Waiver.objects.filter(use_case=write.current, practice=practice)):
            raise Refused(f"A waiver of '{Practice(practice).label}' is already in force for '{write.current}'.")
        waiver = Waiver(use_case=write.current, practice=practice, justification=justification,
                        granted_on=granted_on, expires_on=expires_on, reported_on=reported_on,
                        granted_by=acting_user(actor))
        _save(waiver, actor=actor, reason=justification)
        write.save(fields=[])
    _refresh_version(use_case, write)
    return waiver


def _waiver_write(waiver: Waiver, *, actor, reason: str):
    return _use_case_write(UseCase(pk=waiver.use_case_id), actor=actor, reason=reason)


def record_waiver_reported(*, waiver: Waiver, reported_on: datetime.date, actor) -> Waiver:
    """Record the day a waiver was reported to OMB (once; a revoked one is not reported)."""
    reported_on = _date(reported_on, "reported_on")
    access.require(access.can_waive(actor), "Only a Chief AI Officer reports a waiver.")
    with _waiver_write(waiver, actor=actor, reason="waiver reported") as write:
        current = Waiver.objects.select_for_update().get(pk=waiver.pk)
        if current.reported_on is not None:
            raise Refused(f"This waiver was reported on {current.reported_on}.")
        if current.revoked_on is not None:
            raise Refused("This waiver was revoked; there is nothing to report.")
        if reported_on < current.granted_on:
            raise InvalidInput("A waiver is reported on or after the day it is granted.", field="reported_on")
        current.reported_on = reported_on
        _save(current, actor=actor, reason=f"reported on {reported_on}")
        write.save(fields=[])
    return current


def revoke_waiver(*, waiver: Waiver, reason: str, actor, on: datetime.date | None = None) -> Waiver:
    """End a waiver before it expires; the practice must then be done to pass the gate."""
    reason = _text(reason, "reason", required="Say why the waiver is revoked.")
    access.require(access.can_waive(actor), "Only a Chief AI Officer revokes a waiver.")
    with _waiver_write(waiver, actor=actor, reason="waiver revoked") as write:
        current = Waiver.objects.select_for_update().get(pk=waiver.pk)
        revoked_on = on or timezone.localdate()
        if current.revoked_on is not None:
            raise Refused(f"This waiver was revoked on {current.revoked_on}.")
        if revoked_on > current.expires_on:
            raise Refused(f"This waiver expired on {current.expires_on}.")
        current.revoked_on, current.revoked_reason = max(revoked_on, current.granted_on), reason
        _save(current, actor=actor, reason=reason)
        write.save(fields=[])
    return current


def classify_eu(
    *, use_case: UseCase, role: str, risk_class: str, rationale: str, actor, annex_iii_area: str = "",
    derogation_condition: str = "", profiles_natural_persons: bool = False, transparency_art50: bool = False,
    expected_version: int | None = None, on: datetime.date | None = None,
) -> EUClassification:
    """Record (or change) the operator's role and the risk class under the EU AI Act.

    An Annex III class names its area; the Art. 6(3) derogation names its condition and is not
    available to a system that profiles natural persons (that one is high-risk).
    """
    _choice(role, EURole, "role")
    _choice(risk_class, EURiskClass, "risk_class")
    rationale = _text(rationale, "rationale", required="Say why the use case has this class.")
    if not isinstance(profiles_natural_persons, bool):
        raise InvalidInput("Give true or false.", field="profiles_natural_persons")
    if not isinstance(transparency_art50, bool):
        raise InvalidInput("Give true or false.", field="transparency_art50")
    if risk_class in ANNEX_III_CLASSES:
        _choice(annex_iii_area, AnnexIIIArea, "annex_iii_area")
    elif annex_iii_area:
        raise InvalidInput("Only an Annex III class names an Annex III area.", field="annex_iii_area")
    if risk_class == EURiskClass.NOT_SIGNIFICANT_RISK:
        _choice(derogation_condition, DerogationCondition, "derogation_condition")
        if profiles_natural_persons:
            raise InvalidInput("An Annex III system that profiles natural persons is always high-risk: "
                               "the Art. 6(3) derogation does not apply.", field="risk_class")
    elif derogation_condition:
        raise InvalidInput("Only the Art. 6(3) derogation names a condition.", field="derogation_condition")
    access.require(access.can_determine(actor),
                   "Only the program office or a Chief AI Officer classifies a use case under the EU AI Act.")
    with _use_case_write(use_case, actor=actor, reason=f"EU AI Act: {EURiskClass(risk_class).label}",
                         expected_version=expected_version) as write:
        classification = EUClassification.objects.filter(use_case=write.current).first() or EUClassification(
            use_case=write.current)
        for field, value in {
            "role": role, "risk_class": risk_class, "annex_iii_area": annex_iii_area,
            "derogation_condition": derogation_condition, "profiles_natural_persons": profiles_natural_persons,
            "transparency_art50": transparency_art50 or risk_class == EURiskClass.TRANSPARENCY,
            "rationale": rationale, "classified_on": on or timezone.localdate(), "classified_by": acting_user(actor),
        }.items():
            setattr(classification, field, value)
        _save(classification, actor=actor, reason=rationale)
        write.save(fields=[])
    _refresh_version(use_case, write)
    return classification


def set_obligation_date(*, obligation: EUObligation, applies_from: datetime.date, actor, reason: str) -> EUObligation:
    """Move the date an EU AI Act obligation applies from (the Act's dates have moved before)."""
    applies_from = _date(applies_from, "applies_from")
    reason = _text(reason, "reason", required="Say why the date moved (e.g. the amending act).")
    access.require(access.can_keep_eu_dates(actor), "Only the program office keeps the EU AI Act's dates.")
    with transaction.atomic():
        current = EUObligation.objects.select_for_update().get(pk=obligation.pk)
        current.applies_from = applies_from
        _save(current, actor=actor, reason=reason)
    return current
