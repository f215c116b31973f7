"""Browser journeys: Playwright driving Debian's Chromium against the live server.

One screenshot per journey is kept in test-artifacts/screenshots/<journey>.png.
"""

from decimal import Decimal
from pathlib import Path

import pytest

from django.urls import reverse

from portfolio.detectors.base import Detected
from portfolio.models import FindingStatus
from portfolio.services.findings import reconcile
from registry.services.lifecycle import move_use_case
from registry.models import KPIObservation, Stage, UseCase
from registry.inventory.federal.mapping import PLACEHOLDER_STATEMENT
from tests.factories import BusinessUnitFactory, DecisionFactory, PersonFactory, UseCaseFactory
from tests.web_setup import AS_OF, make_finding

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: install Debian's chromium package"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def allow_sync_database_calls(monkeypatch):
    """Playwright's sync API runs an event loop in this thread; the test's own database work
    is still synchronous, so Django's async-safety check does not apply. Set for these tests
    only: a leaked variable would fail the deployment checks of other tests."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, live_server, username, *, lands_on="web:home"):
    page.goto(live_server.url + reverse("web:home"))
    assert "/accounts/login/" in page.url  # anonymous visitors land on the login page
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + reverse(lands_on))


def nav(page, name):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name)


def unfold(page, use_case):
    """Open a use case's folded card on "My work" and return it."""
    page.locator(f"details:has(#uc-{use_case.pk}) > summary").click()
    return page.locator(f"#uc-{use_case.pk}")


def screenshot(page, journey):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{journey}.png"), full_page=True)


def test_business_owner_registers_is_refused_completes_moves_and_records_a_kpi(page, live_server, business_owner_user):
    unit = BusinessUnitFactory(name="Finance")
    PersonFactory(email=business_owner_user.email, name="Olga Owner", business_unit=unit)
    sign_in(page, live_server, "owner")

    # Register a decision (without frequency and cost of error), then a use case from it.
    page.get_by_role("link", name="Register a decision").click()
    page.get_by_label("Statement").fill("Which supplier invoices are paid early this week?")
    page.get_by_label("Business unit").select_option(label="Finance")
    page.get_by_role("button", name="Register decision").click()
    page.get_by_text("Now register the use cases that serve it").wait_for()
    page.get_by_role("link", name="Register a use case").click()
    page.get_by_label("Title").fill("Early payment ranker")
    page.get_by_role("button", name="Register use case").click()
    page.get_by_role("heading", name="Early payment ranker").wait_for()
    use_case = UseCase.objects.get(title="Early payment ranker")

    # From the home page: the move is refused in place, naming what is missing.
    nav(page, "My work").click()
    card = unfold(page, use_case)
    card.get_by_role("button", name="Move").click()
    refusal = card.locator(".refusal")
    refusal.wait_for()
    assert "Not moved to Validating" in refusal.inner_text()
    needs = card.locator("ul.needs")  # each unmet condition once, linked to where it is met
    assert needs.get_by_role("link", name="the decision has no frequency").count() == 1
    assert needs.get_by_role("link", name="the decision has no cost of error").count() == 1
    assert card.inner_text().count("the decision has no frequency") == 1

    # Complete the decision, then move.
    card.get_by_role("link", name="Which supplier invoices are paid early this week?").click()
    page.get_by_role("link", name="Edit decision").click()
    page.get_by_label("Frequency").select_option("weekly")
    page.get_by_label("Cost of error").fill("150")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Decision saved.").wait_for()
    nav(page, "My work").click()
    card = unfold(page, use_case)
    card.get_by_role("button", name="Move").click()
    card.get_by_text("Moved to Validating.").wait_for()
    use_case.refresh_from_db()
    assert use_case.stage == Stage.VALIDATING

    # Add a KPI, then record a value in place from the home page.
    card.get_by_role("link", name="Add a KPI").click()
    page.get_by_label("Name").fill("Early payment discount captured")
    page.get_by_label("Baseline").fill("0.12")
    page.get_by_label("Target").fill("0.3")
    page.get_by_role("button", name="Add KPI").click()
    page.get_by_text("added").first.wait_for()
    nav(page, "My work").click()
    card = unfold(page, use_case)
    card.get_by_label("value").fill("0.17")
    card.get_by_role("button", name="Record").click()
    card.get_by_text("Recorded Early payment discount captured = 0.17").wait_for()
    assert KPIObservation.objects.get().value == Decimal("0.17")
    screenshot(page, "business_owner")


