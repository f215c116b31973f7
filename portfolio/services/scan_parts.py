"""The parts of a scan run spread over workers: what each detector found, stored until the run's
reconcile reads it.

Stored compactly, one JSON list per detected finding in its part's row, so that the reconcile
of a whole scan at 100,000 use cases (about 54,000 detected findings) reads a few rows, and
read back as the Detected the detector returned: same fingerprints, same digests.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ..detectors.base import Detected
from ..models import ScanPart, ScanRun


def _as_row(found: Detected) -> list:
    price = None if found.price is None else f"{found.price}"
    return [list(found.identity), found.severity, found.title, found.use_case_ids, found.decision_ids, found.detail,
            list(found.substance), price, found.price_by_layer_as_json,
            None if found.facts is None else list(found.facts)]


def _from_row(kind: str, row: list) -> Detected:
    identity, severity, title, use_case_ids, decision_ids, detail, substance, price, by_layer, facts = row
    # Nested tuples come back as lists: the digests (JSON of both) are the same.
    return Detected(
        kind=kind, identity=tuple(identity), severity=severity, title=title, use_case_ids=use_case_ids,
        decision_ids=decision_ids, detail=detail, substance=tuple(substance),
        price=None if price is None else Decimal(price),
        price_by_layer=None if by_layer is None else {layer: Decimal(amount) for layer, amount in by_layer.items()},
        facts=None if facts is None else tuple(facts),
    )


def renew_lock(scan_run_id: int, attempt: int) -> bool:
    """Renew the lock of a spread scan whose attempt `attempt` is running: its workers are at it.
    False, renewing nothing, when that attempt is over (failed, or the run handed over)."""
    return bool(ScanRun.objects.filter(pk=scan_run_id, status=ScanRun.Status.RUNNING, attempt=attempt).update(
        lock_renewed_at=timezone.now()
    ))


def store_part(*, scan_run: ScanRun, attempt: int, kind: str, detected: list[Detected]) -> bool:
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
                                          defaults={"detected": [_as_row(found) for found in detected]})
    return True


def stored_kinds(scan_run: ScanRun) -> set[str]:
    return set(ScanPart.objects.filter(scan_run=scan_run).values_list("kind", flat=True))


def load_parts(scan_run: ScanRun) -> list[tuple[str, list[Detected]]]:
    """Every part stored for `scan_run`, (kind, what its detector found), in the order of its kinds."""
    rows = dict(ScanPart.objects.filter(scan_run=scan_run).values_list("kind", "detected"))
    return [(kind, [_from_row(kind, row) for row in rows[kind]]) for kind in scan_run.kinds if kind in rows]


def clear_parts(scan_run: ScanRun) -> None:
    ScanPart.objects.filter(scan_run=scan_run).delete()
