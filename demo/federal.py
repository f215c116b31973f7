"""The published 2025 US federal AI use case inventory as the demo portfolio (`seed_demo --federal`)."""

from __future__ import annotations

import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Count

from registry.access import AUDITOR, BUSINESS_OWNER, PROGRAM_OFFICE
from registry.models import Person

from .logins import DEMO_PASSWORD, DemoLogin
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
    from registry.federal import OMB_2025, import_federal  # the importer, loaded only when used

    path = Path(path) if path else default_inventory_path()
    with transaction.atomic():
        make_room_for_demo(reset=reset)
        report = import_federal(path, fmt=OMB_2025, today=today)
        owners = (
            Person.objects.filter(business_owned_use_cases__isnull=False)
            .annotate(n=Count("business_owned_use_cases")).order_by("-n", "email")
        )
        owner = next((p for p in owners if _looks_personal(p.email)), None)
        User = get_user_model()
        password = make_password(DEMO_PASSWORD)
        logins = []
        for username, role, email, name in (
            ("office", PROGRAM_OFFICE, "office@lastmile.example", "Program Office"),
            ("owner", BUSINESS_OWNER, owner.email if owner else "owner@lastmile.example", owner.name if owner else ""),
            ("auditor", AUDITOR, "auditor@lastmile.example", "Auditor"),
        ):
            user, _ = User.objects.get_or_create(username=username)
            user.email, user.password = email, password
            user.first_name, _, user.last_name = name.partition(" ")
            user.is_staff, user.is_active, user.is_superuser = True, True, False
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            logins.append(DemoLogin(username, role, email, name))
    return report, logins
