"""Handing work to a Celery worker, or doing it here when no worker can take it."""

from __future__ import annotations

import logging
import os
import threading

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
            send_failing_fast(task, *args, ignore_result=True)
            return
        except (BrokerUnreachable, OSError):
            if not run_here_if_unreachable:
                logger.warning("The broker cannot be reached: %s is left for later", task.name)
                return
    task(*args)


def send_failing_fast(task, *args, **options):
    """`task.apply_async(args, **options)` through a broker connection that gives up at the first
    refusal: with the broker down, kombu's pooled connection tries again for about 6 s a send,
    which a web request or a command that copes at once (does the work itself, leaves it for
    later, or says so) would wait through for nothing. The connection is kept for the thread's
    next sends to that broker (a new one costs 3 ms); when a kept one fails (the broker
    restarted since), the send is tried once more on a new one."""
    broker = task.app.conf.broker_write_url or task.app.conf.broker_url
    while True:
        connection, kept = _failing_fast_connection(task.app, broker)
        try:
            return task.apply_async(args=list(args), retry=False, connection=connection, **options)
        except (BrokerUnreachable, OSError):
            del _kept.connections[broker]
            connection.release()
            if not kept:
                raise


_kept = threading.local()


def _failing_fast_connection(app, broker: str):
    """The thread's connection to `broker`, and whether it was kept from an earlier send."""
    # Per process too: a connection made before a fork (a pool's parent) is not the child's.
    if getattr(_kept, "pid", None) != os.getpid():
        _kept.connections, _kept.pid = {}, os.getpid()
    if broker in _kept.connections:
        return _kept.connections[broker], True
    connection = _kept.connections[broker] = app.connection_for_write(transport_options={"max_retries": 0})
    return connection, False


def task_named(name: str):
    """The Celery task registered as `name` (its dotted path).

    How a service reaches a task without importing it: a tasks module imports the services it
    calls, so a service importing that module back would make an import cycle. The app that
    owns the task imports its tasks module when Django starts (its AppConfig.ready), so the
    task is registered in every process: web, worker, commands.
    """
    from celery import current_app

    return current_app.tasks[name]
