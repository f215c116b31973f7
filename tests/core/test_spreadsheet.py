"""core/spreadsheet.py: cells a spreadsheet would run are written as text, and read back exactly."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.spreadsheet import escape_cell, unescape_cell


@pytest.mark.parametrize("value, written", [
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("+1", "'+1"),
    ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("'", "''"),
    ("'=1", "''=1"),
    ("'text", "''text"),
    ("", ""),
    ("plain", "plain"),
    ("a=1", "a=1"),
    (" =1", " =1"),
    ("\n=1", "\n=1"),
], ids=repr)
def test_a_cell_a_spreadsheet_would_run_or_one_starting_with_a_quote_gets_a_quote_in_front(value, written):
    assert escape_cell(value) == written
    assert unescape_cell(written) == value


def test_numbers_and_empty_values_are_written_as_they_are():
    assert escape_cell(-3) == -3
    assert escape_cell(None) is None


@pytest.mark.parametrize("typed, read", [
    ("'=1", "=1"),  # Excel's own way of typing text that looks like a formula
    ("''x", "'x"),
    ("'Twas", "'Twas"),  # a quote before anything else is the text itself
    ("'", "'"),
    ("=1", "=1"),
], ids=repr)
def test_reading_takes_off_exactly_the_quote_writing_puts_on(typed, read):
    assert unescape_cell(typed) == read


@given(st.text())
def test_every_text_reads_back_as_written(text):
    assert unescape_cell(escape_cell(text)) == text


@given(st.text())
def test_no_written_cell_starts_with_a_character_a_spreadsheet_runs(text):
    assert escape_cell(text)[:1] not in ("=", "+", "-", "@", "\t", "\r")
