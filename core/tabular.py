"""Reading and writing the CSV and XLSX files that importers and exporters exchange."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .spreadsheet import EscapingWriter, escape_cell, unescape_cell

# The csv module's default limit (128 KiB) would turn one oversized cell into a parse
# error for the whole file; we read it and let the column's length check name the cell.
csv.field_size_limit(16 * 1024 * 1024)


class UnreadableFile(Exception):
    """The file cannot be read as a table at all: nothing of it is imported."""


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


def _read_csv(path: Path) -> Table:
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile("the file is empty: expected a header row and at least one data row")
    if b"\x00" in data[:8192]:
        raise UnreadableFile("this is not a CSV file (it contains binary data); save it as CSV (UTF-8) or XLSX")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"the file is not UTF-8 text (undecodable byte at position {exc.start}); save it as CSV (UTF-8) or XLSX"
        ) from None
    try:
        return _table_from_rows(iter(csv.reader(io.StringIO(text, newline=""), strict=True)))
    except csv.Error as exc:
        raise UnreadableFile(f"the CSV cannot be parsed: {exc}") from None


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(f"this is not a readable XLSX workbook ({exc.__class__.__name__})") from None
    try:
        sheet = workbook.worksheets[0]
        return _table_from_rows(iter(list(row) for row in sheet.iter_rows(values_only=True)))
    finally:
        workbook.close()


def read_table(path: str | Path) -> Table:
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(f"no such file: {path}")
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path)
    return _read_csv(path)


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
