"""Home pages per role: the program office lands on a portfolio overview with what changed since
the last scan; an owner's "My work" puts what needs them first and folds the rest."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portfolio.detectors.base import Detected
from portfolio.models import ACTIVE_STATUSES, Finding, ScanRun, UrgentUseCase
from portfolio.services.findings import change_finding_status, reconcile
from registry.models import Stage
from tests.factories import FindingFactory, PersonFactory, UseCaseFactory, UserFactory
from tests.web_setup import owner_person  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

FIRST, SECOND = datetime.date(2026, 11, 1), datetime.date(2026, 11, 2)
KINDS = ["stalled_pilot", "duplicate_capability", "orphaned_ownership"]


def found(use_case, kind, severity):
    return Detected(kind=kind, identity=(use_case.pk,), severity=severity, title=f"{kind} of {use_case.title}",
                    use_case_ids=[use_case.pk])


def scan(as_of, detected):
    run = ScanRun.objects.create(kinds=KINDS, as_of=as_of, status=ScanRun.Status.SUCCEEDED)
    reconcile(kinds=KINDS, detected=detected, as_of=as_of, scan_run=run)
    ScanRun.objects.filter(pk=run.pk).update(finished_at=timezone.now())
    return run


def two_scans(n: int = 1):
    """The first scan opens a critical stall and a high duplicate per use case; the second still
    sees the stall, no longer the duplicate (resolved), and a medium ownership finding (opened)."""
    use_cases = UseCaseFactory.create_batch(n)
    scan(FIRST, [d for u in use_cases for d in (found(u, "stalled_pilot", "critical"),
                                                 found(u, "duplicate_capability", "high"))])
    scan(SECOND, [d for u in use_cases for d in (found(u, "stalled_pilot", "critical"),
                                                  found(u, "orphaned_ownership", "medium"))])
    return use_cases


def test_the_office_lands_on_what_the_last_scan_changed_each_figure_linking_the_inbox(client, program_office_user):
    two_scans()
    stall = Finding.objects.get(kind="stalled_pilot")
    change_finding_status(finding=stall, to_status="acknowledged", actor=program_office_user)
    client.force_login(program_office_user)

    page = client.get(reverse("web:home")).content.decode()

    assert "<h1>Portfolio overview</h1>" in page
    assert "The scan as of <strong>2026-11-02</strong>" in page and "against the one as of 2026-11-01" in page
    assert re.search(r"opened 1 finding\s+and resolved 1", page)
    inbox = reverse("web:findings")
    assert f'href="{inbox}?status=active&amp;kind=orphaned_ownership&amp;severity=medium">1 medium</a>' in page
    assert f'href="{inbox}?status=resolved&amp;kind=duplicate_capability&amp;severity=high">1 high</a>' in page
    assert f'<a href="{inbox}?status=acknowledged">1 acknowledged</a>' in page  # answered since the scan
    assert f'href="{inbox}?status=active&amp;severity=critical"><span class="tile-figure">1</span>' in page


def test_the_overview_before_any_scan_says_so(client, program_office_user):
    client.force_login(program_office_user)
    assert "No scan has run yet" in client.get(reverse("web:home")).content.decode()


def test_the_overview_runs_the_same_queries_at_two_sizes(client, program_office_user, django_assert_num_queries):
    client.force_login(program_office_user)
    two_scans(1)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("web:home"))
    two_scans(12)
    with django_assert_num_queries(len(small)):
        page = client.get(reverse("web:home")).content.decode()
    assert "opened 12 findings" in page


@pytest.mark.parametrize("groups, superuser, lands_on", [
    (["program_office"], False, "Portfolio overview"),
    (["chief_ai_officer"], False, "Portfolio overview"),
    ([], True, "Portfolio overview"),
    (["business_owner"], False, "my work"),
    (["approver"], False, "my work"),
    (["auditor"], False, "Audit log"),
    (["business_owner", "approver"], False, "my work"),
    (["program_office", "business_owner"], False, "Portfolio overview"),
])
def test_each_role_lands_on_its_home(client, groups, superuser, lands_on):
    user = UserFactory(username="someone", groups=groups, is_superuser=superuser)
    client.force_login(user)
    page = client.get(reverse("web:home"), follow=True).content.decode()
    assert lands_on in re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)
    main = re.search(r"<main.*?</main>", page, re.S).group(0)
    for link in set(re.findall(r'href="(/[^"?#]*)', main)):
        assert client.get(link).status_code < 400, link  # nothing its home links to is refused to it


def test_the_office_opens_its_own_work_from_the_overview_and_an_owner_has_no_overview(
        client, program_office_user, business_owner_user, owner_person):
    PersonFactory(email=program_office_user.email)
    client.force_login(program_office_user)
    assert ": my work</h1>" in client.get(reverse("web:home"), {"view": "work"}).content.decode()
    client.force_login(business_owner_user)
    assert ": my work</h1>" in client.get(reverse("web:home"), {"view": "overview"}).content.decode()


def _card(page, use_case):
    start = page.index(f'id="uc-{use_case.pk}"')
    return page[start:page.index("</article>", start)]


def test_my_work_puts_assigned_critical_and_stalls_first_folds_the_rest_and_offers_nothing_on_retired(
        client, business_owner_user, owner_person):
    calm = UseCaseFactory(title="Aardvark calm", business_owner=owner_person, stage=Stage.PILOT)
    urgent = UseCaseFactory(title="Zebra urgent", business_owner=owner_person, stage=Stage.PILOT)
    retired = UseCaseFactory(title="Old retired", business_owner=owner_person, stage=Stage.RETIRED)
    FindingFactory(title="Critical on what she owns", severity="critical", use_cases=[urgent])
    FindingFactory(title="A low stall", severity="low", kind="stalled_pilot", use_cases=[urgent])
    FindingFactory(title="Medium, not urgent", severity="medium", kind="orphaned_ownership", use_cases=[calm])
    FindingFactory(title="Assigned to her elsewhere", severity="low", assignee=owner_person,
                   use_cases=[UseCaseFactory()])
    client.force_login(business_owner_user)

    page = client.get(reverse("web:home")).content.decode()

    needs_you = page[page.index('id="needs-h"'):page.index('id="uc-heading"')]
    assert needs_you.index("Critical on what she owns") < needs_you.index("A low stall")
    assert "Assigned to her elsewhere" in needs_you and "assigned to you" in needs_you
    assert "Medium, not urgent" not in needs_you
    cards = page[page.index('id="uc-heading"'):]
    assert cards.index("Zebra urgent") < cards.index("Aardvark calm")  # what needs her first
    assert page.count('<details class="fold" open>') == 0  # every card folded: nothing to state
    assert "<form" not in _card(page, retired) and "<form" in _card(page, calm)


def test_my_work_counts_what_they_own_what_is_assigned_and_what_needs_them_and_pages_to_the_last(
        client, business_owner_user, owner_person):
    owned = [UseCaseFactory(title=f"Owned {i:02}", business_owner=owner_person) for i in range(27)]
    for use_case in owned[:12]:
        FindingFactory(severity="critical", kind="orphaned_ownership", use_cases=[use_case])
    FindingFactory(severity="medium", kind="orphaned_ownership", use_cases=[owned[20]])  # hers, not urgent
    FindingFactory(severity="critical", kind="orphaned_ownership", assignee=owner_person, use_cases=[owned[0]])  # both
    FindingFactory(severity="low", kind="orphaned_ownership", assignee=owner_person, use_cases=[UseCaseFactory()])
    FindingFactory(severity="critical", kind="orphaned_ownership", status="resolved", use_cases=[owned[1]])
    client.force_login(business_owner_user)

    page = client.get(reverse("web:home")).content.decode()

    summary = re.sub(r"\s+", " ", page[page.index('id="home-summary"'):page.index('id="needs-h"')])
    assert "27 use cases" in summary
    assert "14 open findings on what you own" in summary and "2 assigned to you" in summary
    needs_you = page[page.index('id="needs-h"'):page.index('id="uc-heading"')]
    assert needs_you.count("<tr><td>") == 10 and "4 more" in needs_you  # 13 urgent of hers, 2 assigned, 1 both
    last = client.get(reverse("web:home"), {"page": 99})
    assert last.context["use_cases"].number == 2 and len(last.context["use_cases"].cards) == 2
    assert client.get(reverse("web:home"), {"page": "abc"}).context["use_cases"].number == 1
    assert client.get(reverse("web:home"), {"page": str(2**70)}).context["use_cases"].number == 2


def test_my_work_says_when_nothing_needs_them(client, business_owner_user, owner_person):
    UseCaseFactory(business_owner=owner_person)
    client.force_login(business_owner_user)
    assert "Nothing needs you now" in client.get(reverse("web:home")).content.decode()


def test_a_findings_page_shows_who_opened_acknowledged_assigned_and_dismissed_it_and_why(client, program_office_user):
    from portfolio.services.findings import assign_finding

    use_case = UseCaseFactory()
    scan(FIRST, [found(use_case, "stalled_pilot", "high")])
    finding = Finding.objects.get()
    nina = PersonFactory(email="nina@example.com")
    assign_finding(finding=finding, assignee=nina, actor=program_office_user)
    change_finding_status(finding=finding, to_status="acknowledged", actor=program_office_user, reason="Seen Monday")
    change_finding_status(finding=finding, to_status="dismissed", actor=program_office_user, reason="Pilot extended")
    client.force_login(program_office_user)

    page = client.get(reverse("web:finding", args=[finding.pk])).content.decode()

    history = page[page.index('id="history-h"'):]
    rows = re.findall(r"<tr><td class=\"nowrap\">[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", history)
    assert rows == [("office", "dismissed", "Pilot extended"), ("office", "acknowledged", "Seen Monday"),
                    ("office", "assigned to nina@example.com", "—"), ("the scan", "opened", "Opened by the scan.")]


def test_my_work_puts_a_use_case_first_exactly_while_it_has_an_urgent_finding(client, business_owner_user,
                                                                                 owner_person, program_office_user):
    """Urgent: an active critical or high finding, or an active stall of any severity. Kept by
    triggers (UrgentUseCase) through every write: a scan opening, rewriting or resolving it, an
    answer closing or reopening it."""
    aardvark, zebra = (UseCaseFactory(title=title, business_owner=owner_person, stage=Stage.PILOT)
                       for title in ("Aardvark", "Zebra"))
    client.force_login(business_owner_user)

    def first_card():
        page = client.get(reverse("web:home")).content.decode()
        cards = page[page.index('id="uc-heading"'):]
        first = "Zebra" if cards.index("Zebra") < cards.index("Aardvark") else "Aardvark"
        urgent = set(UrgentUseCase.objects.values_list("use_case_id", flat=True))
        linked = {pk for finding in Finding.objects.filter(status__in=ACTIVE_STATUSES).prefetch_related("use_cases")
                  if finding.severity in ("critical", "high") or finding.kind == "stalled_pilot"
                  for pk in finding.use_cases.values_list("pk", flat=True)}
        assert urgent == linked
        return first

    assert first_card() == "Aardvark"
    scan(FIRST, [found(zebra, "duplicate_capability", "high")])
    assert first_card() == "Zebra"
    finding = Finding.objects.get()
    change_finding_status(finding=finding, to_status="dismissed", actor=program_office_user, reason="A test copy.")
    assert first_card() == "Aardvark"
    change_finding_status(finding=finding, to_status="open", actor=program_office_user)
    assert first_card() == "Zebra"
    scan(SECOND, [found(zebra, "duplicate_capability", "medium")])  # rewritten, less severe
    assert first_card() == "Aardvark"
    scan(SECOND, [found(zebra, "duplicate_capability", "medium"), found(zebra, "stalled_pilot", "low")])
    assert first_card() == "Zebra"
    scan(SECOND, [found(aardvark, "duplicate_capability", "critical")])  # Zebra's two resolve
    assert first_card() == "Aardvark"
    scan(SECOND, [])
    assert first_card() == "Aardvark" and not UrgentUseCase.objects.exists()
