from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "portfolio"
    verbose_name = "Portfolio"

    def ready(self):
        # Register the Celery tasks in every process (web, commands, workers): the scan
        # service hands work to them by name (core.workers.task_named), never importing them.
        from . import tasks  # noqa: F401
        from .services.scans import check_part_queues

        check_part_queues()
        from registry.audit import register_sources

        from .audit import PORTFOLIO_SOURCES

        register_sources(PORTFOLIO_SOURCES)
        from registry.signals import texts_changed

        from .embeddings import embed_after_commit

        texts_changed.connect(embed_after_commit, dispatch_uid="portfolio.embed_after_commit")
