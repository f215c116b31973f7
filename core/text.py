"""Small text helpers every app shares: how a name and an email are written down."""

from __future__ import annotations


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace (line breaks included) as one space, none at either end."""
    return " ".join(text.split())


def normalise_email(email: str) -> str:
    """An email as the directory keys it: trimmed and lower-cased."""
    return email.strip().lower()
