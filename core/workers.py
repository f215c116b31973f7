"""Handing work to a Celery worker, or doing it here when no worker can take it."""

from __future__ import annotations

import logging

from django.conf import settings
from kombu.exceptions import OperationalError as BrokerUnreachable

logger = logging.getLogger(__name__)


def hand_to_worker(task, *args, run_here_if_unreachable: bool = True) -> None:
    """Queue `task` for a worker; when tasks run in process (no REDIS_URL) run it here and now,
    and when the broker cannot be reached run it here too, so the work is done rather than
    lost — unless `run_here_if_unreachable` is off: work something else catches up on later
    (an embedding the next scan makes) is then left, rather than slowing the caller.

    In process it is called directly, not through eager apply_async: eager mode would run a
    task's automatic retries inline, back to back, and end in celery's Retry exception.
    """
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            task.apply_async(args=list(args), retry=False, ignore_result=True)
            return
        except (BrokerUnreachable, OSError):
            if not run_here_if_unreachable:
                logger.warning("The broker cannot be reached: %s is left for later", task.name)
                return
    task(*args)


def task_named(name: str):
    """The Celery task registered as `name` (its dotted path).

    How a service reaches a task without importing it: a tasks module imports the services it
    calls, so a service importing that module back would make an import cycle. The app that
    owns the task imports its tasks module when Django starts (its AppConfig.ready), so the
    task is registered in every process: web, worker, commands.
    """
    from celery import current_app

    return current_app.tasks[name]
