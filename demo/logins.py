"""The demo logins: office, owner and auditor, one per role, sharing one password."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "lastmile-demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    email: str
    name: str
