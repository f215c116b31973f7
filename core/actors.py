"""Who acts: a login (a Django user) or the product itself.

Work nobody clicked (an import command, the nightly scan, seeding the demo) acts as a named
`SystemActor`, never as `None`: services authorize every actor, and the history says which
part of the system made a change.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from pathlib import PurePath


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
DEMO = SystemActor("demo seed")
COMMAND = SystemActor("command line")
MIGRATION = SystemActor("migration")


def is_system(actor) -> bool:
    return isinstance(actor, SystemActor)


def acting_user(actor):
    """The login to record as having made a change: None when the system acts."""
    return actor if getattr(actor, "is_authenticated", False) else None


NIGHTLY_SCAN = SystemActor("nightly scan")


def import_of(path) -> SystemActor:
    """The system actor of an import nobody clicked: named by its file, as the audit log shows it."""
    return SystemActor(f"import of {PurePath(str(path)).name}")


def actor_name(actor) -> str:
    """How the audit log names `actor`: a login's username, or a system actor's name."""
    if is_system(actor):
        return actor.name
    return actor.get_username()


# The system actor whose writes are under way, for the database: the audit log's triggers read
# it (PostgreSQL: the session setting below; SQLite: the function `lastmile_actor()`) to name
# the writer of a history row that records no login.
_current_system_actor: ContextVar[str] = ContextVar("lastmile_system_actor", default="")
ACTOR_SETTING = "lastmile.actor"


def current_system_actor_name() -> str:
    return _current_system_actor.get()


@contextmanager
def acting(actor, *, using: str = "default"):
    """Name `actor` to the database for the writes inside, when it is a system actor (a login
    is recorded by the history rows themselves). Nested uses restore the outer name."""
    if not is_system(actor):
        yield
        return
    from django.db import DatabaseError, connections  # imported here: the actors need no settings

    connection = connections[using]
    token = _current_system_actor.set(actor.name)
    outer = token.old_value if token.old_value is not token.MISSING else ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, false)", [ACTOR_SETTING, actor.name])
    try:
        yield
    finally:
        _current_system_actor.reset(token)
        # In a transaction that failed, rolling it back restores the setting of before it.
        if connection.vendor == "postgresql" and connection.connection is not None and not connection.needs_rollback:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config(%s, %s, false)", [ACTOR_SETTING, outer])
            except DatabaseError:
                pass


def names_its_actor(function):
    """Run a service taking the keyword `actor` inside `acting(actor)`: whatever it writes in
    SQL or COPY is logged as that actor's."""

    @wraps(function)
    def wrapper(*args, **kwargs):
        with acting(kwargs["actor"]):
            return function(*args, **kwargs)

    return wrapper
