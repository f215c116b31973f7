"""Detectors run side by side on PostgreSQL find what they find one after another."""

import datetime

import pytest
from django.core.management import call_command
from django.db import connection

from portfolio.models import Policy
from portfolio.services.scans import ALL_KINDS, detect_all

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="threads share a PostgreSQL snapshot")]

AS_OF = datetime.date(2026, 11, 2)


def findings(settings, threads: int) -> list[tuple]:
    settings.SCAN_THREADS = threads
    return [(found.kind, found.fingerprint, found.content_digest)
            for found in detect_all(ALL_KINDS, as_of=AS_OF, policy=Policy.current())]


def test_detectors_in_threads_find_the_same_as_in_turn(settings):
    call_command("seed_demo", "--use-cases", "300", "--seed", "7", "--today", AS_OF.isoformat(), verbosity=0)

    in_turn = findings(settings, 1)

    assert {kind for kind, *_ in in_turn} >= {"stalled_pilot", "orphaned_ownership", "duplicate_capability"}
    assert findings(settings, 3) == in_turn
