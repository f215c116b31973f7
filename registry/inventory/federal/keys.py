"""The stable key of a federal inventory row.

**The stable key** (``external_id``), from the row alone:

- 2025: the agency code and the agency's ``id`` (whitespace collapsed): the id itself when
  it already starts with the agency code (``DOJ-0160``), else ``AGENCY-id`` (``EPA-34``,
  ``NSF-34``). A blank id, or a placeholder (``TBD``, ``N/A``), gives ``AGENCY-h`` followed by
  the first 10 hex digits of the SHA-1 of the bureau and the use case name, lower-cased with
  whitespace collapsed (``HHS-h3f9c0a81b2``).
- 2024 (no ids): ``AGENCY-2024-h`` and the same digest.
- When several rows of one file still share a key (``DOJ-0357`` given twice, ``TBD`` twice,
  two identical rows), the first in file order keeps it and the n-th gets ``~n``
  (``DOJ-0357~2``).

So re-importing the file, or next year's file with the same ids, updates and never
duplicates; a renamed use case without an id becomes a new one. The 2024 rows have no ids,
so the two years import as separate inventories, and `reports` links a 2025 row to its 2024
row by agency and normalised name.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from core.text import collapse_whitespace

from .mapping import OMB_2024

# Ids that are no id: the row is keyed by its digest.
PLACEHOLDER_IDS = {"", "tbd", "n/a", "na", "none", "-"}


def _digest(*parts: str) -> str:
    return hashlib.sha1("\n".join(collapse_whitespace(p).lower() for p in parts).encode()).hexdigest()[:10]


def base_key(fmt: str, agency: str, source_id: str, bureau: str, name: str) -> str:
    agency = collapse_whitespace(agency).upper() or "UNKNOWN"
    if fmt == OMB_2024:
        return f"{agency}-2024-h{_digest(bureau, name)}"
    source_id = collapse_whitespace(source_id)
    if source_id.lower() in PLACEHOLDER_IDS:
        return f"{agency}-h{_digest(bureau, name)}"
    if source_id.upper().startswith(agency):
        return source_id
    return f"{agency}-{source_id}"


def stable_keys(bases: list[str]) -> list[str]:
    """The n-th row sharing a key in the file gets ``~n``; the first keeps it."""
    seen: Counter = Counter()
    keys = []
    for base in bases:
        seen[base] += 1
        keys.append(base if seen[base] == 1 else f"{base}~{seen[base]}")
    return keys
