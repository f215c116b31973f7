"""core/text.py: how names and emails are written down, at their boundaries. No database."""

import pytest

from core.text import collapse_whitespace, normalise_email


@pytest.mark.parametrize("text, expected", [
    ("", ""),
    ("   ", ""),
    ("\n\t\r ", ""),
    ("Ada", "Ada"),
    ("  Ada  ", "Ada"),
    ("Ada   Lovelace", "Ada Lovelace"),
    ("Ada\nLovelace", "Ada Lovelace"),
    ("Ada\r\n\tLovelace\n", "Ada Lovelace"),
    ("Ada\u00a0Lovelace", "Ada Lovelace"),  # a no-break space is whitespace too
    ("Ada\u2003 Lovelace", "Ada Lovelace"),  # as is an em space
    ("Ada-Lovelace", "Ada-Lovelace"),
], ids=repr)
def test_collapse_whitespace(text, expected):
    assert collapse_whitespace(text) == expected


def test_collapsing_twice_changes_nothing_more():
    once = collapse_whitespace("  Which claims \n are   fast-tracked\ttoday? ")
    assert once == "Which claims are fast-tracked today?"
    assert collapse_whitespace(once) == once


@pytest.mark.parametrize("email, expected", [
    ("", ""),
    ("   ", ""),
    ("ada@example.com", "ada@example.com"),
    ("Ada@Example.COM", "ada@example.com"),
    ("  ada@example.com\n", "ada@example.com"),
    ("\tADA.LOVELACE+AI@EXAMPLE.COM ", "ada.lovelace+ai@example.com"),
    ("Élise@Example.com", "élise@example.com"),
    ("ada lovelace@example.com", "ada lovelace@example.com"),  # trims only the ends; validation is elsewhere
], ids=repr)
def test_normalise_email(email, expected):
    assert normalise_email(email) == expected


def test_normalising_twice_changes_nothing_more():
    once = normalise_email(" Ada@Example.com ")
    assert normalise_email(once) == once
