"""What the management commands share: argument types and the progress bar."""

import argparse
import datetime
import sys

from tqdm import tqdm


def iso_date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date in the form YYYY-MM-DD") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def progress_bar(command, iterable=None, **options) -> tqdm:
    """A progress bar on the command's own stderr stream, unwrapped so its carriage returns work."""
    return tqdm(iterable, file=getattr(command.stderr, "_out", sys.stderr), mininterval=0.5, **options)
