from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _name_the_acting_system_to_sqlite(sender, connection, **kwargs):
    """SQLite's audit triggers ask `lastmile_actor()` who acts (PostgreSQL's read a setting)."""
    if connection.vendor == "sqlite":
        from core.actors import current_system_actor_name

        connection.connection.create_function("lastmile_actor", 0, current_system_actor_name)


class RegistryConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'registry'

    def ready(self):
        from .audit import REGISTRY_SOURCES, register_sources

        register_sources(REGISTRY_SOURCES)
        connection_created.connect(_name_the_acting_system_to_sqlite, dispatch_uid="registry.lastmile_actor")
