"""What every detector returns, and how its identity and substance are digested."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


def digest(*parts) -> str:
    """A stable SHA-256 of JSON-serialisable parts (order matters; sort sets first)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Detected:
    """One problem a detector found on the judged date.

    `identity` names *what* is wrong and stays the same while it stays wrong (e.g. the use
    case and the stage it is stuck in); `substance` names the facts that, when they change,
    make a dismissed finding worth raising again (e.g. the members of a duplicate group, an
    owner). Both are tuples of plain values; the reconcile step digests them.
    """

    kind: str
    identity: tuple
    severity: str
    title: str
    use_case_ids: list[int] = field(default_factory=list)
    decision_ids: list[int] = field(default_factory=list)
    detail: dict = field(default_factory=dict)
    substance: tuple = ()

    @property
    def fingerprint(self) -> str:
        return digest(self.kind, *self.identity)

    @property
    def substance_digest(self) -> str:
        return digest(*self.substance)
