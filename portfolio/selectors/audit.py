"""The audit log's anchors the scans kept (registry/audit.py)."""

from __future__ import annotations

from ..models import ScanRun


def anchored_scan_runs(*, limit: int) -> list[ScanRun]:
    """The latest scan runs that recorded the log's chain head, newest first."""
    return list(ScanRun.objects.filter(audit_head_seq__isnull=False).order_by("-finished_at", "-id")
                .only("pk", "as_of", "finished_at", "audit_head_seq", "audit_head_hash")[:limit])
