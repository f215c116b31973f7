"""Writing the inventory back in the US federal 2025 columns.

**Export** (``omb-2025``) writes the 36 columns in the published order, UTF-8 with a
byte-order mark: a use case imported from that format gets back its source cells, except
where it changed in Last Mile — title, business owner (``contact_email``), stage
(``development_stage``: proposed and validating → Pre-deployment, pilot → Pilot, production
→ Deployed, retired → Retired, not reported → blank), an edited summary (written to ``problem_solved``), and
the OMB determination and minimum practices where what Last Mile holds no longer agrees with the
cell (``is_high_impact``, ``HI_justification``, ``hi_potential_impacts`` and the practices'
``hi_*`` columns, in the inventory's words: `high_impact`). Other use cases get their key as
``id``, unit, title, owner, stage, summary, determination and practices.

**Cells a spreadsheet would run** (``=``, ``+``, ``-``, ``@``, TAB, CR at the start): what Last
Mile writes goes out with a leading quote (``core.spreadsheet``; the importer's mapping takes it
off again). A source cell going back unchanged is written exactly as published, so an imported
file exported again stays the same file, byte for byte.
"""

from __future__ import annotations

import csv
from pathlib import Path

from core.errors import InvalidInput
from core.spreadsheet import escape_cell

from ...models import HighImpact, OMBDetermination, Stage, UseCase
from ..common import BATCH_SIZE
from .high_impact import (
    IS_HIGH_IMPACT, JUSTIFICATION, PRACTICE_COLUMN, POTENTIAL_IMPACTS, BadCell, agrees, practice_cell,
    read_determination, read_practice, text_of,
)
from .mapping import (
    COLUMNS_2025,
    OMB_2025,
    STAGE_TO_2025,
    STAGES_2025,
    derive_summary,
    derive_title,
    map_stage,
    owner_email,
    split_unit_name,
    unit_name,
)


def _determination(use_case: UseCase) -> OMBDetermination | None:
    try:
        return use_case.omb_determination
    except OMBDetermination.DoesNotExist:
        return None


def _reads(read, *args):
    """What a source cell reports; a cell the mapping does not know (an older import) agrees with nothing."""
    try:
        return read(*args)
    except BadCell:
        return BadCell


def _high_impact_cells(use_case: UseCase, values: dict) -> dict[str, str]:
    """The high-impact columns whose cells no longer say what Last Mile holds, as Last Mile holds it."""
    written = {}
    determination = _determination(use_case)
    if determination is not None:
        if determination.is_high_impact != getattr(_reads(read_determination, values), "is_high_impact", None):
            written[IS_HIGH_IMPACT] = HighImpact(determination.is_high_impact).label
        for column, value in ((JUSTIFICATION, determination.hi_justification),
                              (POTENTIAL_IMPACTS, determination.hi_potential_impacts)):
            if value != text_of(values[column]):
                written[column] = value
    for record in use_case.practices.all():
        column = PRACTICE_COLUMN[record.practice]
        reported = _reads(read_practice, record.practice, values[column])
        if reported is BadCell or not agrees(reported, record):
            written[column] = practice_cell(record)
    return written


def _row_2025(use_case: UseCase) -> list[str]:
    record = use_case.source_record if use_case.source_format == OMB_2025 else {}
    owner = use_case.business_owner.email if use_case.business_owner else None
    if not record:
        agency, agency_name = split_unit_name(use_case.business_unit.name)
        values = dict.fromkeys(COLUMNS_2025, "")
        values.update(
            agency=agency, agency_name=agency_name, id=use_case.key, use_case_name=use_case.title,
            contact_email=owner or "", development_stage=STAGE_TO_2025[use_case.stage], problem_solved=use_case.summary,
        )
        if use_case.stage in (Stage.PILOT, Stage.PRODUCTION):
            values["operational_date"] = use_case.stage_entered_on.isoformat()
        values.update(_high_impact_cells(use_case, values))
        return [escape_cell(values[c]) for c in COLUMNS_2025]
    values = {c: record.get(c, "") for c in COLUMNS_2025}
    written = {}  # what Last Mile changed, written as text; the rest goes back as published
    if use_case.title != derive_title(values["use_case_name"], use_case.key):
        written["use_case_name"] = use_case.title
    if owner != owner_email(values["contact_email"]):
        written["contact_email"] = owner or ""
    if use_case.stage != map_stage(values["development_stage"], STAGES_2025):
        written["development_stage"] = STAGE_TO_2025[use_case.stage]
    if use_case.summary != derive_summary(values[c] for c in ("problem_solved", "benefits", "system_outputs")):
        written["problem_solved"] = use_case.summary
    if use_case.business_unit.name.lower() != unit_name(values["agency"], values["agency_name"]).lower():
        written["agency"], written["agency_name"] = split_unit_name(use_case.business_unit.name)
    written.update(_high_impact_cells(use_case, values))
    values.update((column, escape_cell(value)) for column, value in written.items())
    return [values[c] for c in COLUMNS_2025]


def export_federal(path: str | Path, *, fmt: str = OMB_2025) -> int:
    """Write every use case in the OMB 2025 columns; returns the row count."""
    if fmt != OMB_2025:
        raise InvalidInput(f"Export writes the {OMB_2025} format only (asked for {fmt!r}).", field="format")
    queryset = (
        UseCase.objects.select_related("business_unit", "business_owner", "omb_determination")
        .prefetch_related("practices").order_by("pk").iterator(chunk_size=BATCH_SIZE)
    )
    count = 0
    with Path(path).open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS_2025)
        for use_case in queryset:
            writer.writerow(_row_2025(use_case))
            count += 1
    return count
