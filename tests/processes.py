"""The machine's processes as Linux's /proc shows them, for tests that start, kill and count them."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def _state_and_parent(stat: Path) -> tuple[str, int] | None:
    """A process's state letter ("Z": a zombie) and parent pid; None when it is gone."""
    try:
        # pid (comm) state ppid …; comm may hold spaces and parentheses.
        state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
        return state, int(parent)
    except (OSError, IndexError, ValueError):
        return None


def children_of(parent: int) -> list[int]:
    """The running (not zombie) processes whose parent is `parent`."""
    return [int(stat.parent.name) for stat in PROC.glob("[0-9]*/stat")
            if (found := _state_and_parent(stat)) and found[0] != "Z" and found[1] == parent]


def running(pids: list[int]) -> list[int]:
    """Those of `pids` still running: neither gone nor zombies."""
    return [pid for pid in pids if (found := _state_and_parent(PROC / str(pid) / "stat")) and found[0] != "Z"]
