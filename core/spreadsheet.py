"""Cells a spreadsheet would run as a formula, written as text and read back exactly.

OWASP's CSV injection guidance: a spreadsheet treats a cell starting with `=`, `+`, `-`,
`@`, TAB or CR as a formula (`=HYPERLINK(…)`, `=cmd|' /C calc'!A0`), so a file written
from what users typed must not start a cell with one; putting a single quote in front
makes the cell text (and the quote is how spreadsheet users type such text themselves).

To read back exactly what was written, the quote must be told apart from one that belongs
to the text: `escape_cell` also puts a quote in front of a cell that already starts with
one, and `unescape_cell` takes one quote off a cell that starts with a quote followed by
one of those characters or by another quote. So `unescape_cell(escape_cell(s)) == s` for
every text, and a quote before anything else ("'Twas") is the text's own.
"""

from __future__ import annotations

QUOTE = "'"
# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = (*FORMULA_STARTS, QUOTE)


def escape_cell(value):
    """The cell to write for `value`: text a spreadsheet would run, or that starts with a
    quote, gets a quote in front; anything else (numbers included) is written as it is."""
    if isinstance(value, str) and value.startswith(_ESCAPED):
        return QUOTE + value
    return value


def unescape_cell(text: str) -> str:
    """The value of a cell as `escape_cell` wrote it (or as a spreadsheet user typed it with
    the quote that makes it text): one quote off before a formula character or a quote."""
    if len(text) > 1 and text[0] == QUOTE and text[1] in _ESCAPED:
        return text[1:]
    return text


class EscapingWriter:
    """A csv writer whose rows are written through `escape_cell`."""

    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row):
        return self._writer.writerow([escape_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)
