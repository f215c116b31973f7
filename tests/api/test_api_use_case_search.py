"""The API's use case list searches and filters as the page does (one selector)."""

import pytest
from rest_framework.test import APIClient

from registry.models import HighImpact, OMBDetermination
from tests.factories import BusinessUnitFactory, PersonFactory, UseCaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(program_office_user):
    client = APIClient()
    client.force_authenticate(program_office_user)
    return client


def test_search_reads_units_and_owners_and_high_impact_filters(office):
    grace = PersonFactory(name="Grace Hopper", email="grace@example.com")
    compiler = UseCaseFactory(title="Compiler assistant", technical_owner=grace)
    UseCaseFactory(title="Other", decision__business_unit=BusinessUnitFactory(name="Harbour"))
    OMBDetermination.objects.create(use_case=compiler, is_high_impact=HighImpact.HIGH_IMPACT)

    def titles(params):
        response = office.get("/api/use-cases/", params)
        assert response.status_code == 200, response.json()
        return [row["title"] for row in response.json()["results"]]

    assert titles({"search": "hopper"}) == ["Compiler assistant"]
    assert titles({"search": "grace@example.com"}) == ["Compiler assistant"]
    assert titles({"search": "harbour"}) == ["Other"]
    assert titles({"high_impact": "true"}) == ["Compiler assistant"]
    assert titles({"high_impact": "false"}) == ["Other"]
    assert office.get("/api/use-cases/", {"high_impact": "maybe"}).status_code == 400