def test_business_owner_states_the_decision_of_an_imported_use_case(page, live_server, business_owner_user):
    unit = BusinessUnitFactory(name="Department of Energy (DOE)")
    owner = PersonFactory(email=business_owner_user.email, name="Olga Owner", business_unit=unit)
    placeholder = DecisionFactory(statement=PLACEHOLDER_STATEMENT, business_unit=unit, owner=None, is_defined=False,
                                  frequency="", cost_of_error=None)
    grants = UseCaseFactory(title="Grant screening assistant", external_id="DOE-0001", decision=placeholder,
                            business_unit=unit, business_owner=owner, stage=Stage.PILOT)
    fleet = UseCaseFactory(title="Fleet maintenance forecaster", external_id="DOE-0002", decision=placeholder,
                           business_unit=unit, business_owner=owner)
    make_finding(grants, kind="missing_decision", title="'Grant screening assistant' serves no stated decision")
    sign_in(page, live_server, "owner")

    card = page.locator(f"#uc-{grants.pk}")
    assert "No decision stated yet" in card.inner_text()
    assert "serves no stated decision" in card.inner_text()  # the finding, until the decision is stated

    # The placeholder's own wording is refused next to the field, and nothing is written.
    statement = card.get_by_label("State the decision this use case changes")
    statement.fill(PLACEHOLDER_STATEMENT)
    card.get_by_role("button", name="State the decision").click()
    card.locator(".field-error").get_by_text("placeholder's wording").wait_for()
    screenshot(page, "state_decision_refused")
    grants.refresh_from_db()
    assert grants.decision_id == placeholder.pk

    # A real decision: the card swaps in place and serves it; the neighbour still waits.
    card = page.locator(f"#uc-{grants.pk}")
    card.get_by_label("State the decision this use case changes").fill(
        "Which grant applications are screened first this week?")
    card.get_by_label("How often it is made").select_option("weekly")
    card.get_by_role("button", name="State the decision").click()
    card.locator(".msg-success").get_by_text("Decision stated.").wait_for()
    assert card.get_by_role("link", name="Which grant applications are screened first this week?").count() == 1
    assert "serves no stated decision" not in card.inner_text()  # stating it resolved the finding
    grants.refresh_from_db()
    assert (grants.decision.statement, grants.decision.frequency, grants.decision.owner) == (
        "Which grant applications are screened first this week?", "weekly", owner)
    assert UseCase.objects.get(pk=fleet.pk).decision_id == placeholder.pk
    assert "No decision stated yet" in page.locator(f"#uc-{fleet.pk}").inner_text()
    # The owner now owns it: "My decisions" and the counts follow without a reload.
    page.locator("#my-decisions summary", has_text="My decisions (1)").click()
    page.locator("#my-decisions").get_by_role("link", name="Which grant applications are screened first").wait_for()
    page.locator("#home-summary", has_text="1 decision ·").wait_for()
    screenshot(page, "state_decision")


