"""A system's token: who it is and which roles it holds, read with the token in one query."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_acts_with_its_logins_roles():
    use_case = UseCaseFactory()
    auditor = Token.objects.create(user=UserFactory(username="catalogue", groups=["auditor"]))
    office = Token.objects.create(user=UserFactory(username="sync", groups=["business_owner", "program_office"]))
    edit = {"title": "Renamed"}

    refused = _client(auditor.key).patch(f"/api/use-cases/{use_case.pk}/", edit, format="json", HTTP_IF_MATCH="*")
    allowed = _client(office.key).patch(f"/api/use-cases/{use_case.pk}/", edit, format="json", HTTP_IF_MATCH="*")

    assert (refused.status_code, allowed.status_code) == (403, 200)
    assert _client(auditor.key).get(f"/api/use-cases/{use_case.pk}/").json()["title"] == "Renamed"


def test_an_unknown_token_or_a_deactivated_login_is_a_401():
    gone = Token.objects.create(user=UserFactory(username="retired-sync", groups=["program_office"], is_active=False))

    for key in ("0" * 40, gone.key):
        response = _client(key).get("/api/use-cases/")
        assert response.status_code == 401 and "WWW-Authenticate" in response
