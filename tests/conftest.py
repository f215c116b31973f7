import pytest

from tests.factories import UserFactory


@pytest.fixture
def program_office_user(db):
    return UserFactory(username="office", groups=["program_office"])


@pytest.fixture
def auditor_user(db):
    return UserFactory(username="auditor", groups=["auditor"])


@pytest.fixture
def business_owner_user(db):
    return UserFactory(username="owner", groups=["business_owner"])
