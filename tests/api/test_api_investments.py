"""The investments resource: record (and correct) planned and spent per use case, layer and
period; garbage is a 400 naming the field; auditors and strangers change nothing."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from registry.models import Investment
from tests.factories import PersonFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def use_case(db):
    return UseCaseFactory()


def body(for_use_case, **overrides):
    return {"use_case": for_use_case.pk, "layer": "data", "period_start": "2026-01-01", "period_end": "2026-03-31",
            "planned": "50000.00", "spent": "42000.50", **overrides}


def test_the_office_records_an_investment_and_posting_it_again_corrects_it(program_office_user, use_case, settings):
    settings.LAST_MILE_CURRENCY = "USD"
    office = client_for(program_office_user)
    created = office.post("/api/investments/", body(use_case), format="json")
    assert created.status_code == 201, created.json()
    assert created.json() | {"id": None, "recorded_at": None} == {
        "id": None, "use_case": use_case.pk, "layer": "data", "period_start": "2026-01-01",
        "period_end": "2026-03-31", "planned": "50000.00", "spent": "42000.50", "currency": "USD",
        "recorded_at": None, "recorded_by": "office"}
    assert created["Location"] == f"/api/investments/{created.json()['id']}/"

    again = office.post("/api/investments/", body(use_case, spent="43000.00"), format="json")
    assert again.status_code == 201 and again.json()["id"] == created.json()["id"]
    assert Investment.objects.get().spent == Decimal("43000.00")
    listed = office.get(f"/api/investments/?use_case={use_case.pk}&layer=data").json()
    assert [row["spent"] for row in listed["results"]] == ["43000.00"]


@pytest.mark.parametrize("overrides, field", [
    ({"layer": "compute"}, "layer"),
    ({"planned": "-5"}, "planned"),
    ({"spent": 12}, "spent"),
    ({"period_start": "2026-13-01"}, "period_start"),
    ({"period_end": "2025-12-31"}, "period_end"),
    ({"currency": "EUR"}, "currency"),
    ({"use_case": 999999}, "use_case"),
])
def test_garbage_is_a_400_naming_the_field_and_writes_nothing(program_office_user, use_case, overrides, field):
    answer = client_for(program_office_user).post("/api/investments/", body(use_case, **overrides), format="json")
    assert answer.status_code == 400 and field in answer.json(), answer.json()
    assert not Investment.objects.exists()


def test_planned_and_spent_are_required(program_office_user, use_case):
    data = body(use_case)
    del data["spent"]
    answer = client_for(program_office_user).post("/api/investments/", data, format="json")
    assert answer.status_code == 400 and "spent" in answer.json()


def test_an_owner_records_on_her_use_case_but_not_on_someone_elses(use_case):
    owner = UserFactory(username="tina", groups=["business_owner"])
    mine = UseCaseFactory(technical_owner=PersonFactory(email=owner.email))
    client = client_for(owner)
    assert client.post("/api/investments/", body(mine), format="json").status_code == 201
    assert client.post("/api/investments/", body(use_case), format="json").status_code == 403
    assert Investment.objects.count() == 1


def test_auditors_read_investments_and_change_none(auditor_user, program_office_user, use_case):
    client_for(program_office_user).post("/api/investments/", body(use_case), format="json")
    auditor = client_for(auditor_user)
    assert len(auditor.get("/api/investments/").json()["results"]) == 1
    assert auditor.post("/api/investments/", body(use_case, spent="1.00"), format="json").status_code == 403
    assert Investment.objects.get().spent == Decimal("42000.50")


def test_the_office_deletes_a_record_with_its_etag_and_a_stale_one_deletes_nothing(program_office_user, use_case):
    office = client_for(program_office_user)
    created = office.post("/api/investments/", body(use_case), format="json")
    url, etag = created["Location"], created["ETag"]
    office.post("/api/investments/", body(use_case, spent="43000.00"), format="json")  # someone corrects it

    stale = office.delete(url, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and Investment.objects.exists()

    current = office.get(url)["ETag"]
    assert office.delete(url, HTTP_IF_MATCH=current).status_code == 204
    assert not Investment.objects.exists()
    assert Investment.history.filter(history_type="-", history_user=program_office_user).count() == 1
    assert office.get(url).status_code == 404
    assert office.delete(url).status_code == 404


def test_only_the_office_and_the_use_cases_owners_delete(program_office_user, auditor_user, business_owner_user, use_case):
    record = Investment.objects.create(use_case=use_case, layer="data", period_start="2026-01-01",
                                       period_end="2026-03-31", spent=Decimal("10"))
    for user in (auditor_user, business_owner_user):  # the owner owns other use cases, not this one
        assert client_for(user).delete(f"/api/investments/{record.pk}/").status_code == 403
    assert APIClient().delete(f"/api/investments/{record.pk}/").status_code == 401
    assert client_for(program_office_user).delete("/api/investments/abc/").status_code == 404
    assert Investment.objects.filter(pk=record.pk).exists()


def test_a_blank_if_match_is_as_if_none_was_sent(program_office_user, use_case):
    office = client_for(program_office_user)
    url = office.post("/api/investments/", body(use_case), format="json")["Location"]
    assert office.delete(url, HTTP_IF_MATCH="").status_code == 204
