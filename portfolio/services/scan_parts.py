"""The parts of a scan run spread over workers: what each detector found, stored until the run's
reconcile reads it.

Stored compactly, one JSON list per detected finding in its part's row, so that the reconcile
of a whole scan at 100,000 use cases (about 54,000 detected findings) reads a few rows, and
read back as the Digested findings the detector returned: same digests, same JSON.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..detectors.base import Digested
from ..models import ScanPart, ScanRun


def renew_lock(scan_run_id: int, attempt: int) -> bool:
    """Renew the lock of a spread scan whose attempt `attempt` is running: its workers are at it.
    False, renewing nothing, when that attempt is over (failed, or the run handed over)."""
    return bool(ScanRun.objects.filter(pk=scan_run_id, status=ScanRun.Status.RUNNING, attempt=attempt).update(
        lock_renewed_at=timezone.now()
    ))


def store_part(*, scan_run: ScanRun, attempt: int, kind: str, detected: list[Digested]) -> bool:
    """Keep what the detector of `kind` found for attempt `attempt` at `scan_run`, replacing what
    an earlier delivery of the same part stored, and renew the run's lock; False, storing
    nothing, when that attempt is over (a part failed meanwhile, which dropped the others, or
    the run was handed over as dead).

    The update that renews the lock also locks the run's row until the part is stored, so two
    deliveries of one part store one after the other, and a claim of the next attempt waits."""
    with transaction.atomic():
        if not renew_lock(scan_run.pk, attempt):
            return False
        ScanPart.objects.update_or_create(scan_run=scan_run, kind=kind,
                                          defaults={"detected": [list(found) for found in detected]})
    return True


def stored_kinds(scan_run: ScanRun) -> set[str]:
    return set(ScanPart.objects.filter(scan_run=scan_run).values_list("kind", flat=True))


def load_parts(scan_run: ScanRun) -> list[tuple[str, list[Digested]]]:
    """Every part stored for `scan_run`, (kind, what its detector found), in the order of its kinds."""
    rows = dict(ScanPart.objects.filter(scan_run=scan_run).values_list("kind", "detected"))
    return [(kind, [Digested.from_row(row) for row in rows[kind]]) for kind in scan_run.kinds if kind in rows]


def clear_parts(scan_run: ScanRun) -> None:
    ScanPart.objects.filter(scan_run=scan_run).delete()
