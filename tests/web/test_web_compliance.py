"""The portfolio's compliance view (/portfolio/compliance/) and its CSV export: the figures on a
small made-up portfolio, who may see them, the filters, and a constant number of queries."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.spreadsheet import FORMULA_STARTS
from registry.models import HighImpact, Practice, Stage
from tests.compliance_setup import DONE, classify, portfolio, practice, use_case, waive  # noqa: F401  (fixtures)
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(client, program_office_user):
    client.force_login(program_office_user)
    return client


def figures(client, **query) -> dict[tuple[str, str, str], str]:
    """The CSV export as {(table, row, column): value}, checking every row has the one scope."""
    response = client.get(reverse("web:compliance_export"), query)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["table", "scope", "row", "column", "value"]
    assert len({scope for _, scope, *_ in rows[1:]}) <= 1
    return {(table, row, column): value for table, _, row, column, value in rows[1:]}


def practice_counts(table: dict, stage: str, name: str) -> dict[str, int]:
    return {state: int(table[(f"minimum practices in {stage}", name, state)])
            for state in ("done", "in_progress", "missing", "not_applicable", "waived")}


def test_determinations_per_unit_and_high_impact_per_unit_and_stage(office, portfolio):
    table = figures(office)

    assert {c: table[("OMB determination", "Benefits", c)] for c in
            ("high_impact", "not_high_impact", "presumed_not_high_impact", "not_determined", "total")} == {
        "high_impact": "3", "not_high_impact": "1", "presumed_not_high_impact": "1", "not_determined": "1", "total": "6"}
    assert table[("OMB determination", "Claims", "high_impact")] == "1"
    assert table[("OMB determination", "Claims", "not_determined")] == "1"
    assert {s: table[("high-impact by stage", "Benefits", s)] for s in ("proposed", "validating", "pilot", "production")} \
        == {"proposed": "1", "validating": "0", "pilot": "1", "production": "1"}
    assert table[("high-impact by stage", "Claims", "production")] == "1"
    assert table[("high-impact by stage", "Claims", "total")] == "1"


def test_practices_count_waivers_in_force_today_first_then_the_record(office, portfolio):
    table = figures(office)

    production = {name: practice_counts(table, "production", name) for name in Practice.values}
    # Eligibility screening (Benefits) and Claims scoring (nothing recorded; its testing waiver expired).
    assert production[Practice.TESTING_CONDUCTED] == dict(done=1, in_progress=0, missing=1, not_applicable=0, waived=0)
    assert production[Practice.ASSESSMENT_COMPLETED] == dict(done=0, in_progress=1, missing=1, not_applicable=0, waived=0)
    assert production[Practice.INDEPENDENT_REVIEW] == dict(done=0, in_progress=0, missing=1, not_applicable=1, waived=0)
    assert production[Practice.ONGOING_MONITORING] == dict(done=0, in_progress=0, missing=1, not_applicable=0, waived=1)
    assert production[Practice.TRAINING_ESTABLISHED] == dict(done=0, in_progress=0, missing=2, not_applicable=0, waived=0)
    assert production[Practice.FAILSAFE_PRESENCE] == dict(done=0, in_progress=0, missing=1, not_applicable=0, waived=1)
    assert production[Practice.APPEAL_PROCESS]["missing"] == 2
    assert production[Practice.PUBLIC_CONSULTATION]["missing"] == 2
    assert all(counts == dict(done=1, in_progress=0, missing=0, not_applicable=0, waived=0)
               for counts in (practice_counts(table, "pilot", name) for name in Practice.values))
    assert table[("minimum practices in production", "high-impact use cases", "total")] == "2"
    assert table[("minimum practices in production", "high-impact use cases", "with a gap")] == "2"
    assert table[("minimum practices in pilot", "high-impact use cases", "with a gap")] == "0"


def test_eu_classes_and_roles_per_unit_with_the_unclassified(office, portfolio):
    table = figures(office)

    assert table[("EU risk class", "Benefits", "high_risk_annex_iii")] == "1"
    assert table[("EU risk class", "Benefits", "minimal")] == "1"
    assert table[("EU risk class", "Benefits", "not_classified")] == "4"
    assert table[("EU risk class", "Claims", "prohibited")] == "1"
    assert table[("EU operator role", "Benefits", "deployer")] == "1"
    assert table[("EU operator role", "Benefits", "provider")] == "1"
    assert table[("EU operator role", "Claims", "not_classified")] == "1"
    assert table[("EU operator role", "Claims", "total")] == "2"


def test_the_page_lists_the_use_cases_held_at_the_gate_naming_their_open_practices(office, portfolio):
    body = office.get(reverse("web:compliance")).content.decode()

    gaps = body[body.index('id="gaps-h"'):body.index('id="eu-h"')]
    eligibility, scoring = portfolio["eligibility"], portfolio["scoring"]
    assert f'href="{reverse("web:use_case", args=[eligibility.pk])}#determinations"' in gaps
    assert f'href="{reverse("web:use_case", args=[scoring.pk])}#determinations"' in gaps
    assert "Fraud triage" not in gaps and "Appeals drafting" not in gaps and "Mail sorting" not in gaps
    row = gaps[gaps.index("Eligibility screening"):gaps.index("</tr>", gaps.index("Eligibility screening"))]
    for open_practice in ("AI impact assessment", "Independent review", "Human training and oversight",
                          "Appeal and remedy", "Consultation and feedback from affected people"):
        assert open_practice in row, open_practice
    for covered in ("Pre-deployment testing", "Ongoing monitoring", "Fail-safe"):
        assert covered not in row, covered
    assert "(not applicable)" in row and "(in progress)" in row
    scoring_row = gaps[gaps.index("Claims scoring"):gaps.index("</tr>", gaps.index("Claims scoring"))]
    assert scoring_row.count("<li>") == len(Practice.values)
    assert "2 use cases in all." in gaps
    for heading in ("OMB M-25-21 determinations by business unit", "High-impact use cases by unit and stage",
                    "Minimum practices of high-impact use cases in pilot",
                    "Minimum practices of high-impact use cases in production",
                    "EU AI Act risk classes by business unit", "EU AI Act operator roles by business unit"):
        assert heading in body, heading


def test_the_unit_filter_narrows_every_figure_and_the_list(office, portfolio):
    benefits = portfolio["benefits"]

    table = figures(office, unit=benefits.pk)
    body = office.get(reverse("web:compliance"), {"unit": benefits.pk}).content.decode()

    assert not [key for key in table if key[1] == "Claims"]
    assert table[("minimum practices in production", "high-impact use cases", "total")] == "1"
    assert practice_counts(table, "production", Practice.TRAINING_ESTABLISHED)["missing"] == 1
    assert "Claims scoring" not in body and "Eligibility screening" in body
    assert "Compliance: Benefits" in body


def test_the_stage_filter_keeps_only_that_stage(office, portfolio):
    table = figures(office, stage="pilot")
    body = office.get(reverse("web:compliance"), {"stage": "pilot"}).content.decode()

    assert table[("OMB determination", "Benefits", "total")] == "2"  # Fraud triage, Ticket routing
    assert ("minimum practices in production", "high-impact use cases", "total") not in table
    assert table[("minimum practices in pilot", "high-impact use cases", "total")] == "1"
    assert "Eligibility screening" not in body
    assert "None: every high-impact use case in pilot has each practice done or waived." in body
    assert "0 high-impact in pilot with a minimum practice neither done nor waived" in body


def test_a_stage_before_pilot_shows_no_practices_or_gaps(office, portfolio):
    body = office.get(reverse("web:compliance"), {"stage": "proposed"}).content.decode()
    table = figures(office, stage="proposed")

    assert table[("high-impact by stage", "Benefits", "proposed")] == "1"
    assert not [key for key in table if key[0].startswith("minimum practices")]
    assert "Minimum practices of high-impact" not in body and 'id="gaps-h"' not in body
    assert "the minimum practices matter in pilot and production." in body


@pytest.mark.parametrize("query", [{"unit": "abc"}, {"unit": "99999999"}, {"unit": "1' OR 1=1"}, {"stage": "bogus"},
                                   {"stage": ["pilot", "production"]}, {"page": "zz"}, {"page": "-3"},
                                   {"page": "99999"}, {"unit": "", "stage": ""}])
def test_garbage_filters_show_everything_and_never_fail(office, portfolio, query):
    for name in ("web:compliance", "web:compliance_export"):
        assert office.get(reverse(name), query).status_code == 200
    body = office.get(reverse("web:compliance"), query).content.decode()
    assert "Eligibility screening" in body and "Claims scoring" in body


def test_a_garbage_stage_keeps_a_good_unit_and_says_why(office, portfolio):
    body = office.get(reverse("web:compliance"), {"unit": portfolio["claims"].pk, "stage": "bogus"}).content.decode()

    assert "Compliance: Claims" in body and "Eligibility screening" not in body
    assert "Stage: Select a valid choice." in body


@pytest.mark.parametrize("groups, status", [
    (["program_office"], 200), (["auditor"], 200), (["business_owner"], 403), (["chief_ai_officer"], 403),
    (["approver"], 403), ([], 403),
])
def test_the_program_office_and_auditors_see_it_and_no_one_else(client, portfolio, groups, status):
    client.force_login(UserFactory(username="someone", groups=groups))

    for name in ("web:compliance", "web:compliance_export"):
        assert client.get(reverse(name)).status_code == status, name
    home = client.get(reverse("web:home"), follow=True).content.decode()  # an auditor lands on the audit log
    assert (reverse("web:compliance") in home) is (status == 200)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for name in ("web:compliance", "web:compliance_export"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_dashboard_links_to_the_compliance_view_of_its_unit(office, portfolio):
    benefits = portfolio["benefits"]
    body = office.get(reverse("web:portfolio"), {"unit": benefits.pk}).content.decode()
    assert f'{reverse("web:compliance")}?unit={benefits.pk}' in body


def test_the_export_writes_names_a_spreadsheet_would_run_as_text(office, portfolio):
    benefits = portfolio["benefits"]
    benefits.name = '=HYPERLINK("http://evil.example","Open")'
    benefits.save()

    response = office.get(reverse("web:compliance_export"))

    assert response["Content-Disposition"].startswith('attachment; filename="compliance-')
    cells = [cell for row in csv.reader(io.StringIO(response.content.decode())) for cell in row]
    assert "'" + benefits.name in cells
    assert not [c for c in cells if c[:1] in FORMULA_STARTS]


def test_the_page_and_export_run_the_same_queries_at_any_size(office, portfolio, django_assert_num_queries):
    urls = [reverse("web:compliance"), reverse("web:compliance") + f"?unit={portfolio['benefits'].pk}&stage=production",
            reverse("web:compliance_export")]
    small = {}
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert office.get(url).status_code == 200
        small[url] = len(queries)

    # Thirty more high-impact production use cases with gaps, records and waivers: more than a page.
    for i in range(30):
        unit = portfolio["benefits"] if i % 2 else BusinessUnitFactory(name=f"Unit {i}")
        more = use_case(unit, Stage.PRODUCTION, title=f"Benefit check {i}", determination=HighImpact.HIGH_IMPACT)
        practice(more, Practice.TESTING_CONDUCTED, **DONE)
        waive(more, Practice.APPEAL_PROCESS, granted=-3, expires=10)
        classify(more, "transparency", "deployer")

    for url, queries in small.items():
        with django_assert_num_queries(queries):
            assert office.get(url).status_code == 200
    body = office.get(urls[0]).content.decode()
    assert "32 use cases in all." in body and "Page 1 of 2" in body


def test_a_waiver_until_today_closes_the_last_gap_and_a_waived_done_practice_counts_once(office, db):
    unit = BusinessUnitFactory(name="Benefits")
    covered = use_case(unit, Stage.PRODUCTION, title="Covered today", determination=HighImpact.HIGH_IMPACT)
    for name in Practice.values:
        if name != Practice.ONGOING_MONITORING:
            practice(covered, name, **DONE)
    waive(covered, Practice.ONGOING_MONITORING, granted=-10, expires=0)
    # Seven practices done, one of them also waived: the eighth is still open.
    counted_twice = use_case(unit, Stage.PRODUCTION, title="Waived and done", determination=HighImpact.HIGH_IMPACT)
    for name in Practice.values:
        if name != Practice.ONGOING_MONITORING:
            practice(counted_twice, name, **DONE)
    waive(counted_twice, Practice.TESTING_CONDUCTED, granted=-10, expires=10)

    body = office.get(reverse("web:compliance")).content.decode()
    table = figures(office)

    assert "Covered today" not in body
    assert "Waived and done" in body
    assert table[("minimum practices in production", "high-impact use cases", "with a gap")] == "1"
    assert practice_counts(table, "production", Practice.ONGOING_MONITORING) == dict(
        done=0, in_progress=0, missing=1, not_applicable=0, waived=1)
    assert practice_counts(table, "production", Practice.TESTING_CONDUCTED) == dict(
        done=1, in_progress=0, missing=0, not_applicable=0, waived=1)
