"""Reading and writing the CSV and XLSX files that importers and exporters exchange.

Reading is bounded (`Limits`): a file past a limit is refused with a message saying which,
before it can cost more time or memory than the limit allows. A workbook's expanded size is
judged from its zip directory before anything is decompressed (Python's zipfile never yields
more than a member's declared size).
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .spreadsheet import EscapingWriter, escape_cell, unescape_cell

# The csv module's default limit (128 KiB) would turn one oversized cell into a parse
# error for the whole file; we read it and let the column's length check name the cell.
csv.field_size_limit(16 * 1024 * 1024)

NUL = "\x00"
# A member of a workbook smaller than this is not judged by its compression ratio: however
# well it compresses, it cannot cost much to expand.
RATIO_CHECKED_FROM_BYTES = 1024 * 1024


class UnreadableFile(Exception):
    """The file cannot be read as a table at all: nothing of it is imported."""


class TooLarge(UnreadableFile):
    """The file is past one of the reading limits: nothing of it is imported."""


@dataclass(frozen=True)
class Limits:
    """How much of a file is read at most. The defaults are the settings' defaults."""

    max_rows: int = 200_000
    max_cells: int = 5_000_000
    max_expanded_bytes: int = 256 * 1024 * 1024
    max_compression_ratio: int = 100

    @classmethod
    def from_settings(cls) -> Limits:
        from django.conf import settings

        return cls(
            max_rows=getattr(settings, "IMPORT_MAX_ROWS", cls.max_rows),
            max_cells=getattr(settings, "IMPORT_MAX_CELLS", cls.max_cells),
            max_expanded_bytes=getattr(settings, "IMPORT_MAX_XLSX_EXPANDED_BYTES", cls.max_expanded_bytes),
            max_compression_ratio=getattr(settings, "IMPORT_MAX_XLSX_COMPRESSION_RATIO", cls.max_compression_ratio),
        )


def bounded(raw_rows: Iterable[list], limits: Limits) -> Iterator[list]:
    """The rows of a file, header first, refusing (TooLarge) as soon as there are more rows
    under the header, or more cells in all, than `limits` allow. Blank rows count: reading
    them costs too."""
    cells = 0
    for number, raw in enumerate(raw_rows):
        if number > limits.max_rows:
            raise TooLarge(f"the file has more than {limits.max_rows:,} rows under its header; "
                           f"split it into files of at most {limits.max_rows:,} rows")
        cells += len(raw)
        if cells > limits.max_cells:
            raise TooLarge(f"the file has more than {limits.max_cells:,} cells (rows × columns); "
                           f"split it into smaller files, or remove the columns it does not need")
        yield raw


@dataclass
class Table:
    columns: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _normalise_header(header: list) -> list[str]:
    return [_cell_text(name).strip().lower() for name in header]


def _table_from_rows(raw_rows: Iterator[list]) -> Table:
    header = next(raw_rows, None)
    if header is None or not any(_cell_text(cell) for cell in header):
        raise UnreadableFile("the file is empty: expected a header row and at least one data row")
    columns = _normalise_header(header)
    if any(NUL in name for name in columns):
        raise UnreadableFile("the header row contains a NUL character (byte 0); remove it and save the file again "
                             "as CSV (UTF-8) or XLSX")
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        raise UnreadableFile(f"the header names these columns more than once: {', '.join(duplicated)}")
    table = Table(columns=columns)
    for raw in raw_rows:
        # A cell written with the quote that keeps a spreadsheet from running it (see
        # core.spreadsheet) is read as the text after that quote.
        cells = [unescape_cell(_cell_text(cell)) for cell in raw]
        if not any(cells):
            continue
        if len(cells) > len(columns):
            extra = cells[len(columns):]
            if any(extra):
                raise UnreadableFile(
                    f"data row {len(table.rows) + 1} has {len(cells)} cells but the header has {len(columns)} columns"
                )
        cells += [""] * (len(columns) - len(cells))
        table.rows.append({name: cells[i] for i, name in enumerate(columns) if name})
    return table


