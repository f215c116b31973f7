"""A business owner sees the same findings on every surface: the inbox, the API, the admin."""

import pytest
from django.urls import reverse

from tests.factories import PersonFactory, UseCaseFactory, UserFactory
from tests.web_setup import make_finding

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    olga = UserFactory(username="olga", groups=["business_owner"])
    person = PersonFactory(email=olga.email)
    mine = [make_finding(UseCaseFactory(business_owner=person), title=f"Mine {n}") for n in range(2)]
    theirs = [make_finding(UseCaseFactory(), title=f"Theirs {n}") for n in range(3)]
    return olga, mine, theirs


def test_the_api_lists_and_reads_only_her_findings(client, world):
    olga, mine, theirs = world
    client.force_login(olga)

    listed = {row["id"] for row in client.get("/api/findings/").json()["results"]}

    assert listed == {f.pk for f in mine}
    assert client.get(f"/api/findings/{mine[0].pk}/").status_code == 200
    assert client.get(f"/api/findings/{theirs[0].pk}/").status_code == 404


def test_the_admin_lists_only_her_findings(client, world):
    olga, mine, theirs = world
    client.force_login(olga)

    page = client.get(reverse("admin:portfolio_finding_changelist")).content.decode()

    assert all(f.title in page for f in mine) and not any(f.title in page for f in theirs)
    assert client.get(reverse("admin:portfolio_finding_change", args=[theirs[0].pk])).status_code in (302, 404)


def test_the_inbox_the_api_and_the_admin_agree_for_the_program_office(client, world):
    _, mine, theirs = world
    client.force_login(UserFactory(username="office", groups=["program_office"]))

    listed = {row["id"] for row in client.get("/api/findings/").json()["results"]}

    assert listed == {f.pk for f in mine + theirs}
