"""Who acts: a login (a Django user) or the product itself.

Work nobody clicked (an import command, the nightly scan, seeding the demo) acts as a named
`SystemActor`, never as `None`: services authorize every actor, and the history says which
part of the system made a change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SystemActor:
    """The product acting on its own behalf, with the program office's rights."""

    name: str
    is_authenticated = False
    is_superuser = False
    is_system = True

    def __str__(self) -> str:
        return f"system: {self.name}"


IMPORT = SystemActor("import")
SCAN = SystemActor("scan")
SCHEDULER = SystemActor("scheduler")
DEMO = SystemActor("demo")
COMMAND = SystemActor("command line")
MIGRATION = SystemActor("migration")


def is_system(actor) -> bool:
    return isinstance(actor, SystemActor)


def acting_user(actor):
    """The login to record as having made a change: None when the system acts."""
    return actor if getattr(actor, "is_authenticated", False) else None
