"""Gate sign-offs: a person who is not the use case's owner approves (or asks for changes to)
its entering pilot or production. The gate (registry/gates.py) counts the latest one given on
the gate conditions as they are."""

from __future__ import annotations

import datetime

from django.utils import timezone

from core.errors import InvalidInput, Refused
from core.versioning import versioned_write

from .. import access
from ..gates import NEXT_STAGE, gate_fingerprint
from ..models import SIGN_OFF_STAGES, SignOff, SignOffOutcome, UseCase

MAX_NOTE = SignOff._meta.get_field("note").max_length


def sign_off(*, use_case: UseCase, stage: str, outcome: str, actor, note: str = "",
             on: datetime.datetime | None = None) -> SignOff:
    """Record `actor`'s sign-off of `use_case` entering `stage` (its next stage).

    Refuses with InvalidInput naming the field for a stage that takes no sign-off, an unknown
    outcome or a note that is not text or too long (changes requested need a note); NotAllowed
    for the use case's business or technical owner, an auditor, the system, or anyone without
    the program office or approver role for its unit; Refused when `stage` is not the stage the
    use case moves to next.
    """
    if stage not in SIGN_OFF_STAGES:
        raise InvalidInput(f"Sign-offs are for {' and '.join(SIGN_OFF_STAGES)}.", field="stage")
    if outcome not in SignOffOutcome.values:
        raise InvalidInput(f"The outcome is {' or '.join(SignOffOutcome.values)}.", field="outcome")
    if not isinstance(note, str) or len(note) > MAX_NOTE or "\x00" in note:
        raise InvalidInput(f"Give the note as text of at most {MAX_NOTE} characters.", field="note")
    note = note.strip()
    if outcome == SignOffOutcome.CHANGES_REQUESTED and not note:
        raise InvalidInput("Say which changes are needed.", field="note")
    queryset = UseCase.objects.select_related("decision", "business_owner", "technical_owner")
    # Locked, not versioned: a sign-off changes none of the use case's facts, but the gate
    # conditions it fingerprints must not change while it is written.
    with versioned_write(queryset, use_case.pk, actor=actor) as write:
        current = write.current
        access.require(not access.is_use_case_owner(actor, current),
                       "Separation of duties: an owner of the use case does not sign off its gates.")
        access.require(access.can_sign_off(actor, current),
                       "Gates are signed off by the program office or an approver of the use case's business unit.")
        if NEXT_STAGE.get(current.stage) != stage:
            raise Refused(f"'{current}' is in {current.stage}: only its next stage takes a sign-off, not {stage}.")
        return SignOff.objects.create(
            use_case=current, stage=stage, outcome=outcome, note=note, signed_by=actor,
            signed_at=on or timezone.now(), gate_fingerprint=gate_fingerprint(current),
        )
