"""The project's Celery app for test workers whose scan parts take longer, as on a big
portfolio: SLOW_SCAN_PARTS ("kind=seconds,…") makes the detector of each kind it names wait
that long before detecting, inside its part (after the part has started and renewed the run's
lock), so a test can act while a part is known to be running.

    celery -A tests.e2e.slow_parts_worker worker …
"""

from __future__ import annotations

import os
import time

from celery.signals import task_prerun

from config.celery import app  # noqa: F401 - the app the worker runs

DELAYS = {kind: float(seconds) for kind, _, seconds in (
    entry.partition("=") for entry in os.environ.get("SLOW_SCAN_PARTS", "").split(",") if entry
)}


@task_prerun.connect
def _slow_the_detectors_down(**_) -> None:
    # Django is set up by the time a task runs, not when the worker imports this module.
    from portfolio.services import scans

    if getattr(scans.detector, "slowed", False):
        return
    real = scans.detector

    def slowed(kind: str):
        detect = real(kind)

        def slow_detect(**arguments):
            time.sleep(DELAYS.get(kind, 0))
            return detect(**arguments)

        return slow_detect

    slowed.slowed = True
    scans.detector = slowed
