"""The 2025 inventory's high-impact columns, both ways: the OMB M-25-21 determination
(``is_high_impact``, ``HI_justification``, ``hi_potential_impacts``) and the minimum practices
(the other ``hi_*`` columns), read into `OMBDetermination` and `PracticeRecord` and written
back.

**The determination.** ``is_high_impact`` holds the labels of `HighImpact` (``High-impact``,
``Not High-impact``, ``Presumed High-Impact, but Not High-impact``); blank is not determined
(no record). ``HI_justification`` and ``hi_potential_impacts`` are its text. Any other value is
an error naming the row and the column.

**The practices** (a column is ``hi_`` + the `Practice` value). Each cell is a status, and
sometimes words worth keeping as the practice's evidence note:

| cell | status | evidence note |
| --- | --- | --- |
| ``Yes`` and each column's own "done" words (``Training Established``, ``Appeal Process Established``, ``Yes - Monitoring Established``) | done | "Reported … in the OMB 2025 inventory" (done needs evidence) |
| ``Internal Independent Review``, ``CAIO Review``, ``Oversight Board Review`` (independent review); ``Yes – by an agency AI oversight board …`` (monitoring) | done | the cell: who reviewed or monitors |
| ``In-progress`` and each column's own (``Training In-progress``, ``Appeal Process In-progress``) | in progress | — |
| ``No`` | not started | — |
| ``Not Applicable``; ``Appeal Precluded by Law`` (appeal, with the cell as note) | not applicable | the cell, where it says why |
| blank, ``[]`` | nothing reported: no record (a practice without one has not started) | — |

``hi_public_consultation`` is a list as Python writes one (``['Usability Testing', 'Other']``):
``['In-progress']``, or answers that are all plans (they begin "Planning …" or end
"in-progress"), is in progress; any other answer names a consultation held, so the practice is
done with the answers as its evidence note; ``['Not Applicable']`` is not applicable.

Two known answers say nothing Last Mile can hold, and are kept only in the source record, so
they go back out as published: ``CAIO Waived`` (independent review: a waiver, but without the
grant and expiry dates a `Waiver` needs; the Chief AI Officer records it in the waiver
register) and the monitoring question's answers given in the training column (``a) Yes,
sufficient monitoring protocols have been established``, ``b) Development of monitoring
protocols is in-progess``): they do not say where training stands. Any other value is an error
naming the row and the column. Values are matched ignoring case and repeated spaces.

**Export.** A cell goes back exactly as published while what it reports still holds in Last
Mile (`agrees`: the same status, and the same words where the cell had words of its own);
otherwise the column gets Last Mile's value in the inventory's words (`practice_cell`). A
blank cell reports nothing, so importing it leaves what Last Mile holds as it is.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from core.spreadsheet import unescape_cell
from core.text import collapse_whitespace

from ...models import HighImpact, OMBDetermination, Practice, PracticeRecord, PracticeStatus

IS_HIGH_IMPACT = "is_high_impact"
JUSTIFICATION = "HI_justification"
POTENTIAL_IMPACTS = "hi_potential_impacts"
TEXT_MAX = 5000

PRACTICE_COLUMN = {practice: f"hi_{practice}" for practice in Practice.values}
CONSULTATION = Practice.PUBLIC_CONSULTATION

DONE, IN_PROGRESS, NOT_STARTED, NOT_APPLICABLE = (
    PracticeStatus.DONE, PracticeStatus.IN_PROGRESS, PracticeStatus.NOT_STARTED, PracticeStatus.NOT_APPLICABLE)

HIGH_IMPACT_VALUES = {label.lower(): value for value, label in HighImpact.choices}

# A known answer Last Mile cannot hold as a status: kept in the source record only.
KEPT = "kept"

# Every column's words for each status, first the one Last Mile writes; (status, True): the
# cell's words are the evidence note.
_COMMON = {"yes": (DONE, False), "no": (NOT_STARTED, False), "in-progress": (IN_PROGRESS, False),
           "in progress": (IN_PROGRESS, False), "not applicable": (NOT_APPLICABLE, False)}
_OWN = {
    Practice.INDEPENDENT_REVIEW: {
        "internal independent review": (DONE, True), "caio review": (DONE, True),
        "oversight board review": (DONE, True), "caio waived": (KEPT, False),
    },
    Practice.ONGOING_MONITORING: {
        "yes - monitoring established": (DONE, False),
        "yes – by an agency ai oversight board not directly involved in the ai’s development": (DONE, True),
    },
    Practice.TRAINING_ESTABLISHED: {
        "training established": (DONE, False), "training in-progress": (IN_PROGRESS, False),
        "a) yes, sufficient monitoring protocols have been established": (KEPT, False),
        "b) development of monitoring protocols is in-progess": (KEPT, False),
    },
    Practice.APPEAL_PROCESS: {
        "appeal process established": (DONE, False), "appeal process in-progress": (IN_PROGRESS, False),
        "appeal precluded by law": (NOT_APPLICABLE, True),
    },
}
VOCABULARY = {practice: {**_COMMON, **_OWN.get(practice, {})} for practice in Practice.values if practice != CONSULTATION}

# What Last Mile writes for a status it holds, in each column's own words.
_WRITTEN = {DONE: "Yes", IN_PROGRESS: "In-progress", NOT_STARTED: "No", NOT_APPLICABLE: "Not Applicable"}
WRITTEN = {
    practice: {**_WRITTEN, **{
        Practice.ONGOING_MONITORING: {DONE: "Yes - Monitoring Established"},
        Practice.TRAINING_ESTABLISHED: {DONE: "Training Established", IN_PROGRESS: "Training In-progress"},
        Practice.APPEAL_PROCESS: {DONE: "Appeal Process Established", IN_PROGRESS: "Appeal Process In-progress"},
    }.get(practice, {})}
    for practice in VOCABULARY
}


class BadCell(ValueError):
    """A cell the mapping does not know; the message says what it expects."""


@dataclass(frozen=True)
class Reported:
    """What a practice cell reports: a status, and the cell's words when they are evidence."""

    status: str
    note: str | None = None


