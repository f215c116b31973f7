import pytest
from django.conf import settings
from django.test import override_settings

from tests.factories import UserFactory


@pytest.fixture(autouse=True, scope="session")
def _test_settings():
    # The manifest storage needs `collectstatic` first; pages rendered in tests need no hashing.
    # A slow password hash is for real passwords; every test user would otherwise cost ~0.3 s.
    # Follow-up tasks (digests) run in the test process: a task queued to the real broker would
    # outlive its test's database and be picked up by the real workers of test_celery.py.
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=storages, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
                           CELERY_TASK_ALWAYS_EAGER=True):
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
