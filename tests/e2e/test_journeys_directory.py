"""Browser journeys of issue 14: the federal inbox worked in bulk, an assignment reaching its
assignee, the use case list, people and roles."""

from django.contrib.auth import get_user_model
from django.core.management import call_command

from tests.e2e.test_journeys import (  # noqa: F401  (fixtures and marks)
    allow_sync_database_calls, browser, nav, page, pytestmark, screenshot, sign_in,
)
from core.actors import IMPORT
from portfolio.models import Finding
from registry.inventory.formats import import_use_cases
from tests.factories import PersonFactory, UseCaseFactory, UserFactory
from tests.federal_data import FILE_2025, needs_2025


def test_owner_searches_a_use_case_by_a_word_of_its_summary_and_opens_it(page, live_server, business_owner_user):
    PersonFactory(email=business_owner_user.email, name="Olga Owner")
    wanted = UseCaseFactory(title="Claim triage", summary="Routes incoming claims to adjusters by urgency.")
    UseCaseFactory(title="Route planner", summary="Plans delivery routes.")
    sign_in(page, live_server, business_owner_user.username)
    nav(page, "Use cases").click()
    page.get_by_role("textbox", name="Search").fill("adjusters")
    page.get_by_role("button", name="Search").click()
    page.get_by_text("1 use case").wait_for()
    screenshot(page, "owner_searches_use_cases")
    page.get_by_role("link", name="Claim triage").click()
    page.wait_for_url(f"**/use-cases/{wanted.pk}/")
    assert page.get_by_role("heading", name="Claim triage").first.is_visible()


def test_office_adds_a_person_and_grants_a_role(page, live_server, program_office_user):
    sign_in(page, live_server, program_office_user.username)
    nav(page, "People").click()
    page.get_by_label("Email", exact=True).fill("nina.hire@example.com")
    page.get_by_label("Name", exact=True).fill("Nina Hire")
    page.get_by_label("Login username").fill("nina")
    page.get_by_role("button", name="Add").click()
    page.get_by_text("nina.hire@example.com added with a login.").wait_for()
    page.get_by_label("Business owner").check()
    page.get_by_role("button", name="Save roles").click()
    page.get_by_text("Roles saved: granted Business owner.").wait_for()
    screenshot(page, "office_adds_a_person_and_grants_a_role")
    nina = get_user_model().objects.get(username="nina")
    assert list(nina.groups.values_list("name", flat=True)) == ["business_owner"]


@needs_2025
def test_office_assigns_a_page_of_critical_federal_findings_to_someone_who_owns_nothing_who_answers_one(
        browser, page, live_server, program_office_user):
    import_use_cases(FILE_2025, actor=IMPORT, format="omb-2025")
    call_command("scan", stdout=open("/dev/null", "w"))
    PersonFactory(email="nina.analyst@example.gov", name="Nina Analyst")  # owns nothing
    UserFactory(username="nina", email="nina.analyst@example.gov", groups=["business_owner"])
    critical = Finding.objects.filter(severity="critical", status="open").count()
    assert critical > 20

    # the office filters the inbox to critical, ticks the whole page and assigns it
    sign_in(page, live_server, program_office_user.username)
    nav(page, "Findings").click()
    page.get_by_label("Severity", exact=True).select_option("critical")
    page.get_by_role("button", name="Filter").click()
    page.get_by_text(f"{critical:,} findings").wait_for()
    page.get_by_label("Select every finding on this page").check()
    ticked = page.locator('input[name="ids"]:checked').count()
    assert ticked == page.locator("table.inbox-rows tbody tr").count() and ticked >= 20
    page.get_by_label("Action", exact=True).select_option("assign")
    page.get_by_label("Assignee", exact=True).fill("nina.analyst@example.gov")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text(f"{ticked} findings assigned.").wait_for()
    screenshot(page, "office_assigns_critical_federal_findings")
    assert Finding.objects.filter(assignee__email="nina.analyst@example.gov", severity="critical").count() == ticked

    # Nina signs in: they are on her home page; she answers one
    nina = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(nina, live_server, "nina")
    needs_you = nina.locator("section.needs-you")
    assert needs_you.get_by_text("assigned to you", exact=True).count() == min(ticked, 10)
    needs_you.get_by_role("link").first.click()
    nina.get_by_role("button", name="Acknowledge").click()
    nina.locator(".badge.status-acknowledged").wait_for()
    screenshot(nina, "assignee_answers_a_finding")
    assert Finding.objects.filter(assignee__email="nina.analyst@example.gov", status="acknowledged").count() == 1