@dataclass(frozen=True)
class Determination:
    is_high_impact: str
    hi_justification: str
    hi_potential_impacts: str


def _key(cell: str) -> str:
    return collapse_whitespace(unescape_cell(cell.strip())).lower()


def text_of(cell: str) -> str:
    text = unescape_cell(cell.strip())
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1].rstrip() + "…"


def _shown(cell: str) -> str:
    cell = collapse_whitespace(cell)
    return cell if len(cell) <= 60 else cell[:60] + "…"


def read_determination(record: dict) -> Determination | None:
    """The determination a row reports; None when ``is_high_impact`` is blank."""
    cell = record.get(IS_HIGH_IMPACT, "")
    if not cell.strip():
        return None
    value = HIGH_IMPACT_VALUES.get(_key(cell))
    if value is None:
        raise BadCell(f"'{_shown(cell)}' is not a determination this importer knows ({', '.join(HighImpact.labels)})")
    return Determination(value, text_of(record.get(JUSTIFICATION, "")), text_of(record.get(POTENTIAL_IMPACTS, "")))


def _is_plan(answer: str) -> bool:
    answer = answer.lower()
    return answer.startswith("planning") or answer.endswith(("in-progress", "in progress"))


def _read_consultation(cell: str) -> Reported | None:
    text = unescape_cell(cell.strip())
    if not text:
        return None
    try:
        answers = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        answers = None
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise BadCell(f"'{_shown(cell)}' is not a list of answers as the inventory writes them "
                      "(['Usability Testing', 'Other'], ['In-progress'] or [])")
    answers = [a.strip() for a in answers if a.strip()]
    if not answers:
        return None
    words = [a for a in answers if a.lower() not in ("in-progress", "in progress")]
    note = text_of("\n".join(words)) if words else None
    if [a.lower() for a in answers] == ["not applicable"]:
        return Reported(NOT_APPLICABLE)
    return Reported(IN_PROGRESS if all(_is_plan(a) for a in answers) else DONE, note)


def read_practice(practice: str, cell: str) -> Reported | None:
    """What a practice cell reports; None when it reports nothing Last Mile can hold."""
    if practice == CONSULTATION:
        return _read_consultation(cell)
    if not cell.strip():
        return None
    found = VOCABULARY[practice].get(_key(cell))
    if found is None:
        known = sorted({words for words, (status, _) in VOCABULARY[practice].items() if status != KEPT})
        raise BadCell(f"'{_shown(cell)}' is not an answer this importer knows ({', '.join(known)})")
    status, worded = found
    if status == KEPT:
        return None
    return Reported(status, text_of(cell) if worded else None)


def read_practices(record: dict) -> tuple[dict[str, Reported], list[tuple[str, str]]]:
    """Every practice the row reports, by practice, and (column, message) for each bad cell."""
    reported, bad = {}, []
    for practice, column in PRACTICE_COLUMN.items():
        try:
            found = read_practice(practice, record.get(column, ""))
        except BadCell as exc:
            bad.append((column, str(exc)))
            continue
        if found is not None:
            reported[practice] = found
    return reported, bad


def reported_note(practice: str, cell: str) -> str:
    """The evidence note of a practice the inventory reports done without words of its own."""
    return f"Reported as “{collapse_whitespace(cell)}” in the OMB 2025 inventory ({PRACTICE_COLUMN[practice]})."


def agrees(reported: Reported | None, record: PracticeRecord | None) -> bool:
    """Whether Last Mile still holds what the cell reports: the same status, and the cell's
    words as the note where it has words of its own."""
    if reported is None or record is None:
        return reported is None and record is None
    return reported.status == record.status and (reported.note is None or reported.note == record.evidence_note)


def determination_agrees(reported: Determination | None, determination: OMBDetermination | None) -> bool:
    if reported is None or determination is None:
        return reported is None and determination is None
    return reported == Determination(determination.is_high_impact, determination.hi_justification,
                                     determination.hi_potential_impacts)


def practice_cell(record: PracticeRecord) -> str:
    """The cell for what Last Mile holds, in the column's words (read back to the same status)."""
    practice, status = record.practice, record.status
    if practice == CONSULTATION:
        if status == DONE:
            return str([record.evidence_note or record.evidence_link])
        return str({IN_PROGRESS: ["In-progress"], NOT_APPLICABLE: ["Not Applicable"]}.get(status, []))
    note = record.evidence_note
    if note and VOCABULARY[practice].get(_key(note)) == (status, True):
        return note  # the column's own words for it ("CAIO Review"), as imported
    return WRITTEN[practice][status]
