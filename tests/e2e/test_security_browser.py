"""The Content-Security-Policy in a real browser: every page works and Chromium reports no violation
(nor a Permissions-Policy feature it does not know); htmx still sends its requests; Swagger UI at
/api/docs/ still renders; a locked-out sign-in shows the site's page."""

from pathlib import Path

import pytest
from django.urls import reverse

from tests.e2e.test_journeys import CHROMIUM, PASSWORD, allow_sync_database_calls, browser, page, screenshot, sign_in  # noqa: F401
from tests.factories import BusinessUnitFactory, KPIFactory, UseCaseFactory
from tests.web_setup import make_finding

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: install Debian's chromium package"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def watch(page):
    """What Chromium says about the policies: CSP violations, Permissions-Policy errors."""
    said = []
    page.on("console", lambda message: said.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text or "Permissions-Policy" in message.text else None)
    return said


def test_every_page_works_under_the_policy_without_a_violation(page, live_server, program_office_user):
    finance = BusinessUnitFactory(name="Finance")
    use_case = UseCaseFactory(title="Invoice capture", business_unit=finance, decision__business_unit=finance)
    KPIFactory(use_case=use_case, name="Discount captured")
    finding = make_finding(use_case)
    said = watch(page)
    sign_in(page, live_server, "office")

    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False

    page.goto(live_server.url + reverse("web:findings"))
    page.locator("[data-tick-page]").check()  # the inbox's own script, from the site
    assert page.locator(f'input[name="ids"][value="{finding.pk}"]').is_checked()
    page.goto(live_server.url + reverse("web:finding", args=[finding.pk]))
    with page.expect_request(lambda request: request.method == "POST" and request.headers.get("hx-request") == "true"):
        page.locator(f"#finding-{finding.pk}").get_by_role("button", name="Acknowledge").click()
    page.locator(f"#finding-{finding.pk}").get_by_text("acknowledged", exact=False).first.wait_for()

    page.goto(live_server.url + reverse("web:portfolio"))
    heat = page.locator("table.heat td.num").first
    assert heat.evaluate("cell => getComputedStyle(cell).backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")

    for url in (reverse("web:home"), reverse("web:use_case", args=[use_case.pk]), reverse("web:import"),
                reverse("web:compliance"), reverse("web:audit_log"), reverse("web:audit_verify") + "?check=1",
                "/admin/", "/admin/registry/usecase/", f"/admin/registry/usecase/{use_case.pk}/change/",
                f"/admin/registry/usecase/{use_case.pk}/history/", "/admin/registry/decision/add/",
                "/api/use-cases/", f"/api/use-cases/{use_case.pk}/"):
        response = page.goto(live_server.url + url)
        assert response.status == 200, url
        page.wait_for_load_state("networkidle")

    page.goto(live_server.url + "/api/docs/")
    page.locator(".opblock").first.wait_for()  # Swagger UI ran (its inline script has the nonce) and read the schema
    assert page.locator(".opblock-tag").count() >= 5
    screenshot(page, "api_docs")

    assert said == [], "\n".join(said)


def test_a_locked_out_sign_in_shows_the_sites_page(page, live_server, program_office_user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    said = watch(page)
    for attempt in range(2):
        page.goto(live_server.url + reverse("login"))
        page.get_by_label("Username").fill("office")
        page.get_by_label("Password").fill(f"wrong-{attempt}")
        page.get_by_role("button", name="Sign in").click()

    page.get_by_role("heading", name="Sign-in locked").wait_for()
    assert page.get_by_role("link", name="Last Mile").is_visible()  # the site's top bar
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill("office")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Sign-in locked").wait_for()
    screenshot(page, "locked_out")
    assert said == [], "\n".join(said)
