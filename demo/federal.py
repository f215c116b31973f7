"""The published 2025 US federal AI use case inventory as the demo portfolio (`seed_demo --federal`)."""

from __future__ import annotations

import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from core.actors import import_of
from registry.access import AUDITOR, BUSINESS_OWNER, PROGRAM_OFFICE
from registry.models import Person

from .logins import create_logins
from .reset import make_room_for_demo


def default_inventory_path() -> Path:
    """Where the published 2025 inventory lives beside the repository (``../shared/data``)."""
    return Path(settings.BASE_DIR).parent / "shared" / "data" / "federal_ai_use_cases.csv"


def _looks_personal(email: str) -> bool:
    """first.last@ and not an AI office's mailbox: good enough to pick the demo owner login."""
    local = email.split("@")[0]
    return "." in local and not any(word in local.split(".") for word in ("ai", "caio", "cdaio", "ocio"))


def seed_federal_demo(*, path: str | Path | None = None, reset: bool = False, today: datetime.date | None = None):
    """The 2025 federal inventory as the demo portfolio, with the demo logins; all or nothing.

    `office` and `auditor` are demo logins of no agency; `owner` is the person who is the
    contact of the most use cases (not a shared mailbox), so their home page has work on it:
    every one of their use cases asks for its decision. Returns (ImportReport, logins).
    """
    # the importer, loaded only when used
    from registry.inventory.federal.importer import import_federal
    from registry.inventory.federal.mapping import OMB_2025

    path = Path(path) if path else default_inventory_path()
    with transaction.atomic():
        make_room_for_demo(reset=reset)
        report = import_federal(path, fmt=OMB_2025, actor=import_of(path), today=today)
        owners = (
            Person.objects.filter(business_owned_use_cases__isnull=False)
            .annotate(n=Count("business_owned_use_cases")).order_by("-n", "email")
        )
        owner = next((p for p in owners if _looks_personal(p.email)), None)
        logins = create_logins({
            PROGRAM_OFFICE: ("office@lastmile.example", "Program Office"),
            BUSINESS_OWNER: (owner.email, owner.name) if owner else ("owner@lastmile.example", ""),
            AUDITOR: ("auditor@lastmile.example", "Auditor"),
        })
    return report, logins
