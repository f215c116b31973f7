"""Acting on many findings at once (portfolio.services.findings.act_on_findings and
POST /api/findings/bulk/): all or nothing, the rules of one finding at a time, a history
record and an event per finding, a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.errors import InvalidInput, NotAllowed
from portfolio.models import Finding, FindingEvent, FindingStatus
from portfolio.services.findings import FindingChangeRefused, act_on_findings
from tests.factories import FindingFactory, PersonFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga():
    """A business owner login, and the person who owns `olgas_use_case`."""
    PersonFactory(email="olga@example.com")
    return UserFactory(username="olga", email="olga@example.com", groups=["business_owner"])


@pytest.fixture
def olgas_use_case(olga):
    from registry.models import Person
    return UseCaseFactory(business_owner=Person.objects.get(email="olga@example.com"))


def _state(findings):
    return sorted(Finding.objects.filter(pk__in=[f.pk for f in findings]).values_list("pk", "status", "assignee_id", "version"))


def _counts():
    return Finding.history.count(), FindingEvent.objects.count()


def test_the_office_acknowledges_many_with_a_history_record_and_an_event_each(program_office_user):
    findings = [FindingFactory() for _ in range(3)]
    changed = act_on_findings(actor=program_office_user, action="acknowledge", ids=[f.pk for f in findings],
                              reason="Seen in the Monday review")
    assert (changed.changed, changed.skipped) == (3, 0)
    for finding in Finding.objects.filter(pk__in=[f.pk for f in findings]):
        assert (finding.status, finding.status_reason, finding.version) == ("acknowledged", "Seen in the Monday review", 2)
        latest = finding.history.order_by("-history_id").first()
        assert (latest.status, latest.history_user, latest.history_change_reason) == (
            "acknowledged", program_office_user, "Seen in the Monday review")
        event = finding.events.get()
        assert (event.from_status, event.to_status, event.actor) == ("open", "acknowledged", program_office_user)


def test_a_mix_with_one_finding_the_owner_may_not_answer_writes_nothing_and_names_it(olga, olgas_use_case):
    hers = [FindingFactory(use_cases=[olgas_use_case]) for _ in range(2)]
    someone_elses = FindingFactory(use_cases=[UseCaseFactory()])
    before, counts = _state([*hers, someone_elses]), _counts()
    # Olga sees only her own findings: the other one is named as unknown to her.
    with pytest.raises(InvalidInput) as refused:
        act_on_findings(actor=olga, action="acknowledge", ids=[*(f.pk for f in hers), someone_elses.pk])
    assert str(someone_elses.pk) in refused.value.message and refused.value.errors.keys() == {"ids"}
    assert (_state([*hers, someone_elses]), _counts()) == (before, counts)


def test_a_mix_with_one_the_lifecycle_refuses_writes_nothing_and_names_it(program_office_user):
    open_ones = [FindingFactory() for _ in range(2)]
    resolved = FindingFactory(status="resolved")
    before, counts = _state([*open_ones, resolved]), _counts()
    with pytest.raises(FindingChangeRefused) as refused:
        act_on_findings(actor=program_office_user, action="dismiss", ids=[f.pk for f in [*open_ones, resolved]],
                        reason="Known and accepted")
    assert f"{resolved.pk} is resolved" in refused.value.message
    assert (_state([*open_ones, resolved]), _counts()) == (before, counts)


def test_an_auditor_acts_on_nothing(auditor_user):
    finding = FindingFactory()
    with pytest.raises(NotAllowed):
        act_on_findings(actor=auditor_user, action="assign", ids=[finding.pk], assignee="x@example.com")
    with pytest.raises(NotAllowed):
        act_on_findings(actor=auditor_user, action="acknowledge", ids=[finding.pk])
    assert _state([finding]) == [(finding.pk, "open", None, 1)]


def test_an_owner_may_not_assign(olga, olgas_use_case):
    finding = FindingFactory(use_cases=[olgas_use_case])
    with pytest.raises(NotAllowed):
        act_on_findings(actor=olga, action="assign", ids=[finding.pk], assignee="olga@example.com")


def test_findings_already_there_are_left_alone_and_counted_as_skipped(program_office_user):
    acknowledged, open_one = FindingFactory(status="acknowledged"), FindingFactory()
    outcome = act_on_findings(actor=program_office_user, action="acknowledge", ids=[acknowledged.pk, open_one.pk])
    assert (outcome.changed, outcome.skipped) == (1, 1)
    assert _state([acknowledged]) == [(acknowledged.pk, "acknowledged", None, 1)]


@pytest.mark.parametrize("kwargs, field", [
    ({"action": "delete", "ids": [1]}, "action"),
    ({"action": "dismiss", "ids": [1], "reason": "   "}, "reason"),
    ({"action": "assign", "ids": [1], "assignee": ""}, "assignee"),
    ({"action": "assign", "ids": [1], "assignee": "nobody@example.com"}, "assignee"),
    ({"action": "acknowledge"}, "ids"),
    ({"action": "acknowledge", "ids": [999999]}, "ids"),
])
def test_garbage_is_refused_naming_the_field_and_writes_nothing(program_office_user, kwargs, field):
    finding = FindingFactory()
    kwargs = {**kwargs, "ids": [finding.pk if i == 1 else i for i in kwargs["ids"]]} if "ids" in kwargs else kwargs
    with pytest.raises(InvalidInput) as refused:
        act_on_findings(actor=program_office_user, **kwargs)
    assert refused.value.errors.keys() == {field}
    assert _state([finding]) == [(finding.pk, "open", None, 1)]


# The API ------------------------------------------------------------------------------------------


@pytest.fixture
def office(program_office_user):
    client = APIClient()
    client.force_authenticate(program_office_user)
    return client


def test_api_assigns_everything_matching_a_filter_and_nothing_else(office):
    person = PersonFactory(email="nora@example.com")
    critical = [FindingFactory(severity="critical") for _ in range(3)]
    medium = FindingFactory(severity="medium")
    answer = office.post("/api/findings/bulk/", {"filter": {"severity": "critical", "status": ["open"]},
                                                  "action": "assign", "assignee": "Nora@Example.com"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"changed": 3, "skipped": 0}
    assert {f.assignee_id for f in Finding.objects.filter(pk__in=[f.pk for f in critical])} == {person.pk}
    assert Finding.objects.get(pk=medium.pk).assignee_id is None


def test_api_reopens_the_findings_about_one_use_case(office):
    use_case = UseCaseFactory()
    about_it = FindingFactory.create_batch(2, use_cases=[use_case, UseCaseFactory()], status="resolved")
    elsewhere = FindingFactory(status="resolved")
    answer = office.post("/api/findings/bulk/", {"filter": {"use_case": use_case.pk}, "action": "reopen"}, format="json")
    assert answer.json() == {"changed": 2, "skipped": 0}
    assert _state([*about_it, elsewhere]) == sorted([(f.pk, "open", None, 2) for f in about_it]
                                                    + [(elsewhere.pk, "resolved", None, 1)])


def test_api_dismisses_by_ids(office):
    findings = [FindingFactory() for _ in range(2)]
    answer = office.post("/api/findings/bulk/", {"ids": [f.pk for f in findings], "action": "dismiss",
                                                  "reason": "Retired systems"}, format="json")
    assert answer.json() == {"changed": 2, "skipped": 0}
    assert set(Finding.objects.values_list("status", "status_reason")) == {("dismissed", "Retired systems")}


@pytest.mark.parametrize("body, field", [
    ({"ids": [1], "action": "explode"}, "action"),
    ({"ids": "1,2", "action": "acknowledge"}, "ids"),
    ({"ids": [], "action": "acknowledge"}, "ids"),
    ({"ids": [1], "filter": {}, "action": "acknowledge"}, "ids"),
    ({"action": "acknowledge"}, "ids"),
    ({"ids": [1], "action": "dismiss"}, "reason"),
    ({"ids": [1], "action": "assign"}, "assignee"),
    ({"ids": [1], "action": "assign", "assignee": "not an email"}, "assignee"),
    ({"ids": [1], "action": "assign", "assignee": "nobody@example.com"}, "assignee"),
    ({"filter": {"severity": "apocalyptic"}, "action": "acknowledge"}, "filter"),
    ({"filter": {"colour": "red"}, "action": "acknowledge"}, "filter"),
    ({"ids": [1], "action": "acknowledge", "surprise": True}, "surprise"),
])
def test_api_garbage_is_a_400_naming_the_field_and_writes_nothing(office, body, field):
    finding = FindingFactory()
    if body.get("ids") == [1]:
        body = {**body, "ids": [finding.pk]}
    answer = office.post("/api/findings/bulk/", body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["errors"] if "errors" in answer.json() else field in answer.json()
    assert _state([finding]) == [(finding.pk, "open", None, 1)]


def test_api_refusals_are_403_and_409_and_write_nothing(olga, olgas_use_case, program_office_user, auditor_user):
    finding = FindingFactory(use_cases=[olgas_use_case], status="resolved")
    owner, auditor, office = APIClient(), APIClient(), APIClient()
    owner.force_authenticate(olga)
    auditor.force_authenticate(auditor_user)
    office.force_authenticate(program_office_user)
    assert owner.post("/api/findings/bulk/", {"ids": [finding.pk], "action": "assign", "assignee": "olga@example.com"},
                      format="json").status_code == 403
    assert auditor.post("/api/findings/bulk/", {"ids": [finding.pk], "action": "reopen"}, format="json").status_code == 403
    refused = office.post("/api/findings/bulk/", {"ids": [finding.pk], "action": "acknowledge"}, format="json")
    assert refused.status_code == 409 and str(finding.pk) in refused.content.decode()
    assert _state([finding]) == [(finding.pk, "resolved", None, 1)]


@pytest.mark.parametrize("action, extra", [("acknowledge", {}), ("assign", {"assignee": "nora@example.com"}),
                                           ("dismiss", {"reason": "Accepted risk"})])
def test_api_bulk_queries_do_not_grow_with_the_selection(office, action, extra):
    PersonFactory(email="nora@example.com")
    use_case = UseCaseFactory()

    def queries_for(n):
        ids = [FindingFactory(use_cases=[use_case]).pk for _ in range(n)]
        with CaptureQueriesContext(connection) as captured:
            answer = office.post("/api/findings/bulk/", {"ids": ids, "action": action, **extra}, format="json")
        assert answer.json() == {"changed": n, "skipped": 0}
        return len(captured)

    queries_for(1)  # the login's roles are read once and kept on it
    few, many = queries_for(3), queries_for(40)
    assert few == many <= 10


def test_api_says_how_many_were_skipped_as_already_so(office):
    acknowledged, open_one = FindingFactory(status="acknowledged"), FindingFactory()
    answer = office.post("/api/findings/bulk/", {"ids": [acknowledged.pk, open_one.pk], "action": "acknowledge"},
                         format="json")
    assert answer.json() == {"changed": 1, "skipped": 1}
