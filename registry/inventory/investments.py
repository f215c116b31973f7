"""Investment per use case, value-chain layer and period, from a CSV or XLSX file (`import_investments`).

Columns, in any order: `use_case` (its external id, or the primary key of one without),
`layer` (data, infrastructure, model, orchestration, inference), `period_start` and
`period_end` (YYYY-MM-DD), `planned` and `spent` (amounts in the registry's currency; blank
is 0). A row is keyed by use case, layer and period start: importing it again corrects it.
All or nothing, like every import: every problem is reported as `row N, column C: message`.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

from core.actors import names_its_actor

from .. import access
from ..models import Investment, ValueChainLayer
from ..services.investments import upsert_investments
from .common import (
    ImportFailed,
    ImportReport,
    Progress,
    RowErrors,
    RowReader,
    check_columns,
    existing_use_cases,
    no_progress,
    read_rows,
    writing,
)

INVESTMENT_COLUMNS = ["use_case", "layer", "period_start", "period_end", "planned", "spent"]
INVESTMENT_REQUIRED = ["use_case", "layer", "period_start", "period_end"]
NOT_ALLOWED = "Imports are the program office's."


@names_its_actor
def import_investments(path: str | Path, *, actor, dry_run: bool = False,
                       progress: Progress = no_progress) -> ImportReport:
    """Create or correct investments from a file, all or nothing; refuses (NotAllowed) unless
    the actor may import."""
    access.require(access.can_import(actor), NOT_ALLOWED)
    errors = RowErrors()
    table = read_rows(path, errors)
    report = ImportReport(rows=len(table.rows), dry_run=dry_run)
    report.ignored_columns = check_columns(table.columns, INVESTMENT_REQUIRED, INVESTMENT_COLUMNS)
    keys = sorted({row.get("use_case", "").strip() for row in table.rows} - {""})
    use_cases = existing_use_cases(keys)
    rows: list[Investment] = []
    first_row_of: dict[tuple, int] = {}
    for number, row in enumerate(progress(table.rows), start=1):
        reader = RowReader(row, number, errors)
        key = reader.text("use_case", max_length=100, required=True)
        use_case = use_cases.get(key)
        if key and use_case is None:
            reader.fail("use_case", f"no use case with external id '{key}' (import the use cases first)")
        layer = reader.choice("layer", ValueChainLayer.values)
        if not row.get("layer", "").strip():
            reader.fail("layer", "is required")
        start = _required_date(reader, "period_start")
        end = _required_date(reader, "period_end")
        if start and end and end < start:
            reader.fail("period_end", f"{end.isoformat()} is before period_start {start.isoformat()}")
        planned = reader.amount("planned")
        spent = reader.amount("spent")
        if use_case is not None and layer and start:
            identity = (use_case.pk, layer, start)
            if identity in first_row_of:
                reader.fail("period_start", f"row {first_row_of[identity]} already gives {key}'s {layer} "
                                            f"investment for the period from {start.isoformat()}")
            first_row_of.setdefault(identity, number)
        if use_case is not None and layer and start and end:
            rows.append(Investment(use_case=use_case, layer=layer, period_start=start, period_end=end,
                                   planned=planned or Decimal(0), spent=spent or Decimal(0)))
    if errors:
        raise ImportFailed(errors)
    with writing({}, dry_run=dry_run):
        counts = upsert_investments(rows, actor=actor, dry_run=dry_run, reason="import")
    report.created, report.updated, report.unchanged = counts["created"], counts["updated"], counts["unchanged"]
    return report


def _required_date(reader: RowReader, column: str) -> datetime.date | None:
    if not reader.row.get(column, "").strip():
        reader.fail(column, "is required")
        return None
    return reader.date(column, not_after=datetime.date.max)
