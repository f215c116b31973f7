import functools
import importlib

import pytest
from django.conf import settings
from django.test import override_settings

from tests.factories import UserFactory


@pytest.fixture(autouse=True, scope="session")
def _test_settings():
    # The manifest storage needs `collectstatic` first; pages rendered in tests need no hashing.
    # A slow password hash is for real passwords; every test user would otherwise cost ~0.3 s.
    # Follow-up tasks (digests) run in the test process: a task queued to the real broker would
    # outlive its test's database and be picked up by the real workers of tests/e2e/test_celery.py.
    # Texts are embedded by the scans the tests run, not by every write (tests that embed on
    # change turn it on).
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=storages, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                           CELERY_TASK_ALWAYS_EAGER=True, EMBED_ON_CHANGE=False):
        yield


@pytest.fixture
def program_office_user(db):
    return UserFactory(username="office", groups=["program_office"])


@pytest.fixture
def auditor_user(db):
    return UserFactory(username="auditor", groups=["auditor"])


@pytest.fixture
def business_owner_user(db):
    return UserFactory(username="owner", groups=["business_owner"])


@functools.cache
def _migrated_state_apps():
    """The models as the migrations leave them (what a data migration is given), read from the
    migration files alone."""
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(None, ignore_no_migrations=True).project_state().apps


# The data migrations whose rows every test relies on, in migration order: the role groups with
# their registry permissions and the friction points, then the groups' portfolio permissions.
# (portfolio 0005 only rewrites an existing policy's default: nothing to put back.)
REFERENCE_DATA_MIGRATIONS = [
    ("registry.migrations.0002_friction_points_and_role_groups", "create_friction_points_and_groups"),
    ("portfolio.migrations.0002_role_permissions", "grant"),
    ("registry.migrations.0011_signoff_roles_and_eu_obligations", "forwards"),
    ("registry.migrations.0012_investment_per_layer_and_period", "grant_view"),
]


def restore_reference_data():
    """Re-create the role groups (with all their permissions) and the friction points with the very
    functions of the data migrations that made them; idempotent (get_or_create, update_or_create,
    set, add)."""
    for module, function in REFERENCE_DATA_MIGRATIONS:
        getattr(importlib.import_module(module), function)(_migrated_state_apps(), None)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """A transactional test (live server, real workers) ends with a flush that empties every
    table, the migration-made rows included; with --reuse-db the next run would find no role
    groups and every login would be refused. Put them back once the test database is ready."""
    with django_db_blocker.unblock():
        restore_reference_data()


@pytest.fixture(autouse=True)
def _reference_data_in_transactional_tests(request):
    """Within a run, an earlier transactional test's flush removed them too: re-create them
    before each transactional test (ordinary tests roll back and never lose them)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))) \
        or "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    if transactional:
        request.getfixturevalue("transactional_db")
        restore_reference_data()
