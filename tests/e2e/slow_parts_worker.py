"""The project's Celery app for test workers whose scans take longer where a test needs them to,
as on a big portfolio, so that it can act while the worker is known to be at that point:

- SLOW_SCAN_PARTS ("kind=seconds,…") makes the detector of each kind it names wait that long
  before detecting (in a spread scan's part: after the part has started and renewed the run's
  lock);
- PAUSE_IN_RECONCILE (seconds) makes the first reconcile a worker process runs wait that long
  once it has opened its first findings, inside its transaction;
- PAUSE_AFTER_RECONCILE (seconds) makes a scan wait that long once its reconcile has committed,
  before what follows (anchoring the run in the audit log, queuing its digests);
- the task `occupy` keeps a worker busy for the seconds it is given.

    celery -A tests.e2e.slow_parts_worker worker …
"""

from __future__ import annotations

import os
import time

from celery.signals import task_prerun

from config.celery import app

OCCUPY_TASK = "tests.e2e.slow_parts_worker.occupy"
DELAYS = {kind: float(seconds) for kind, _, seconds in (
    entry.partition("=") for entry in os.environ.get("SLOW_SCAN_PARTS", "").split(",") if entry
)}
PAUSE_IN_RECONCILE = float(os.environ.get("PAUSE_IN_RECONCILE", "0"))
PAUSE_AFTER_RECONCILE = float(os.environ.get("PAUSE_AFTER_RECONCILE", "0"))


@app.task(name=OCCUPY_TASK)
def occupy(seconds: float) -> None:
    time.sleep(seconds)


@task_prerun.connect
def _slow_the_scans_down(**_) -> None:
    # Django is set up by the time a task runs, not when the worker imports this module.
    from portfolio.services import scans

    if getattr(scans.detector, "slowed", False):
        return
    real_detector, real_reconcile, real_after_success = scans.detector, scans.reconcile, scans._after_success

    def slowed(kind: str):
        detect = real_detector(kind)

        def slow_detect(**arguments):
            time.sleep(DELAYS.get(kind, 0))
            return detect(**arguments)

        return slow_detect

    paused = []

    def reconcile_then_pause(**arguments):
        result = real_reconcile(**arguments)
        if result.opened and not paused:
            paused.append(True)
            time.sleep(PAUSE_IN_RECONCILE)
        return result

    def pause_then_after_success(scan_run):
        time.sleep(PAUSE_AFTER_RECONCILE)
        return real_after_success(scan_run)

    slowed.slowed = True
    scans.detector, scans.reconcile, scans._after_success = slowed, reconcile_then_pause, pause_then_after_success
