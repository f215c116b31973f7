"""Browser journeys of the use case list and of people and roles (issue 14)."""

from django.contrib.auth import get_user_model

from tests.e2e.test_journeys import (  # noqa: F401  (fixtures and marks)
    allow_sync_database_calls, browser, nav, page, pytestmark, screenshot, sign_in,
)
from tests.factories import PersonFactory, UseCaseFactory


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
