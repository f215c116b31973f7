"""Every API error is JSON, the unexpected ones included; date-time filters refuse what the
database cannot take with a 400 naming the parameter (on PostgreSQL, an offset beyond ±15:59
was a 500 with Django's HTML page)."""

import datetime

import pytest
from rest_framework.test import APIClient

from registry.models import StageTransition, TransitionSource
from tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["program_office_user", "auditor_user"])
def client(request):
    client = APIClient()
    client.force_authenticate(request.getfixturevalue(request.param))
    client.raise_request_exception = False  # answer as a deployed server would
    return client


@pytest.fixture
def transition(db):
    return StageTransition.objects.create(use_case=UseCaseFactory(), from_stage="", to_stage="proposed",
                                          source=TransitionSource.IMPORT)


@pytest.mark.parametrize("parameter", ["occurred_after", "occurred_before"])
@pytest.mark.parametrize("value", [
    "2026-01-01T00:00:00+20:00",  # PostgreSQL: "time zone displacement out of range"
    "2026-01-01T00:00:00-16:00",
    "2026-01-01T00:00:00+23:59",
    "2026-01-01T00:00:00",  # no offset: which instant is meant?
    "2026-01-01",
    "2026-13-01T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "0000-01-01T00:00:00Z",
    "not a time",
])
def test_a_date_time_filter_the_server_cannot_read_is_a_400_naming_the_parameter(client, transition, parameter, value):
    response = client.get("/api/stage-transitions/", {parameter: value})

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == [parameter]


@pytest.mark.parametrize("value, found", [
    ("2026-01-01T00:00:00Z", False),
    ("2000-01-01T00:00:00+15:59", True),
    ("2000-01-01T00:00:00-15:59", True),
    ("2000-01-01T00:00:00.123456+05:30", True),
    ("0001-01-01T00:00:00+05:00", True),  # before year 1 in UTC: still "after" everything
    ("9999-12-31T23:59:59-05:00", False),  # after year 9999 in UTC: nothing is later
])
def test_a_date_time_filter_takes_any_offset_the_database_can(client, transition, value, found):
    StageTransition.objects.filter(pk=transition.pk).update(
        occurred_at=datetime.datetime(2020, 6, 1, tzinfo=datetime.timezone.utc))

    response = client.get("/api/stage-transitions/", {"occurred_after": value})

    assert response.status_code == 200, response.content
    assert [t["id"] for t in response.json()["results"]] == ([transition.pk] if found else [])


def test_occurred_before_an_instant_given_with_an_offset_compares_instants(client, transition):
    StageTransition.objects.filter(pk=transition.pk).update(
        occurred_at=datetime.datetime(2026, 1, 1, 10, tzinfo=datetime.timezone.utc))

    before = client.get("/api/stage-transitions/", {"occurred_before": "2026-01-01T09:00:00-01:30"})
    after = client.get("/api/stage-transitions/", {"occurred_before": "2026-01-01T09:00:00-00:30"})

    assert [t["id"] for t in before.json()["results"]] == [transition.pk]  # 10:30 UTC
    assert after.json()["results"] == []  # 09:30 UTC


def test_an_unexpected_error_is_a_json_500_that_gives_nothing_away(client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr("api.views.directory.BusinessUnitViewSet.list", broken)

    response = client.get("/api/business-units/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["detail"]
    assert "hunter2" not in response.content.decode() and "RuntimeError" not in response.content.decode()
    assert "hunter2" in caplog.text  # the administrators still see what happened


def test_a_database_error_is_a_json_500_too(client, monkeypatch):
    from django.db import DataError

    def broken(*args, **kwargs):
        raise DataError('time zone displacement out of range: "2026-01-01 00:00:00+20:00"')

    monkeypatch.setattr("api.views.use_cases.StageTransitionViewSet.list", broken)

    response = client.get("/api/stage-transitions/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "displacement" not in response.content.decode()


def test_a_body_too_large_for_the_server_is_a_json_answer(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = client.post("/api/business-units/", {"name": "x" * 500}, format="json")

    assert response.status_code in (400, 403, 413)
    assert response["Content-Type"] == "application/json"


def test_each_list_request_is_judged_on_its_own_parameters(client):
    """Every request of a filter set shares one form class: one request's refused value is not
    the next one's error, nor its filter."""
    pilot = UseCaseFactory(stage="pilot")
    UseCaseFactory(stage="proposed")

    refused = client.get("/api/use-cases/", {"business_unit": "abc", "stage": "pilot"})
    other_refusal = client.get("/api/use-cases/", {"stage": "nowhere"})
    accepted = client.get("/api/use-cases/", {"stage": "pilot"})

    assert refused.status_code == 400 and list(refused.json()) == ["business_unit"]
    assert other_refusal.status_code == 400 and list(other_refusal.json()) == ["stage"]
    assert accepted.status_code == 200
    assert [row["id"] for row in accepted.json()["results"]] == [pilot.pk]
