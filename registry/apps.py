from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _unicode_upper(text):
    return text.upper() if isinstance(text, str) else text


def _teach_sqlite(sender, connection, **kwargs):
    """SQLite's audit triggers ask `lastmile_actor()` who acts (PostgreSQL's read a setting). Its
    own UPPER puts ASCII letters in capitals only: the search text, kept in capitals (migration
    0022), and the words searched for are put in capitals as PostgreSQL does, "ø" as "Ø"."""
    if connection.vendor == "sqlite":
        from core.actors import current_system_actor_name

        connection.connection.create_function("lastmile_actor", 0, current_system_actor_name)
        connection.connection.create_function("upper", 1, _unicode_upper, deterministic=True)


class RegistryConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'registry'

    def ready(self):
        from core.lookups import install_in_as_array

        from .audit import REGISTRY_SOURCES, register_sources

        install_in_as_array()

        register_sources(REGISTRY_SOURCES)
        connection_created.connect(_teach_sqlite, dispatch_uid="registry.teach_sqlite")