def _read_csv(path: Path, limits: Limits) -> Table:
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile("the file is empty: expected a header row and at least one data row")
    # A NUL early on is a binary file (a workbook, UTF-16, a PDF) saved under .csv; a NUL later in
    # a text file is the problem of one cell, which the importer reports as such.
    if b"\x00" in data[:8192]:
        raise UnreadableFile("this is not a CSV file (it contains binary data); save it as CSV (UTF-8) or XLSX")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"the file is not UTF-8 text (undecodable byte at position {exc.start}); save it as CSV (UTF-8) or XLSX"
        ) from None
    try:
        return _table_from_rows(bounded(csv.reader(io.StringIO(text, newline=""), strict=True), limits))
    except csv.Error as exc:
        raise UnreadableFile(f"the CSV cannot be parsed: {exc}") from None


def _check_expansion(path: Path, limits: Limits) -> None:
    """Refuse a workbook that would expand past the limits, judging from its zip directory
    alone: no member is decompressed here."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(f"this is not a readable XLSX workbook ({exc.__class__.__name__})") from None
    for member in members:
        if member.file_size >= RATIO_CHECKED_FROM_BYTES:
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise TooLarge(
                    f"the workbook would expand {ratio:,.0f} times ({member.filename}: {member.compress_size:,} bytes "
                    f"to {member.file_size:,}), refused as a likely zip bomb; at most {limits.max_compression_ratio:,} "
                    f"times is read"
                )
    expanded = sum(member.file_size for member in members)
    if expanded > limits.max_expanded_bytes:
        raise TooLarge(f"the workbook expands to {expanded:,} bytes; at most {limits.max_expanded_bytes:,} bytes are "
                       f"read (split it, or save it as CSV)")


# What openpyxl raises on a damaged workbook, opening it or reading its rows.
_DAMAGED_WORKBOOK = (zipfile.BadZipFile, zlib.error, KeyError, OSError, EOFError, ValueError, TypeError, SyntaxError)


def _sheet_rows(sheet) -> Iterator[list]:
    """The rows of a sheet as lists; a sheet that breaks while read is UnreadableFile."""
    rows = sheet.iter_rows(values_only=True)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except _DAMAGED_WORKBOOK as exc:
            raise UnreadableFile(f"this is not a readable XLSX workbook ({exc.__class__.__name__})") from None
        yield list(row)


def _read_xlsx(path: Path, limits: Limits) -> Table:
    from openpyxl import load_workbook

    _check_expansion(path, limits)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except _DAMAGED_WORKBOOK as exc:
        raise UnreadableFile(f"this is not a readable XLSX workbook ({exc.__class__.__name__})") from None
    try:
        if not workbook.worksheets:
            raise UnreadableFile("the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        # The dimension a sheet declares is not trusted: it would pad every row (and add empty
        # ones) up to it. Rows are read as the sheet holds them.
        sheet.reset_dimensions()
        return _table_from_rows(bounded(_sheet_rows(sheet), limits))
    finally:
        workbook.close()


def read_table(path: str | Path, limits: Limits | None = None) -> Table:
    """The table of a CSV or XLSX file (by its extension), read within `limits` (default: the
    settings'); UnreadableFile, or its TooLarge, names what is wrong with the file."""
    path = Path(path)
    limits = limits or Limits.from_settings()
    if not path.is_file():
        raise UnreadableFile(f"no such file: {path}")
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path, limits)
    return _read_csv(path, limits)


def write_table(path: str | Path, columns: list[str], rows: Iterator[list[str]]) -> int:
    """Write rows as CSV, or XLSX when the name ends in .xlsx; returns the number of rows.

    Every cell a spreadsheet would run as a formula is written as text with a leading quote
    (core.spreadsheet), which `read_table` takes off again; XLSX cells are text cells.
    """
    path = Path(path)
    count = 0
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("use cases")

        def text_cells(values):
            cells = []
            for value in values:
                cell = WriteOnlyCell(sheet, value=escape_cell(value))
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
                cells.append(cell)
            return cells

        sheet.append(text_cells(columns))
        for row in rows:
            sheet.append(text_cells(row))
            count += 1
        workbook.save(path)
        return count
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = EscapingWriter(csv.writer(handle))
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
