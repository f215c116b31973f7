import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("last_mile")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def hand_to_worker(task, *args) -> None:
    """Queue `task` for a worker; when tasks run in process (no REDIS_URL) or the broker cannot
    be reached, run it here and now, so the work is done rather than lost.

    In process it is called directly, not through eager apply_async: eager mode would run a
    task's automatic retries inline, back to back, and end in celery's Retry exception.
    """
    from django.conf import settings
    from kombu.exceptions import OperationalError as BrokerUnreachable

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            task.apply_async(args=list(args), retry=False, ignore_result=True)
            return
        except (BrokerUnreachable, OSError):
            pass
    task(*args)