def test_program_office_dismisses_a_finding_with_a_reason_and_filters_the_dashboard(page, live_server, program_office_user):
    finance, sales = BusinessUnitFactory(name="Finance"), BusinessUnitFactory(name="Sales")
    stalled = UseCaseFactory(title="Invoice capture", business_unit=finance, decision__business_unit=finance)
    UseCaseFactory(title="Lead scoring", business_unit=sales, decision__business_unit=sales)
    finding = make_finding(stalled)
    sign_in(page, live_server, "office")

    nav(page, "Findings").click()
    page.get_by_role("link", name=finding.title).click()
    article = page.locator(f"#finding-{finding.pk}")
    article.get_by_role("button", name="Dismiss").click()
    article.get_by_text("Say why you dismiss this finding").wait_for()
    article.get_by_label("Dismiss because").fill("Pilot extended by the steering committee")
    article.get_by_role("button", name="Dismiss").click()
    page.locator(f"#finding-{finding.pk}").get_by_text("Finding dismissed.").wait_for()
    finding.refresh_from_db()
    assert (finding.status, finding.status_reason) == (FindingStatus.DISMISSED, "Pilot extended by the steering committee")

    nav(page, "Portfolio").click()
    page.get_by_label("Business unit", exact=True).select_option(label="Finance")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("heading", name="Portfolio: Finance").wait_for()
    funnel_rows = page.locator("#unit-h + .table-scroll tbody th").all_inner_texts()
    assert funnel_rows == ["Finance"]
    screenshot(page, "program_office")


def test_program_office_reads_a_large_findings_evidence_and_opens_all_its_use_cases(page, live_server, program_office_user):
    unit = BusinessUnitFactory(name="NASA")
    decision = DecisionFactory(business_unit=unit)
    members = UseCaseFactory.create_batch(120, decision=decision, business_owner=PersonFactory(email="ai@nasa.gov"))
    detected = Detected(kind="orphaned_ownership", identity=("mailbox", 1, "business_owner"), severity="medium",
                        title="The shared mailbox ai@nasa.gov is the business owner of 120 use cases of NASA",
                        use_case_ids=[u.pk for u in members], decision_ids=[decision.pk],
                        detail={"object": "use_cases", "role": "business_owner", "owner": "ai@nasa.gov",
                                "problem": "generic_mailbox", "count": 120, "in_production": 0, "business_units": ["NASA"]})
    reconcile(kinds=["orphaned_ownership"], detected=[detected], as_of=AS_OF)
    sign_in(page, live_server, "office")

    nav(page, "Findings").click()
    row = page.locator("table.inbox-rows tbody tr").first
    assert "120" in row.inner_text() and "NASA" in row.inner_text()
    row.get_by_role("link", name="… and 115 more").click()
    page.get_by_role("heading", name="Evidence").wait_for()
    assert "ai@nasa.gov, a shared mailbox, is the only business owner of 120 use cases of NASA." in page.inner_text("main")
    assert page.locator("table:has(caption:has-text('Use cases')) tbody tr").count() == 100
    page.get_by_role("link", name="Next →").click()
    page.get_by_text("Page 2 of 2").wait_for()
    assert page.locator("table:has(caption:has-text('Use cases')) tbody tr").count() == 20
    screenshot(page, "finding_evidence")


def test_auditor_sees_a_use_case_history_and_finds_no_way_to_change_it(page, live_server, auditor_user, program_office_user):
    use_case = UseCaseFactory(title="Claims triage")
    move_use_case(use_case=use_case, to_stage=Stage.VALIDATING, actor=program_office_user, reason="Data profiled")
    make_finding(use_case)
    sign_in(page, live_server, "auditor", lands_on="web:audit_log")  # auditors land on the audit log

    page.goto(live_server.url + reverse("web:use_case", args=[use_case.pk]))
    history = page.locator("#audit table")
    history.wait_for()
    text = history.inner_text()
    assert "office" in text and "Proposed → Validating" in text and "Data profiled" in text and "Created" in text
    assert "read-only for you" in page.inner_text("main")
    main = page.locator("main")
    assert main.locator("form").count() == 0 and main.locator("button").count() == 0
    assert main.get_by_role("link", name="Edit").count() == 0

    nav(page, "Findings").click()
    assert page.locator("main article form").count() == 0
    response = page.goto(live_server.url + reverse("web:use_case_edit", args=[use_case.pk]))
    assert response.status == 403
    page.goto(live_server.url + reverse("web:use_case", args=[use_case.pk]))
    screenshot(page, "auditor")
