"""Twenty writers on one use case (or one finding), at once, against the real PostgreSQL: each
sends the ETag it read; exactly one wins per version and every other one is told (412), never
overwritten."""

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portfolio.detectors.base import Detected
from portfolio.models import Finding, FindingEvent, FindingStatus
from portfolio.services.findings import reconcile
from registry.models import UseCase
from registry.access import ROLE_GROUPS
from tests.factories import PersonFactory, UseCaseFactory, UserFactory

WRITERS = 20

pytestmark = [
    pytest.mark.slow,
    # Committed rows, seen by every thread; the migrations' data is put back afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need the real PostgreSQL"),
]


@pytest.fixture
def writers(transactional_db):
    # A transactional test empties every table afterwards, the role groups of the data
    # migration included: make sure they are there.
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)
    tokens = []
    for n in range(WRITERS):
        user = UserFactory(username=f"writer{n}", groups=["program_office"])
        tokens.append(Token.objects.create(user=user).key)
    return tokens


def _client(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _in_threads(function, arguments):
    def run(argument):
        try:
            return function(argument)
        finally:
            connections.close_all()  # each thread's own connection

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return list(pool.map(run, arguments))


def test_twenty_writers_with_the_same_etag_exactly_one_wins(writers):
    # given: everyone read version 1
    use_case = UseCaseFactory()
    url = f"/api/use-cases/{use_case.pk}/"
    etag = _client(writers[0]).get(url)["ETag"]
    barrier = threading.Barrier(WRITERS)

    def write(n):
        client = _client(writers[n])
        barrier.wait()
        response = client.patch(url, {"summary": f"written by {n}"}, format="json", HTTP_IF_MATCH=etag)
        return n, response.status_code

    # when: all twenty write at once
    results = _in_threads(write, range(WRITERS))

    # then: one 200, nineteen 412, and the stored summary is the winner's
    statuses = sorted(status for _, status in results)
    assert statuses == [200] + [412] * (WRITERS - 1), statuses
    [winner] = [n for n, status in results if status == 200]
    use_case.refresh_from_db()
    assert (use_case.version, use_case.summary) == (2, f"written by {winner}")


def test_twenty_writers_retrying_on_412_all_land_once_each_in_order(writers):
    # given
    use_case = UseCaseFactory()
    url = f"/api/use-cases/{use_case.pk}/"
    barrier = threading.Barrier(WRITERS)

    def write_until_accepted(n):
        client = _client(writers[n])
        barrier.wait()
        refused = 0
        while True:
            etag = client.get(url)["ETag"]
            response = client.patch(url, {"summary": f"written by {n}"}, format="json", HTTP_IF_MATCH=etag)
            if response.status_code == 200:
                return n, response.json()["version"], refused
            assert response.status_code == 412, response.content
            refused += 1

    # when: each writer reads, writes with what it read, and on 412 reads again
    results = _in_threads(write_until_accepted, range(WRITERS))

    # then: every write landed exactly once, each on its own version: none was lost silently
    versions = sorted(version for _, version, _ in results)
    assert versions == list(range(2, WRITERS + 2))
    use_case.refresh_from_db()
    assert use_case.version == WRITERS + 1
    history = {record.version: record.summary for record in use_case.history.all()}
    for n, version, _ in results:
        assert history[version] == f"written by {n}"
    assert sum(refused for *_, refused in results) > 0  # they really did collide


def test_twenty_concurrent_moves_one_stage_forward_only_one_moves(writers):
    use_case = UseCaseFactory()
    url = f"/api/use-cases/{use_case.pk}/move/"
    etag = _client(writers[0]).get(f"/api/use-cases/{use_case.pk}/")["ETag"]
    barrier = threading.Barrier(WRITERS)

    def move(n):
        client = _client(writers[n])
        barrier.wait()
        return client.post(url, {"to_stage": "validating"}, format="json", HTTP_IF_MATCH=etag).status_code

    statuses = sorted(_in_threads(move, range(WRITERS)))
    assert statuses == [200] + [412] * (WRITERS - 1), statuses
    assert UseCase.objects.get(pk=use_case.pk).transitions.filter(to_stage="validating").count() == 1


@pytest.fixture
def finding(writers):
    use_case = UseCaseFactory()
    reconcile(kinds=["stalled_pilot"], as_of=datetime.date(2026, 11, 2), detected=[
        Detected(kind="stalled_pilot", identity=(use_case.pk,), severity="high",
                 title=f"'{use_case.title}' has been in pilot for 120 days", use_case_ids=[use_case.pk]),
    ])
    return Finding.objects.get()


def test_twenty_writers_acknowledging_a_finding_with_the_same_etag_exactly_one_wins(writers, finding):
    # given: everyone read version 1
    url = f"/api/findings/{finding.pk}/"
    etag = _client(writers[0]).get(url)["ETag"]
    assert etag == f'"finding-{finding.pk}-v1"'
    barrier = threading.Barrier(WRITERS)

    def acknowledge(n):
        client = _client(writers[n])
        barrier.wait()
        return client.post(f"{url}acknowledge/", {"reason": f"seen by {n}"}, format="json",
                           HTTP_IF_MATCH=etag).status_code

    # when: all twenty acknowledge at once
    statuses = sorted(_in_threads(acknowledge, range(WRITERS)))

    # then: one 200, nineteen 412, and one acknowledgement recorded
    assert statuses == [200] + [412] * (WRITERS - 1), statuses
    finding.refresh_from_db()
    assert (finding.status, finding.version) == (FindingStatus.ACKNOWLEDGED, 2)
    assert FindingEvent.objects.filter(finding=finding, to_status=FindingStatus.ACKNOWLEDGED).count() == 1


def test_twenty_writers_assigning_a_finding_with_the_same_etag_exactly_one_wins(writers, finding):
    # given: everyone read version 1, and each would give it to someone else
    url = f"/api/findings/{finding.pk}/"
    etag = _client(writers[0]).get(url)["ETag"]
    people = [PersonFactory(email=f"assignee{n}@example.com") for n in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)

    def assign(n):
        client = _client(writers[n])
        barrier.wait()
        response = client.post(f"{url}assign/", {"assignee": people[n].pk}, format="json", HTTP_IF_MATCH=etag)
        return n, response.status_code

    # when: all twenty assign at once
    results = _in_threads(assign, range(WRITERS))

    # then: one 200, nineteen 412, and the finding is the winner's assignee's
    statuses = sorted(status for _, status in results)
    assert statuses == [200] + [412] * (WRITERS - 1), statuses
    [winner] = [n for n, status in results if status == 200]
    finding.refresh_from_db()
    assert (finding.assignee, finding.version) == (people[winner], 2)


def test_twenty_writers_on_one_person_with_the_same_etag_exactly_one_wins(writers):
    # given: everyone read version 1 of a directory person
    person = PersonFactory(name="Ada")
    url = f"/api/people/{person.pk}/"
    etag = _client(writers[0]).get(url)["ETag"]
    barrier = threading.Barrier(WRITERS)

    def write(n):
        client = _client(writers[n])
        barrier.wait()
        return n, client.patch(url, {"name": f"Ada {n}"}, format="json", HTTP_IF_MATCH=etag).status_code

    # when
    results = _in_threads(write, range(WRITERS))

    # then: one 200, nineteen 412; the stored name is the winner's, at version 2
    statuses = sorted(status for _, status in results)
    assert statuses == [200] + [412] * (WRITERS - 1), statuses
    [winner] = [n for n, status in results if status == 200]
    person.refresh_from_db()
    assert (person.name, person.version) == (f"Ada {winner}", 2)


def test_twenty_writers_on_one_decision_with_the_same_etag_exactly_one_wins(writers):
    decision = UseCaseFactory().decision
    url = f"/api/decisions/{decision.pk}/"
    etag = _client(writers[0]).get(url)["ETag"]
    barrier = threading.Barrier(WRITERS)

    def write(n):
        client = _client(writers[n])
        barrier.wait()
        return n, client.patch(url, {"execution_point": f"queue {n}"}, format="json", HTTP_IF_MATCH=etag).status_code

    results = _in_threads(write, range(WRITERS))

    statuses = sorted(status for _, status in results)
    assert statuses == [200] + [412] * (WRITERS - 1), statuses
    [winner] = [n for n, status in results if status == 200]
    decision.refresh_from_db()
    assert (decision.execution_point, decision.version) == (f"queue {winner}", 2)
