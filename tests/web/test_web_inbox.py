"""The findings inbox for thousands: compact rows sorted most severe first, filters (severity,
assigned to me), one bulk action on the ticked findings or all that match, constant queries."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portfolio.models import Finding, FindingEvent
from web.views.common import PAGE_SIZE
from tests.factories import BusinessUnitFactory, FindingFactory, PersonFactory, UseCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(client, program_office_user):
    client.force_login(program_office_user)
    return client


def rows(body: str) -> list[int]:
    """The ids of the findings the page lists, in order."""
    return [int(pk) for pk in re.findall(r'<tr id="finding-(\d+)"', body)]


def _ago(days):
    return timezone.localdate() - datetime.timedelta(days=days)


def test_rows_are_most_severe_first_link_to_their_page_and_carry_no_forms_of_their_own(office):
    low = FindingFactory(severity="low", first_seen=_ago(90))
    critical = FindingFactory(severity="critical", first_seen=_ago(3))
    high = FindingFactory(severity="high", first_seen=_ago(30))

    body = office.get(reverse("web:findings")).content.decode()

    assert rows(body) == [critical.pk, high.pk, low.pk]
    assert f'href="{reverse("web:finding", args=[critical.pk])}"' in body
    assert body.count('method="post"') == 2  # the one bulk form and signing out
    assert "90 d" in body and "Critical" in body


@pytest.mark.parametrize("order, expected", [("age", ["old", "mid", "new"]), ("kind", ["mid", "new", "old"]),
                                             ("unit", ["new", "old", "mid"])])
def test_the_inbox_sorts_by_age_kind_and_unit(office, order, expected):
    findings = {
        "old": FindingFactory(kind="stalled_pilot", first_seen=_ago(90), use_cases=[UseCaseFactory(decision__business_unit=BusinessUnitFactory(name="Budget"))]),
        "mid": FindingFactory(kind="duplicate_capability", first_seen=_ago(30), use_cases=[UseCaseFactory(decision__business_unit=BusinessUnitFactory(name="Customs"))]),
        "new": FindingFactory(kind="missing_decision", first_seen=_ago(3), use_cases=[UseCaseFactory(decision__business_unit=BusinessUnitFactory(name="Audit"))]),
    }
    body = office.get(reverse("web:findings"), {"order": order, "status": "active"}).content.decode()
    assert rows(body) == [findings[name].pk for name in expected]


def test_severity_and_assigned_to_me_filter_the_rows(client):
    me = UserFactory(username="nora", email="nora@example.com", groups=["program_office"])
    nora = PersonFactory(email="nora@example.com")
    mine = FindingFactory(severity="critical", assignee=nora)
    FindingFactory(severity="critical")
    FindingFactory(severity="low", assignee=nora)
    client.force_login(me)

    body = client.get(reverse("web:findings"), {"severity": "critical", "mine": "on", "status": "active"}).content.decode()

    assert rows(body) == [mine.pk]
    assert rows(client.get(reverse("web:findings"), {"assignee": "NORA@example.com", "status": "active"}).content.decode()) \
        == [mine.pk, Finding.objects.get(severity="low").pk]


def test_a_rollup_shows_its_first_members_inline_and_how_many_more(office):
    members = UseCaseFactory.create_batch(8)
    rollup = FindingFactory(use_cases=members)
    body = office.get(reverse("web:findings")).content.decode()
    row = body[body.index(f'id="finding-{rollup.pk}"'):]
    row = row[:row.index("</tr>")]
    shown = sorted(members, key=lambda u: (u.title, u.pk))
    assert shown[4].title in row and shown[5].title not in row and "… and 3 more" in row


def test_the_office_acknowledges_the_ticked_findings_from_the_page(office):
    ticked, other = FindingFactory.create_batch(2), FindingFactory()
    answer = office.post(reverse("web:findings_bulk"), {"ids": [f.pk for f in ticked], "action": "acknowledge",
                                                        "filter": "status=active&severity=medium"}, follow=True)
    assert "2 findings acknowledged." in answer.content.decode()
    assert answer.redirect_chain[-1][0] == reverse("web:findings") + "?status=active&severity=medium"
    assert set(Finding.objects.filter(pk__in=[f.pk for f in ticked]).values_list("status", flat=True)) == {"acknowledged"}
    assert Finding.objects.get(pk=other.pk).status == "open"


def test_the_office_assigns_all_that_match_the_filter_and_nothing_else(office):
    nora = PersonFactory(email="nora@example.com")
    critical = FindingFactory.create_batch(30, severity="critical")
    medium = FindingFactory(severity="medium")
    answer = office.post(reverse("web:findings_bulk"), {"all_matching": "on", "action": "assign", "assignee": "nora@example.com",
                                                        "filter": "severity=critical&status=active"}, follow=True)
    assert "30 findings assigned." in answer.content.decode()
    assert Finding.objects.filter(assignee=nora).count() == len(critical)
    assert Finding.objects.get(pk=medium.pk).assignee is None


@pytest.mark.parametrize("data, message", [
    ({"action": "acknowledge"}, "Tick the findings to act on"),
    ({"action": "acknowledge", "ids": ["x"]}, "Ids are whole numbers."),
    ({"action": "explode", "ids": ["FINDING"]}, "Select a valid choice."),
    ({"action": "dismiss", "ids": ["FINDING"], "reason": " "}, "dismissing a finding needs a reason"),
    ({"action": "assign", "ids": ["FINDING"], "assignee": "nobody@example.com"}, "No person with email"),
    ({"action": "acknowledge", "all_matching": "on", "filter": "severity=apocalyptic"}, "Select a valid choice"),
])
def test_garbage_from_the_page_says_what_is_wrong_and_writes_nothing(office, data, message):
    finding = FindingFactory()
    data = {**data, "ids": [str(finding.pk) if i == "FINDING" else i for i in data.get("ids", [])]}
    answer = office.post(reverse("web:findings_bulk"), data, follow=True)
    assert message in answer.content.decode().replace("&#x27;", "'")
    assert Finding.objects.get(pk=finding.pk).status == "open" and not FindingEvent.objects.exists()


def test_an_owner_cannot_reach_a_finding_about_someone_else_through_the_bulk_form(client, business_owner_user):
    PersonFactory(email=business_owner_user.email)
    others = FindingFactory(use_cases=[UseCaseFactory()])
    client.force_login(business_owner_user)
    client.post(reverse("web:findings_bulk"), {"action": "acknowledge", "all_matching": "on", "filter": "status=active"})
    client.post(reverse("web:findings_bulk"), {"action": "acknowledge", "ids": [others.pk]})
    assert Finding.objects.get(pk=others.pk).status == "open"


@pytest.mark.parametrize("order", ["severity", "unit"])
def test_the_inbox_runs_the_same_queries_at_two_sizes(office, django_assert_max_num_queries, order):
    def add(n):
        for _ in range(n):
            FindingFactory(severity="high", use_cases=UseCaseFactory.create_batch(2), assignee=PersonFactory())

    add(3)
    url = reverse("web:findings") + f"?order={order}&status=active"
    office.get(url)  # the login's roles are read once
    with CaptureQueriesContext(connection) as few:
        assert len(rows(office.get(url).content.decode())) == 3
    add(40)
    with django_assert_max_num_queries(len(few)):
        assert len(rows(office.get(url).content.decode())) == 25


def test_a_use_case_card_links_each_finding_to_its_own_page(client, business_owner_user):
    owner = PersonFactory(email=business_owner_user.email)
    use_case = UseCaseFactory(business_owner=owner)
    finding = FindingFactory(use_cases=[use_case])
    client.force_login(business_owner_user)
    body = client.get(reverse("web:home")).content.decode()
    assert f'href="{reverse("web:finding", args=[finding.pk])}"' in body
    assert "#finding-" not in body


def test_an_owners_inbox_counts_and_pages_only_what_they_own_and_a_page_past_the_end_is_the_last(client):
    owner = PersonFactory(email="ola@example.com")
    theirs = UseCaseFactory(business_owner=owner)
    mine = [FindingFactory(severity="high", first_seen=_ago(days), use_cases=[theirs]) for days in range(1, PAGE_SIZE + 4)]
    FindingFactory.create_batch(3, severity="critical")  # about someone else's use cases
    client.force_login(UserFactory(username="ola", email="ola@example.com", groups=["business_owner"]))

    first = client.get(reverse("web:findings")).content.decode()
    second = client.get(reverse("web:findings"), {"page": "2"}).content.decode()
    past_the_end = client.get(reverse("web:findings"), {"page": "99"}).content.decode()
    not_a_number = client.get(reverse("web:findings"), {"page": "two"}).content.decode()

    oldest_first = [f.pk for f in reversed(mine)]
    assert f"{len(mine)} findings" in first
    assert rows(first) == oldest_first[:PAGE_SIZE]
    assert rows(second) == rows(past_the_end) == oldest_first[PAGE_SIZE:]
    assert rows(not_a_number) == rows(first)
