"""The inventory formats by name, each with its importer and exporter: the one table the
commands and the pages pick from.

- `contract`: CONTRACT.md's columns, CSV or XLSX (`contract.py`); imports and exports.
- `omb-2025`: the US federal 2025 inventory as published (`federal/`); imports and exports.
- `omb-2024`: the US federal 2024 inventory as published (`federal/`); imports only.

An importer is called as `importer(path, *, actor, dry_run=False, today=None, progress=…)`
(the federal ones also take `as_of`, the date the inventory speaks for) and returns an
ImportReport; an exporter as `exporter(path)` and returns the row count.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from core.actors import names_its_actor
from core.errors import InvalidInput

from . import contract
from .common import ImportReport, Progress, no_progress
from .contract import CONTRACT_FORMAT
from .federal.exporter import export_federal
from .federal.importer import import_federal
from .federal.mapping import OMB_2024, OMB_2025


@dataclass(frozen=True)
class InventoryFormat:
    name: str
    importer: Callable[..., ImportReport]
    exporter: Callable[[str | Path], int] | None = None
    dated: bool = False  # an inventory that speaks as of a date (its importer takes `as_of`)


FORMATS: dict[str, InventoryFormat] = {
    f.name: f
    for f in (
        InventoryFormat(CONTRACT_FORMAT, contract.import_use_cases, contract.export_use_cases),
        InventoryFormat(OMB_2025, partial(import_federal, fmt=OMB_2025), partial(export_federal, fmt=OMB_2025), dated=True),
        InventoryFormat(OMB_2024, partial(import_federal, fmt=OMB_2024), dated=True),
    )
}
IMPORT_FORMATS = tuple(FORMATS)
EXPORT_FORMATS = tuple(name for name, f in FORMATS.items() if f.exporter is not None)
DEFAULT_FORMAT = CONTRACT_FORMAT


def importer_for(format: str) -> Callable[..., ImportReport]:
    if format not in FORMATS:
        raise InvalidInput(f"Unknown inventory format {format!r}; known: {', '.join(IMPORT_FORMATS)}", field="format")
    return FORMATS[format].importer


def exporter_for(format: str) -> Callable[[str | Path], int]:
    if format not in EXPORT_FORMATS:
        raise InvalidInput(f"Export writes the {', '.join(EXPORT_FORMATS)} formats only (asked for {format!r}).", field="format")
    return FORMATS[format].exporter


@names_its_actor
def import_use_cases(
    path: str | Path,
    *,
    actor,
    format: str = DEFAULT_FORMAT,
    dry_run: bool = False,
    today: datetime.date | None = None,
    as_of: datetime.date | None = None,
    progress: Progress = no_progress,
) -> ImportReport:
    """Import use cases from a file in `format`, all or nothing; refuses (NotAllowed) unless
    the actor may import. `as_of` overrides the date an inventory format speaks for."""
    importer = importer_for(format)
    if as_of is None:
        return importer(path, actor=actor, dry_run=dry_run, today=today, progress=progress)
    if not FORMATS[format].dated:
        dated = ", ".join(name for name, f in FORMATS.items() if f.dated)
        raise InvalidInput(f"as_of: the {format} format dates each row itself (stage_since); an inventory date "
                           f"applies to the {dated} formats", field="as_of")
    return importer(path, actor=actor, dry_run=dry_run, today=today, as_of=as_of, progress=progress)


def export_use_cases(path: str | Path, *, format: str = DEFAULT_FORMAT) -> int:
    """Write every use case in `format`; returns the row count."""
    return exporter_for(format)(path)
