from django.apps import AppConfig


class WebConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "web"
    verbose_name = "Pages"

    def ready(self):
        # Register the page imports' Celery tasks in every process: web/imports.py hands work
        # to them by name (core.workers.task_named), never importing them.
        from . import tasks  # noqa: F401
